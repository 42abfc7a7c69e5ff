package main

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// heapUse is what running a function cost the heap: the peak of the live
// heap above where it started (sampled every millisecond) and the bytes
// allocated in all, which bounds the peak from above and misses nothing.
type heapUse struct {
	peak, allocated uint64
}

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	heapAllocs  = "/gc/heap/allocs:bytes"
)

// measureHeap runs fn and measures its heap use. Tests that call it must
// not run in parallel with others.
func measureHeap(fn func()) heapUse {
	runtime.GC()
	s := []metrics.Sample{{Name: heapObjects}, {Name: heapAllocs}}
	metrics.Read(s)
	base, allocs := s[0].Value.Uint64(), s[1].Value.Uint64()
	var peak atomic.Uint64
	peak.Store(base)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		one := []metrics.Sample{{Name: heapObjects}}
		for {
			metrics.Read(one)
			if v := one[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	metrics.Read(s)
	if v := s[0].Value.Uint64(); v > peak.Load() {
		peak.Store(v)
	}
	return heapUse{peak: peak.Load() - base, allocated: s[1].Value.Uint64() - allocs}
}
