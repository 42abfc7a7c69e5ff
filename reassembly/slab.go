package reassembly

import (
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/internal/anonmem"
)

// The table's entries live in chunks. When an entry holds no pointer (Data
// holds none), its chunks of at least minMapped bytes are anonymous memory
// mapped outside the Go heap (where the platform allows it, see anonmem.Map):
// the garbage collector neither scans them nor counts them in its heap
// goal, so a table of a million connections costs its entries once, not
// twice as a GOGC=100 heap would. A chunk that empties is handed back to
// the kernel (its pages read as zeros when used again); a table that is
// dropped unmaps its chunks when the garbage collector finds it
// unreachable. Other entries, and small chunks, are ordinary Go slices.
//
// Since the mapped memory is not the Go heap, a *Conn in it does not keep
// its table alive: a Conn is only valid while its table is.

// minMapped is the smallest chunk worth a mapping of its own: below it a
// small table stays on the Go heap, where it costs no system call.
const minMapped = 64 << 10

// mapped maps the tables' chunks, index, cells and links outside the Go
// heap and counts them, for every table (see MappedBytes).
var mapped anonmem.Counter

// MappedBytes is how much memory the tables hold outside the Go
// heap (which runtime.MemStats does not count), in bytes.
func MappedBytes() int64 { return mapped.Bytes() }

// regions are the memory a table mapped outside the Go heap: its chunks,
// indexed by chunk (nil for a chunk on the Go heap), its index's slots
// (nil when on the Go heap), its cold store's mapped chunks, and its
// links (nil when on the Go heap).
type regions struct {
	chunk    [][]byte
	index    []byte
	cells    [][]byte    // the cold store's chunks (cold.go)
	links    []byte      // Table.links (growLinks)
	released atomic.Bool // release ran
}

// release unmaps every region; it runs when the table is unreachable.
func (r *regions) release() {
	for _, b := range append(append(r.chunk, r.index, r.links), r.cells...) {
		mapped.Unmap(b)
	}
	r.chunk, r.index, r.cells, r.links = nil, nil, nil, nil
	r.released.Store(true)
}

// initSlab sets t up to map its index, and its chunks when its entries
// hold no pointer, outside the Go heap, where the platform can.
func (t *Table[T]) initSlab() {
	if anonmem.CanMap {
		t.mem = &regions{}
		t.mapEntries = !hasPointers(reflect.TypeFor[Conn[T]]())
		runtime.AddCleanup(t, (*regions).release, t.mem)
	}
	t.ix.init(t.mem)
}

// newChunk returns an empty chunk with room for n entries.
func (t *Table[T]) newChunk(n int) []Conn[T] {
	size := uintptr(n) * unsafe.Sizeof(Conn[T]{})
	if t.mapEntries && size >= minMapped {
		if b := mapped.Map(int(size)); b != nil {
			t.mem.chunk = append(t.mem.chunk, b)
			return unsafe.Slice((*Conn[T])(unsafe.Pointer(unsafe.SliceData(b))), n)[:0]
		}
	}
	if t.mem != nil {
		t.mem.chunk = append(t.mem.chunk, nil)
	}
	return make([]Conn[T], 0, n)
}

// discardEmpty hands back to the kernel the pages of the mapped chunks
// that emptied since the last call and are still empty. It runs at the
// next Insert or Remove after a chunk emptied, not at the Remove that
// emptied it, so that a removed entry stays readable until then.
func (t *Table[T]) discardEmpty() {
	for _, k := range t.emptied {
		if t.live[k] == 0 {
			anonmem.Discard(t.mem.chunk[k])
		}
	}
	t.emptied = t.emptied[:0]
}

// hasPointers reports whether a value of type ty holds a pointer the
// garbage collector would follow.
func hasPointers(ty reflect.Type) bool {
	switch ty.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.Interface, reflect.Slice, reflect.String:
		return true
	case reflect.Array:
		return ty.Len() > 0 && hasPointers(ty.Elem())
	case reflect.Struct:
		for i := range ty.NumField() {
			if hasPointers(ty.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
