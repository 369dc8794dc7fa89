package store

// Bucket names, declared in one place. The suffix is the layout version of
// that bucket: a change of layout gets a new name and a migration.
var (
	bucketMeta        = []byte("meta_v1")          // "schema" → uint64 schema version
	bucketUsers       = []byte("users_v1")         // user id → User JSON
	bucketUserEmail   = []byte("user_email_v1")    // lower(email) → user id
	bucketCredentials = []byte("credentials_v1")   // user id → Credentials JSON (kept apart from profile data)
	bucketTenants     = []byte("tenants_v1")       // tenant id → Tenant JSON
	bucketTenantName  = []byte("tenant_name_v1")   // lower(name) → tenant id
	bucketMembers     = []byte("members_v1")       // user id | tenant id → Membership JSON
	bucketTenantUsers = []byte("tenant_users_v1")  // tenant id | user id → Membership JSON (reverse of members_v1)
	bucketDirName     = []byte("dir_name_v1")      // tenant id | lower(name) 0 user id → directory row (non-shadow members only)
	bucketDirEmail    = []byte("dir_email_v1")     // tenant id | lower(email) 0 user id → directory row
	bucketSessions    = []byte("sessions_v1")      // sha256(token) → Session JSON
	bucketUserSess    = []byte("user_sessions_v1") // user id | sha256(token) → empty
	bucketSettings    = []byte("settings_v1")      // setting name → JSON
	bucketAuditV1     = []byte("audit_v1")         // (layout 1–3) unix nanos | sequence → Event JSON

	bucketInvites        = []byte("invitations_v1")    // invitation id → Invitation JSON
	bucketInviteToken    = []byte("invite_token_v1")   // sha256(token) → invitation id
	bucketInviteEmailV1  = []byte("invite_email_v1")   // (layout 2–4) lower(email) → id of its pending invitation
	bucketTenantInviteV1 = []byte("tenant_invites_v1") // (layout 2–4) tenant id | invitation id → empty
	bucketOutbox         = []byte("outbox_v1")         // message id → Message JSON
	bucketOutboxDue      = []byte("outbox_due_v1")     // message id → empty, while queued

	bucketThrottle = []byte("throttle_v1") // "acct:"+lower(email) or "ip:"+address → Throttle JSON

	// The audit log (layout 4). Keys of events are k = time(8) | sequence(8),
	// time never decreasing, so key order is append order is chain order.
	bucketAuditV2       = []byte("audit_v2")        // (layout 4–10) k → hash(32) | Event JSON
	bucketAuditSumV1    = []byte("audit_sum_v1")    // (layout 4–10) k → compact summary (tenant, actor, action, resource, IP)
	bucketAuditTenantV1 = []byte("audit_tenant_v1") // (layout 4–10) tenant | k → empty (tenant 0: every event)
	bucketAuditByV1     = []byte("audit_by_v1")     // (layout 4–10) tenant | field | len | value | k → empty
	bucketAuditValues   = []byte("audit_values_v1") // tenant | field | value → count (tenant 0: every event)
	bucketAuditHoursV1  = []byte("audit_hours_v1")  // (layout 4–9) tenant | hour → counters JSON
	bucketAuditLast     = []byte("audit_last_v1")   // tenant | actor → time of the actor's newest event
	bucketAuditActive   = []byte("audit_active_v1") // tenant | time | actor → empty (each actor once, at its newest event)

	// Invitations by tenant (layout 5): pending ones apart, so each tenant
	// has its own pending invitation per address and lists them first.
	bucketInvitePending = []byte("invite_pending_v1") // tenant | lower(email) → id of the tenant's newest pending invitation to it
	bucketTenantInvite  = []byte("tenant_invites_v2") // tenant | open (0 pending, 1 finished) | invitation id → empty

	// Password resets (layout 6).
	bucketResets     = []byte("password_resets_v1") // reset id → PasswordReset JSON
	bucketResetToken = []byte("reset_token_v1")     // sha256(token) → reset id
	bucketUserReset  = []byte("user_reset_v1")      // user id → id of the user's live reset

	// The users list's other orders and its counters (layout 7).
	bucketDirRole   = []byte("dir_role_v1")   // tenant id | 255-rank, lower(name) 0 user id → directory row
	bucketDirMFA    = []byte("dir_mfa_v1")    // tenant id | mfa 0/1, lower(name) 0 user id → directory row
	bucketDirStatus = []byte("dir_status_v1") // tenant id | inactive 0/1, lower(name) 0 user id → directory row
	bucketDirLogin  = []byte("dir_login_v1")  // tenant id | last login (unix s), lower(name) 0 user id → directory row
	bucketDirCount  = []byte("dir_count_v1")  // tenant id | active 0/1 | role → number of users

	// The free-text planner's trigram index over the dictionary of every
	// tenant (tenant 0) for the action, resource type and IP fields
	// (layouts 9–10). A gram is 3 bytes of the lower-cased value padded with
	// two zero bytes, so every byte of a value starts one.
	bucketAuditGramsV1 = []byte("audit_grams_v1")  // (layouts 9–10) field | gram | value → empty
	bucketAuditGramNV1 = []byte("audit_gram_n_v1") // (layouts 9–10) field | gram → how many values have it

	// Hourly counters, compact (layout 10): events, then each action and its count, as varints.
	bucketAuditHours = []byte("audit_hours_v2") // tenant | hour → counters

	// The audit log, compact (layout 11; see audit_codec.go and
	// audit_lists.go). Events hold string ids; each list is packed into
	// blocks of up to 64 keys, delta-encoded; an event is listed once per
	// value, its entry tagged with its tenant.
	bucketAudit          = []byte("audit_v3")            // k → hash(32) | encoded event
	bucketAuditStrings   = []byte("audit_strings_v1")    // string → id(8) | events using it(8)
	bucketAuditStringIDs = []byte("audit_string_ids_v1") // id(8) → string
	bucketAuditTenant    = []byte("audit_tenant_v2")     // tenant | first k of the block → later keys, delta-encoded (no list for tenant 0)
	bucketAuditBy        = []byte("audit_by_v2")         // field | len | value | first k | its tenant → later (k, tenant)s
	// The trigram index of layout 9, its values as ids of the string table
	// in packed lists: the value was in every key of its every gram.
	bucketAuditGrams = []byte("audit_grams_v2")  // field | gram | first id → later ids
	bucketAuditGramN = []byte("audit_gram_n_v2") // field | gram → how many values have it

	// The users list's search index (layout 12; see directory_search.go).
	bucketDirUser  = []byte("dir_user_v1")   // tenant id | user id → directory row
	bucketDirGrams = []byte("dir_grams_v1")  // tenant id | trigram | user id → empty
	bucketDirGramN = []byte("dir_gram_n_v1") // tenant id | trigram → how many users have it

	// Actors of the active index by hour (layout 13), for the 24-hour stats.
	bucketAuditActiveN = []byte("audit_active_n_v1") // tenant | hour (unix nanos) → actors whose newest event is in it
)

// The buckets each migration added.
var (
	layout1 = [][]byte{
		bucketMeta, bucketUsers, bucketUserEmail, bucketCredentials, bucketTenants,
		bucketTenantName, bucketMembers, bucketTenantUsers, bucketDirName, bucketDirEmail,
		bucketSessions, bucketUserSess, bucketSettings, bucketAuditV1,
	}
	layout2  = [][]byte{bucketInvites, bucketInviteToken, bucketInviteEmailV1, bucketTenantInviteV1, bucketOutbox, bucketOutboxDue}
	layout3  = [][]byte{bucketThrottle}
	layout4  = [][]byte{bucketAuditV2, bucketAuditSumV1, bucketAuditTenantV1, bucketAuditByV1, bucketAuditValues, bucketAuditHoursV1, bucketAuditLast, bucketAuditActive}
	layout5  = [][]byte{bucketInvitePending, bucketTenantInvite}
	layout6  = [][]byte{bucketResets, bucketResetToken, bucketUserReset}
	layout7  = [][]byte{bucketDirRole, bucketDirMFA, bucketDirStatus, bucketDirLogin, bucketDirCount}
	layout9  = [][]byte{bucketAuditGramsV1, bucketAuditGramNV1}
	layout10 = [][]byte{bucketAuditHours}
	layout11 = [][]byte{bucketAudit, bucketAuditStrings, bucketAuditStringIDs, bucketAuditTenant, bucketAuditBy, bucketAuditGrams, bucketAuditGramN}
	layout12 = [][]byte{bucketDirUser, bucketDirGrams, bucketDirGramN}
	layout13 = [][]byte{bucketAuditActiveN}
)

// allBuckets is every bucket of the current layout, for checks.
var allBuckets = without(concat(layout1, layout2, layout3, layout4, layout5, layout6, layout7, layout9, layout10, layout11, layout12, layout13),
	bucketAuditV1, bucketInviteEmailV1, bucketTenantInviteV1, bucketAuditHoursV1, bucketAuditV2, bucketAuditSumV1, bucketAuditTenantV1, bucketAuditByV1,
	bucketAuditGramsV1, bucketAuditGramNV1)

func concat(lists ...[][]byte) [][]byte {
	var out [][]byte
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func without(list [][]byte, drop ...[]byte) [][]byte {
	out := list[:0]
next:
	for _, b := range list {
		for _, d := range drop {
			if string(b) == string(d) {
				continue next
			}
		}
		out = append(out, b)
	}
	return out
}
