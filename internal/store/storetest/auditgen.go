package storetest

import (
	"fmt"
	"math/rand"
	"time"

	"gatehouse/internal/store"
)

// GenerateAuditLog appends n realistic events spread over span up to now,
// in batches, with every index (the generator behind the benchmarks).
func GenerateAuditLog(db *store.DB, n int, now time.Time, span time.Duration) error {
	rng := rand.New(rand.NewSource(1))
	actions := []string{"update", "update", "update", "create", "sign_in", "sign_in", "sign_out", "invite", "deactivate", "reactivate", "resend", "revoke", "accept", "switch", "email_sent"}
	resources := []string{"user", "user", "session", "invitation", "tenant", "settings", "email"}
	start := now.Add(-span)
	step := span / time.Duration(n)
	const batch = 20000
	for i := 0; i < n; i += batch {
		err := db.Update(func(tx *store.Tx) error {
			for j := i; j < i+batch && j < n; j++ {
				actor := rng.Intn(200)
				e := &store.Event{
					Time:    start.Add(time.Duration(j) * step),
					ActorID: uint64(actor + 1), ActorName: fmt.Sprintf("Person %d", actor), ActorEmail: fmt.Sprintf("person%d@client%d.example", actor, actor%5),
					Action: actions[rng.Intn(len(actions))], ResourceType: resources[rng.Intn(len(resources))], ResourceID: fmt.Sprint(rng.Intn(5000)),
					IP: fmt.Sprintf("10.%d.%d.%d", rng.Intn(3), rng.Intn(10), rng.Intn(10)), TenantID: uint64(1 + actor%5),
					Meta: []byte(`{"before":{"name":"Old name","role":"AGENT"},"after":{"name":"New name","role":"MANAGER"}}`),
				}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
