package analyze

import (
	"reflect"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// pointers reports whether a value of type t holds a pointer the garbage
// collector would follow, and names the first such field.
func pointers(t reflect.Type) (string, bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.Interface, reflect.Slice, reflect.String:
		return t.String(), true
	case reflect.Array:
		if t.Len() == 0 {
			return "", false
		}
		return pointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if name, ok := pointers(t.Field(i).Type); ok {
				return t.Name() + "." + t.Field(i).Name + " " + name, true
			}
		}
	}
	return "", false
}

// TestEntryNoPointers: a connection's table entry holds no pointer, so the
// table's slab of entries is memory the garbage collector never scans.
func TestEntryNoPointers(t *testing.T) {
	if name, ok := pointers(reflect.TypeFor[reassembly.Conn[conn]]()); ok {
		t.Errorf("the table entry holds a pointer: %s", name)
	}
}
