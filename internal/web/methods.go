package web

import (
	"encoding/json"
	"fmt"
	"reflect"
)

var errorType = reflect.TypeOf((*error)(nil)).Elem()

// method is one bound method, callable with a JSON argument list.
type method struct {
	name   string
	index  int
	params []reflect.Type
	result bool // returns a value besides the error
}

// methodsOf lists the exported methods of app's type the way Wails binds
// them: each returns (T, error), (error), (T) or nothing.
func methodsOf(app any) (map[string]method, error) {
	t := reflect.TypeOf(app)
	out := map[string]method{}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		mt := m.Type
		meth := method{name: m.Name, index: i}
		for p := 1; p < mt.NumIn(); p++ { // skip the receiver
			meth.params = append(meth.params, mt.In(p))
		}
		switch {
		case mt.NumOut() == 0:
		case mt.NumOut() == 1 && mt.Out(0) == errorType:
		case mt.NumOut() == 1:
			meth.result = true
		case mt.NumOut() == 2 && mt.Out(1) == errorType:
			meth.result = true
		default:
			return nil, fmt.Errorf("method %s: bound methods return (T, error), error, T or nothing", m.Name)
		}
		out[m.Name] = meth
	}
	return out, nil
}

// argsError is a malformed argument list: the caller's mistake.
type argsError struct{ msg string }

func (e *argsError) Error() string { return e.msg }

// call decodes raw (a JSON array) into the method's parameters and calls it
// on app. It returns the method's value and error.
func (m method) call(app any, raw []byte) (any, error, error) {
	var list []json.RawMessage
	if len(raw) == 0 {
		raw = []byte("[]")
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, nil, &argsError{"The request body must be a JSON array of arguments: " + jsonProblem(err)}
	}
	if len(list) != len(m.params) {
		return nil, nil, &argsError{fmt.Sprintf("%s takes %d argument(s), got %d.", m.name, len(m.params), len(list))}
	}
	args := make([]reflect.Value, 0, len(list)+1)
	args = append(args, reflect.ValueOf(app))
	for i, p := range m.params {
		v := reflect.New(p)
		if err := json.Unmarshal(list[i], v.Interface()); err != nil {
			return nil, nil, &argsError{fmt.Sprintf("Argument %d of %s is not right: %s", i+1, m.name, jsonProblem(err))}
		}
		args = append(args, v.Elem())
	}
	out := reflect.ValueOf(app).Type().Method(m.index).Func.Call(args)
	var val any
	var err error
	if len(out) > 0 && m.result {
		val = out[0].Interface()
	}
	if len(out) > 0 {
		if last := out[len(out)-1]; last.Type() == errorType && !last.IsNil() {
			err = last.Interface().(error)
		}
	}
	return val, err, nil
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at byte %d.", e.Offset)
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return fmt.Sprintf("the field %q must be a %s.", e.Field, friendlyKind(e.Type))
		}
		return fmt.Sprintf("expected a %s.", friendlyKind(e.Type))
	}
	return "invalid JSON."
}

func friendlyKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list"
	}
	return "JSON object"
}
