package analyze

import (
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// ConnCost is what one tracked connection holds, in bytes: its entry in
// the table's slab (no allocation of its own, so no malloc header and no
// size-class rounding) and its share of the table's index of keys
// (reassembly.IndexCost, at most). BenchmarkConnCost measures the real
// figure: 1,539 B per connection with 100,000 open, 1,504 B with
// 1,000,000 (Go 1.26, amd64), against 1,478 here. What few connections
// need (findings, the timeline, the SYNs after the first) is out of line
// (connMore) and not counted here. The entry holds no pointer, so on Linux
// the slab and the index are mapped outside the Go heap
// (reassembly.MappedBytes): the garbage collector neither scans them nor
// counts them in its heap goal, so GOGC=100 does not double them. The rest
// of the heap would grow to twice its live size between collections, which
// the commands bound by telling the runtime the memory budget
// (debug.SetMemoryLimit).
var ConnCost = int64(unsafe.Sizeof(reassembly.Conn[conn]{})) + reassembly.IndexCost + reassembly.LinkCost

// stepCost is one timeline step; heldCost one record waiting for TIME_WAIT
// to end (held.go): its heldRec, its share of the index and its entry in
// the timer heap (with the heap's slot of its id), the strings it names
// counted apart; heldFullCost what a record kept whole adds (its Conn and
// its slot in heldStore.full).
var (
	stepCost     = int64(unsafe.Sizeof(Step{}))
	heldCost     = int64(unsafe.Sizeof(heldRec{}) + heldIndexCost + unsafe.Sizeof(timerEntry[uint32]{}) + unsafe.Sizeof(int32(0)))
	heldFullCost = int64(allocClass(unsafe.Sizeof(Conn{})) + 2*(unsafe.Sizeof(uint32(0))+unsafe.Sizeof(uintptr(0))))
)

// sizeClasses are the Go allocator's size classes from 1 KiB to 32 KiB
// (runtime/sizeclasses.go); larger objects take whole 8 KiB pages.
var sizeClasses = [...]uintptr{1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456,
	4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336,
	16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// mallocHeader is what the allocator adds before an object of more than
// 512 bytes that holds pointers (as a connection and a record do): the
// address of its type, for the garbage collector.
const mallocHeader = 8

// allocClass is the bytes the allocator hands out for an object of n bytes
// that holds pointers.
func allocClass(n uintptr) uintptr {
	if n > 512 {
		n += mallocHeader
	}
	if n < 1024 {
		return (n + 63) &^ 63 // the small classes are close to 64-byte steps
	}
	for _, c := range sizeClasses {
		if n <= c {
			return c
		}
	}
	return (n + 8191) &^ 8191
}

// Memory returns the heap the analysis holds by the analyzer's own
// account: ConnCost per tracked connection, plus the timeline steps they
// keep and the records waiting for TIME_WAIT to end. Config.MaxMemory bounds
// it.
func (a *Analyzer) Memory() int64 {
	return a.tab.Bytes() + a.steps*stepCost + a.heldBytes
}

// makeRoom ends the idlest connections until need more bytes fit the
// memory budget; keep, the connection being updated, is never ended.
func (a *Analyzer) makeRoom(need int64, keep *reassembly.Conn[conn]) {
	budget := a.maxMemory()
	if budget <= 0 {
		return
	}
	for a.Memory()+need > budget {
		old := a.tab.Oldest()
		if old == nil || old == keep {
			return
		}
		a.evict(old, endedMaxMemory)
	}
}
