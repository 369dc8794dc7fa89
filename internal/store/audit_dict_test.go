package store

import (
	"fmt"
	"testing"
)

func suggestKeys(s []ActorSuggestion) string {
	out := ""
	for _, a := range s {
		out += a.Key + "=" + a.Name + " "
	}
	return out
}

func TestSuggestActorsByEmailOrName(t *testing.T) {
	db := openAudit(t)
	err := db.Update(func(tx *Tx) error {
		for i, who := range [][2]string{{"Ada Lovelace", "ada@kw.uk"}, {"Adam Smith", "smith@kw.uk"}, {"Bob Adams", "bob@kw.uk"}, {"Ada Lovelace", "ada@kw.uk"}} {
			if err := tx.AppendEvent(&Event{Time: t0, ActorName: who[0], ActorEmail: who[1], Action: "update", TenantID: uint64(1 + i%2)}); err != nil {
				return err
			}
		}
		for i := 0; i < 30; i++ { // more than a page of suggestions
			if err := tx.AppendEvent(&Event{Time: t0, ActorName: fmt.Sprintf("Zed %02d", i), ActorEmail: fmt.Sprintf("zed%02d@kw.uk", i), Action: "update", TenantID: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tenant uint64
		prefix string
		want   string
	}{
		{0, "ada", "ada@kw.uk=Ada Lovelace smith@kw.uk=Adam Smith "},
		{1, "ada", "ada@kw.uk=Ada Lovelace "}, // Adam Smith acted in tenant 2 only
		{0, "bob", "bob@kw.uk=Bob Adams "},
		{0, "smi", "smith@kw.uk=Adam Smith "},
		{0, "nobody", ""},
	}
	for _, c := range cases {
		var got []ActorSuggestion
		db.View(func(tx *Tx) error { got = tx.SuggestActors(c.tenant, c.prefix, 20); return nil })
		if s := suggestKeys(got); s != c.want {
			t.Errorf("tenant %d %q: %q, want %q", c.tenant, c.prefix, s, c.want)
		}
	}
	var got []ActorSuggestion
	db.View(func(tx *Tx) error { got = tx.SuggestActors(1, "zed", 20); return nil })
	if len(got) != 20 || got[0].Key != "zed00@kw.uk" {
		t.Errorf("a long list: %d suggestions, first %+v", len(got), got[0])
	}
}

// A log written before actors were indexed by name gets its names from the
// migration.
func TestMigrationIndexesActorNames(t *testing.T) {
	db := migratedFrom(t, 7, func(db *DB) {
		err := db.Update(func(tx *Tx) error {
			return tx.AppendEvent(&Event{Time: t0, ActorName: "Grace Hopper", ActorEmail: "grace@kw.uk", Action: "update", TenantID: 3})
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	for _, tenant := range []uint64{0, 3} {
		var got []ActorSuggestion
		db.View(func(tx *Tx) error { got = tx.SuggestActors(tenant, "grace h", 20); return nil })
		if s := suggestKeys(got); s != "grace@kw.uk=Grace Hopper " {
			t.Errorf("tenant %d: %q", tenant, s)
		}
	}
}
