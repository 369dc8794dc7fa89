package cli

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	cases := []struct {
		args       []string
		positional []string
		data       string
		bad        bool
	}{
		{[]string{"a", "--data", "D", "b"}, []string{"a", "b"}, "D", false},
		{[]string{"--data", "D", "a", "b"}, []string{"a", "b"}, "D", false},
		{[]string{"a", "b", "--data=D"}, []string{"a", "b"}, "D", false},
		{[]string{"a", "--", "--data", "D"}, []string{"a", "--data", "D"}, "", false},
		{[]string{"--data", "D", "--", "-a"}, []string{"-a"}, "D", false},
		{[]string{"-", "--data", "D"}, []string{"-"}, "D", false},
		{nil, nil, "", false},
		{[]string{"a", "--bogus"}, nil, "", true},
		{[]string{"a", "--data"}, nil, "", true},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		data := fs.String("data", "", "")
		got, err := parseInterleaved(fs, c.args)
		if (err != nil) != c.bad || (!c.bad && (!slices.Equal(got, c.positional) || *data != c.data)) {
			t.Errorf("%q: positional %q, data %q, err %v; want %q, %q, error %v", c.args, got, *data, err, c.positional, c.data, c.bad)
		}
	}
}
