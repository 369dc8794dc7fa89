package web

import (
	"errors"
	"testing"
)

type fuzzInput struct {
	Email string   `json:"email"`
	Limit int      `json:"limit"`
	Desc  bool     `json:"desc"`
	IDs   []uint64 `json:"ids"`
	Name  *string  `json:"name"`
}

type fuzzApp struct{}

func (fuzzApp) Struct(in fuzzInput) (string, error) { return in.Email, nil }
func (fuzzApp) Scalars(id uint64, s string) error   { return nil }
func (fuzzApp) Nothing()                            {}
func (fuzzApp) Fails() error                        { return errors.New("x") }

// Arbitrary request bodies never panic the method dispatcher: they are
// either a clear argument error or a call.
func FuzzMethodCall(f *testing.F) {
	for _, seed := range []string{`[]`, `[{}]`, `[{"email":"a@b.c","limit":5,"ids":[1,2],"name":null}]`, `[1,"x"]`, `[{"limit":"x"}]`,
		`{`, `[[[[`, `[1e999,"x"]`, `[-1,""]`, "\x00", `[{"email":"\ud800"}]`, `null`} {
		f.Add([]byte(seed))
	}
	ms, err := methodsOf(fuzzApp{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range ms {
			_, _, argErr := m.call(fuzzApp{}, body)
			if argErr != nil && argErr.Error() == "" {
				t.Fatal("an argument error without a message")
			}
		}
	})
}
