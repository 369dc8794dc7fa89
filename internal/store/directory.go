package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
)

// The directory is the users list of each tenant, kept as two indexes (by
// name and by e-mail) whose values already hold everything a list row shows
// and a folded search text. Searching, filtering, sorting and keyset paging
// read only these compact values: no user record is decoded per search.
// Shadow members are not in their tenant's directory.

// DirectoryRow is one line of a tenant's users list.
type DirectoryRow struct {
	UserID      uint64
	Name        string
	Email       string
	Role        auth.Role
	Active      bool
	MFAEnabled  bool
	LastLoginAt time.Time
	// MustChangePassword: they hold a temporary password.
	MustChangePassword bool
	// Home: the list's tenant is the user's own organisation (else they
	// are a listed member whose home is elsewhere).
	Home bool
}

// DirectorySort names the order of a directory query.
type DirectorySort string

// The orders the directory keeps indexes for: every column of the list.
// Within a role, an MFA state or a status, users are in name order.
const (
	SortByName      DirectorySort = "name"
	SortByEmail     DirectorySort = "email"
	SortByRole      DirectorySort = "role"      // most powerful first
	SortByMFA       DirectorySort = "mfa"       // off, then on
	SortByStatus    DirectorySort = "status"    // active, then inactive
	SortByLastLogin DirectorySort = "lastLogin" // never, then oldest first
)

// dirIndex is one order of the directory: its bucket and each user's
// sort text in it.
type dirIndex struct {
	sort   DirectorySort
	bucket []byte
	text   func(u *User) string
}

var dirIndexes = []dirIndex{
	{SortByName, bucketDirName, func(u *User) string { return Fold(u.Name) }},
	{SortByEmail, bucketDirEmail, func(u *User) string { return Fold(u.Email) }},
	{SortByRole, bucketDirRole, func(u *User) string { return string([]byte{byte(255 - u.Role.Rank())}) + Fold(u.Name) }},
	{SortByMFA, bucketDirMFA, func(u *User) string { return flagText(u.MFAEnabled) + Fold(u.Name) }},
	{SortByStatus, bucketDirStatus, func(u *User) string { return flagText(!u.Active) + Fold(u.Name) }},
	{SortByLastLogin, bucketDirLogin, func(u *User) string {
		var last int64
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.Unix()
		}
		return string(binary.BigEndian.AppendUint64(nil, uint64(last))) + Fold(u.Name)
	}},
}

func flagText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ValidSort reports whether s is an order the directory keeps.
func ValidSort(s DirectorySort) bool {
	for _, d := range dirIndexes {
		if d.sort == s {
			return true
		}
	}
	return false
}

// DirectoryQuery selects a page of a tenant's directory.
type DirectoryQuery struct {
	TenantID uint64
	Search   string    // matched as a substring of the folded name or e-mail
	Role     auth.Role // empty: any role
	Active   *bool     // nil: any status
	Sort     DirectorySort
	Desc     bool
	After    []byte // a Next cursor: the page after this key
	Before   []byte // a Prev cursor: the page before this key
	Limit    int
	// NoTotal skips counting the matches (an export reads every page and
	// needs no total; a searched count walks the whole range each page).
	NoTotal bool
}

// DirectoryPage is one page; Next and Prev are nil at the ends. Total is
// how many users match the query; TotalAtLeast says it is a lower bound
// (a search matched more than maxCounted).
type DirectoryPage struct {
	Rows         []DirectoryRow
	Next, Prev   []byte
	Total        int
	TotalAtLeast bool
}

// ErrBadCursor is returned for a cursor that does not belong to the query.
var ErrBadCursor = errors.New("bad cursor")

// seekExclusive positions c on the first key of tenant's range after start
// (exclusive) in the walking direction; with no start, at the range's end
// the walk begins from.
func seekExclusive(c kvCursor, tenant uint64, start []byte, descending bool) ([]byte, []byte) {
	if start == nil {
		start = u64(tenant + 1) // just past the tenant's range
		if !descending {
			return c.Seek(u64(tenant))
		}
	}
	k, v := c.Seek(start) // first key >= start
	if descending {
		if k == nil {
			return c.Last()
		}
		return c.Prev()
	}
	if k != nil && bytes.Equal(k, start) {
		return c.Next()
	}
	return k, v
}

func dirKey(tenant uint64, sortText string, user uint64) []byte {
	return join(u64(tenant), []byte(sortText), []byte{0}, u64(user))
}

// Row flags.
const (
	rowActive     = 1 << iota
	rowMFA        // 2FA on
	rowMustChange // holds a temporary password
	rowHome       // the row's tenant is the user's home
)

// encodeRow is u's row in tenant's directory.
func encodeRow(u *User, tenant uint64) []byte {
	var flags byte
	set := func(bit byte, on bool) {
		if on {
			flags |= bit
		}
	}
	set(rowActive, u.Active)
	set(rowMFA, u.MFAEnabled)
	set(rowMustChange, u.MustChangePassword)
	set(rowHome, u.TenantID == tenant)
	var last int64
	if !u.LastLoginAt.IsZero() {
		last = u.LastLoginAt.Unix()
	}
	search := SearchFold(u.Name) + "\x00" + SearchFold(u.Email)
	buf := make([]byte, 0, 16+len(u.Name)+len(u.Email)+len(search)+len(u.Role))
	buf = append(buf, flags, byte(len(u.Role)))
	buf = append(buf, u.Role...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(last))
	for _, s := range []string{search, u.Name, u.Email} {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	return buf
}

// rowView reads an encoded row without copying; fields are parsed lazily.
type rowView []byte

func (r rowView) flags() byte  { return r[0] }
func (r rowView) role() []byte { return r[2 : 2+int(r[1])] }
func (r rowView) strings() (search, name, email []byte, ok bool) {
	p := 2 + int(r[1]) + 8
	out := [3][]byte{}
	for i := range out {
		if len(r) < p+4 {
			return nil, nil, nil, false
		}
		n := int(binary.BigEndian.Uint32(r[p:]))
		p += 4
		if len(r) < p+n {
			return nil, nil, nil, false
		}
		out[i] = r[p : p+n]
		p += n
	}
	return out[0], out[1], out[2], true
}

func (r rowView) valid() bool {
	if len(r) < 2 || len(r) < 2+int(r[1])+8 {
		return false
	}
	_, _, _, ok := r.strings()
	return ok
}

func decodeRow(key []byte, r rowView) DirectoryRow {
	_, name, email, _ := r.strings()
	p := 2 + int(r[1])
	row := DirectoryRow{
		UserID:     readU64(key[len(key)-8:]),
		Name:       string(name),
		Email:      string(email),
		Role:       auth.Role(r.role()),
		Active:     r.flags()&rowActive != 0,
		MFAEnabled: r.flags()&rowMFA != 0,

		MustChangePassword: r.flags()&rowMustChange != 0,
		Home:               r.flags()&rowHome != 0,
	}
	if last := int64(binary.BigEndian.Uint64(r[p:])); last != 0 {
		row.LastLoginAt = time.Unix(last, 0).UTC()
	}
	return row
}

// directoryTenants are the tenants whose list shows u: its non-shadow memberships.
func (t *Tx) directoryTenants(userID uint64) ([]uint64, error) {
	ms, err := t.Memberships(userID)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, m := range ms {
		if !m.Shadow {
			out = append(out, m.TenantID)
		}
	}
	return out, nil
}

// addDirectory lists u in the lists of its tenants; prev is how u was
// listed before this change (removeDirectory's answer; zero for a new
// user), so that the search index changes only where it must.
func (t *Tx) addDirectory(u *User, prev listedAs) error {
	tenants, err := t.directoryTenants(u.ID)
	if err != nil {
		return err
	}
	for _, tid := range tenants {
		row := encodeRow(u, tid)
		for _, d := range dirIndexes {
			if err := t.b(d.bucket).Put(dirKey(tid, d.text(u), u.ID), row); err != nil {
				return err
			}
		}
		before := prev.user
		if !prev.in(tid) {
			before = nil
		}
		if err := t.indexRowSearch(before, u, tid, row); err != nil {
			return err
		}
		if err := t.countDirectory(tid, u, 1); err != nil {
			return err
		}
	}
	for _, tid := range prev.tenants {
		if !slices.Contains(tenants, tid) {
			if err := t.unindexRowSearch(prev.user, tid); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeDirectory takes u out of the lists of its tenants, but for the
// search index, which addDirectory brings up to date from its answer.
// Every caller lists the user again in the same transaction.
func (t *Tx) removeDirectory(u *User) (listedAs, error) {
	tenants, err := t.directoryTenants(u.ID)
	if err != nil {
		return listedAs{}, err
	}
	for _, tid := range tenants {
		for _, d := range dirIndexes {
			if err := t.b(d.bucket).Delete(dirKey(tid, d.text(u), u.ID)); err != nil {
				return listedAs{}, err
			}
		}
		if err := t.countDirectory(tid, u, -1); err != nil {
			return listedAs{}, err
		}
	}
	return listedAs{user: u, tenants: tenants}, nil
}

// countKey is tenant | active (0/1) | role: the directory's counters.
func countKey(tenant uint64, active bool, role auth.Role) []byte {
	return join(u64(tenant), []byte(flagText(active)), []byte(role))
}

func (t *Tx) countDirectory(tenant uint64, u *User, delta int64) error {
	b := t.b(bucketDirCount)
	k := countKey(tenant, u.Active, u.Role)
	n := int64(0)
	if v := b.Get(k); v != nil {
		n = int64(readU64(v))
	}
	if n += delta; n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, u64(uint64(n)))
}

// DirectoryCount is how many users of tenant's list have the role and
// status (empty role, nil active: any), from the counters.
func (t *Tx) DirectoryCount(tenant uint64, role auth.Role, active *bool) int {
	total := 0
	c := t.b(bucketDirCount).Cursor()
	prefix := u64(tenant)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		a, r := k[8] == '1', auth.Role(k[9:])
		if (role == "" || r == role) && (active == nil || *active == a) {
			total += int(readU64(v))
		}
	}
	return total
}

// CountWithoutMFA is how many active users whose own organisation is
// tenant hold role and have not set up 2FA. It reads only that role's rows
// of the tenant's role order (a role's rows sit together there), so it costs
// as many rows as the tenant has holders of the role.
func (t *Tx) CountWithoutMFA(tenant uint64, role auth.Role) (int, error) {
	if !role.Valid() {
		return 0, fmt.Errorf("count without 2FA: unknown role %q", role)
	}
	prefix := join(u64(tenant), []byte{byte(255 - role.Rank())})
	n := 0
	c := t.b(bucketDirRole).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r := rowView(v)
		if !r.valid() {
			return 0, fmt.Errorf("users list row %x is damaged", k)
		}
		// VENDOR and CUSTOMER share a rank, so the row's own role decides.
		f := r.flags()
		if auth.Role(r.role()) == role && f&rowHome != 0 && f&rowActive != 0 && f&rowMFA == 0 {
			n++
		}
	}
	return n, nil
}

// maxCounted bounds how many rows a searched total counts; past it the
// list says "10,000+".
const maxCounted = 10000

// Directory returns one page of a tenant's users list.
func (t *Tx) Directory(q DirectoryQuery) (DirectoryPage, error) {
	bucket := bucketDirName
	for _, d := range dirIndexes {
		if d.sort == q.Sort {
			bucket = d.bucket
		}
	}
	prefix := u64(q.TenantID)
	for _, cur := range [][]byte{q.After, q.Before} {
		if cur != nil && (len(cur) < 17 || !bytes.HasPrefix(cur, prefix)) {
			return DirectoryPage{}, ErrBadCursor
		}
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	search := []byte(SearchFold(q.Search))
	role := []byte(q.Role)
	match := func(v rowView) (bool, error) {
		if !v.valid() {
			return false, fmt.Errorf("corrupt directory row")
		}
		if q.Active != nil && (v.flags()&rowActive != 0) != *q.Active {
			return false, nil
		}
		if len(role) > 0 && !bytes.Equal(v.role(), role) {
			return false, nil
		}
		if len(search) > 0 {
			s, _, _, _ := v.strings()
			return bytes.Contains(s, search), nil
		}
		return true, nil
	}

	// Walk forward in the display order, or backward for a Prev page.
	backward := q.Before != nil
	descending := q.Desc != backward
	c := t.b(bucket).Cursor()
	start := q.After
	if backward {
		start = q.Before
	}
	if keys, rows, more, total, planned, err := t.searchPlan(q, bucket, search, match, start, descending); err != nil {
		return DirectoryPage{}, err
	} else if planned {
		page := assemblePage(q, keys, rows, more)
		if !q.NoTotal {
			page.Total = total
		}
		return page, nil
	}
	k, v := seekExclusive(c, q.TenantID, start, descending)
	step := c.Next
	if descending {
		step = c.Prev
	}
	// A searched total is counted in the same walk: past the page to the
	// end, then from the cursor back to the start (one pass over the range
	// in all). Without a search, the counters answer at once.
	counting := len(search) > 0 && !q.NoTotal
	counted := 0
	var keys [][]byte
	var rows []DirectoryRow
	more := false
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step() {
		ok, err := match(rowView(v))
		if err != nil {
			return DirectoryPage{}, err
		}
		if !ok {
			continue
		}
		if len(rows) == q.Limit {
			more = true
			if !counting || counted > maxCounted {
				break
			}
			counted++
			continue
		}
		counted++
		keys = append(keys, bytes.Clone(k))
		rows = append(rows, decodeRow(k, rowView(v)))
	}
	if counting && start != nil && counted <= maxCounted {
		b := t.b(bucket)
		if v := b.Get(start); v != nil {
			ok, err := match(rowView(v))
			if err != nil {
				return DirectoryPage{}, err
			}
			if ok {
				counted++
			}
		}
		back := b.Cursor()
		stepBack := back.Prev
		if descending {
			stepBack = back.Next
		}
		for k, v := seekExclusive(back, q.TenantID, start, !descending); k != nil && bytes.HasPrefix(k, prefix) && counted <= maxCounted; k, v = stepBack() {
			ok, err := match(rowView(v))
			if err != nil {
				return DirectoryPage{}, err
			}
			if ok {
				counted++
			}
		}
	}
	page := assemblePage(q, keys, rows, more)
	switch {
	case q.NoTotal: // Total stays 0
	case !counting:
		page.Total = t.DirectoryCount(q.TenantID, q.Role, q.Active)
	default:
		page.Total, page.TotalAtLeast = min(counted, maxCounted), counted > maxCounted
	}
	return page, nil
}

// assemblePage turns the rows found in walking order into the page in
// display order, with its cursors.
func assemblePage(q DirectoryQuery, keys [][]byte, rows []DirectoryRow, more bool) DirectoryPage {
	var page DirectoryPage
	if q.Before != nil {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
			keys[i], keys[j] = keys[j], keys[i]
		}
		if len(rows) > 0 {
			page.Next = keys[len(keys)-1]
			if more {
				page.Prev = keys[0]
			}
		}
	} else if len(rows) > 0 {
		if more {
			page.Next = keys[len(keys)-1]
		}
		if q.After != nil {
			page.Prev = keys[0]
		}
	}
	page.Rows = rows
	return page
}

// accents takes the marks off letters: "Zoë" and "Zoe" search alike.
var accents = runes.Remove(runes.In(unicode.Mn))

// SearchFold is how names and e-mails are compared when searching: case
// folded, accents removed (é → e, ø stays ø: it is a letter of its own),
// so "zoe" finds "Zoë" and "ZOË" finds "Zoe".
func SearchFold(s string) string {
	if foldsAsLowerCase(s) { // 30 times faster: most names, e-mails and changes
		return strings.ToLower(strings.TrimSpace(s))
	}
	return searchFoldUnicode(s)
}

func searchFoldUnicode(s string) string {
	out, _, err := transform.String(transform.Chain(norm.NFD, accents, norm.NFC), strings.TrimSpace(s))
	if err != nil {
		out = strings.TrimSpace(s)
	}
	return cases.Fold().String(out)
}

// foldsAsLowerCase reports whether SearchFold(s) is s trimmed and lower-
// cased: each rune is ASCII, or a symbol that neither decomposes nor has
// another case (the "→" of change summaries).
func foldsAsLowerCase(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 {
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.SimpleFold(r) != r ||
			norm.NFD.PropertiesString(s[i:i+n]).Decomposition() != nil {
			return false
		}
		i += n - 1
	}
	return true
}

// migrateDirectoryV2 rewrites every users-list row with the accent-folded
// search text and fills the new orders and counters (layout 7).
func migrateDirectoryV2(tx *Tx) error {
	for _, b := range layout7 {
		if _, err := tx.tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	var users []User
	err := tx.b(bucketUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := unmarshal(k, v, &u); err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range users {
		if err := tx.addDirectory(&users[i], listedAs{}); err != nil {
			return err
		}
	}
	return nil
}
