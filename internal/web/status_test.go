package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gatehouse/internal/core"
)

// coreCodes lists every constant of type core.Code declared in core's
// source, so a code added there without a row below fails the test.
func coreCodes(t *testing.T) map[core.Code]string {
	t.Helper()
	files, err := filepath.Glob("../core/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("cannot list core's files: %v", err)
	}
	codes := map[core.Code]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for i, n := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: the code %s is not a string literal", name, n.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					codes[core.Code(v)] = n.Name
				}
			}
		}
	}
	if len(codes) < 5 {
		t.Fatalf("found only %d codes in core: %v", len(codes), codes)
	}
	return codes
}

// Every core error code has its HTTP status; a refusal is never a 500.
func TestEveryErrorCodeHasItsStatus(t *testing.T) {
	want := map[core.Code]int{
		core.Invalid:                http.StatusBadRequest,
		core.Unauthenticated:        http.StatusUnauthorized,
		core.Forbidden:              http.StatusForbidden,
		core.NotFound:               http.StatusNotFound,
		core.Conflict:               http.StatusConflict,
		core.MFARequired:            http.StatusForbidden,
		core.PasswordChangeRequired: http.StatusForbidden,
		core.Unavailable:            http.StatusServiceUnavailable,
		core.Damaged:                http.StatusServiceUnavailable,
		core.Internal:               http.StatusInternalServerError,
	}
	declared := coreCodes(t)
	for code, name := range declared {
		status, ok := want[code]
		if !ok {
			t.Errorf("core.%s (%q) has no row here: add its HTTP status to statusOf and to this table", name, code)
			continue
		}
		if got := statusOf(code); got != status {
			t.Errorf("statusOf(%s) = %d, want %d", name, got, status)
		}
		if code != core.Internal && code != core.Unavailable && code != core.Damaged && statusOf(code) >= 500 {
			t.Errorf("statusOf(%s) = %d: a refusal must not look like a fault", name, statusOf(code))
		}
	}
	for code := range want {
		if _, ok := declared[code]; !ok {
			t.Errorf("the table has a row for %q, which core no longer declares", code)
		}
	}
}
