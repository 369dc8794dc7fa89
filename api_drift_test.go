package main

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// notCalledByFrontend lists the App methods the frontend's API module does
// not call, with the reason; every other method must be called there.
var notCalledByFrontend = map[string]string{}

var callSite = regexp.MustCompile(`\bcall\s*[<(]`)

// frontendCalls reads every call('Method', args…) in api.ts and returns
// each method's argument count. A call site it cannot read fails the test.
func frontendCalls(t *testing.T, src string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, loc := range callSite.FindAllStringIndex(src, -1) {
		if strings.HasSuffix(strings.TrimSpace(src[:loc[0]]), "function") {
			continue // the helper's own definition
		}
		name, argc, err := readCall(src[loc[1]-1:])
		if err != "" {
			line := strings.Count(src[:loc[0]], "\n") + 1
			t.Fatalf("api.ts line %d: %s", line, err)
		}
		if prev, ok := out[name]; ok && prev != argc {
			t.Fatalf("api.ts calls %s with %d and with %d arguments", name, prev, argc)
		}
		out[name] = argc
	}
	return out
}

// readCall reads `<T>('Name', a, b)` from the start of s: the method name
// and the number of arguments after it.
func readCall(s string) (name string, argc int, problem string) {
	i := 0
	if s[0] == '<' { // the result type; "=>" inside it is not a closing bracket
		depth := 0
		for ; i < len(s); i++ {
			if s[i] == '<' {
				depth++
			} else if s[i] == '>' && s[i-1] != '=' {
				depth--
				if depth == 0 {
					i++
					break
				}
			}
		}
	}
	m := regexp.MustCompile(`^\(\s*'(\w+)'\s*`).FindStringSubmatch(s[i:])
	if m == nil {
		return "", 0, "a call whose method name is not a string literal"
	}
	i += len(m[0])
	depth, quote := 0, byte(0)
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ')' && depth == 0:
			return m[1], argc, ""
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			argc++
		}
	}
	return "", 0, "a call that never closes"
}

// Every method api.ts calls exists on App with the same number of
// arguments, and every App method is called there or listed above: the
// reflection-made routes cannot drift from App, and this keeps the
// hand-written frontend from drifting from either.
func TestFrontendAPIMatchesApp(t *testing.T) {
	src, err := os.ReadFile("frontend/src/lib/api.ts")
	if err != nil {
		t.Fatal(err)
	}
	calls := frontendCalls(t, string(src))
	if len(calls) < 10 {
		t.Fatalf("read only %d calls from api.ts: %v", len(calls), calls)
	}
	app := reflect.TypeOf(&App{})
	for name, argc := range calls {
		m, ok := app.MethodByName(name)
		if !ok {
			t.Errorf("api.ts calls %s, which App does not have", name)
			continue
		}
		if want := m.Type.NumIn() - 1; argc != want {
			t.Errorf("api.ts calls %s with %d argument(s); App.%s takes %d", name, argc, name, want)
		}
	}
	for i := 0; i < app.NumMethod(); i++ {
		name := app.Method(i).Name
		_, called := calls[name]
		reason, listed := notCalledByFrontend[name]
		switch {
		case !called && !listed:
			t.Errorf("App.%s is not called by api.ts: call it there, or list it in notCalledByFrontend with the reason", name)
		case called && listed:
			t.Errorf("App.%s is called by api.ts but listed as not called (%s)", name, reason)
		}
	}
	for name := range notCalledByFrontend {
		if _, ok := app.MethodByName(name); !ok {
			t.Errorf("notCalledByFrontend lists %s, which App does not have", name)
		}
	}
}

// The reader of api.ts sees through result types, nested literals and
// strings, and refuses a call it cannot name.
func TestFrontendCallReader(t *testing.T) {
	for _, c := range []struct {
		src, name string
		argc      int
	}{
		{`call<null>('SignOut')`, "SignOut", 0},
		{`call<{ a: () => void; b: string[] }>('X', { a, b: [1, 2] }, 'x,y', f(1, 2))`, "X", 3},
		{"call<T>('X', `a,${b}`)", "X", 1},
		{`call('X', id)`, "X", 1},
	} {
		if got := frontendCalls(t, c.src); len(got) != 1 || got[c.name] != c.argc {
			t.Errorf("%s: %v, want %s with %d arguments", c.src, got, c.name, c.argc)
		}
	}
	if _, _, problem := readCall(`(method, x)`); problem == "" {
		t.Error("a call with a variable method name was read")
	}
}
