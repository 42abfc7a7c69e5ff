package reassembly

import "syscall"

// canMap: Linux maps anonymous memory for the table's chunks.
const canMap = true

// mapAnon maps n bytes of zeroed anonymous memory; nil when it cannot.
func mapAnon(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmapAnon unmaps b, as mapAnon returned it.
func unmapAnon(b []byte) { _ = syscall.Munmap(b) }

// discardAnon hands b's pages back to the kernel; they read as zeros when
// touched again.
func discardAnon(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
