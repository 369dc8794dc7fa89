package jsonw

import (
	"encoding/json"
	"testing"
)

func FuzzAppendStringIsEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "<a>&", "\x00\x1f\t\n\r\b\f", "Zoë 漢字 🙂 →", "a\u2028b\u2029", "\xff\xfe\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
