package anonmem

import "syscall"

// CanMap: Linux maps anonymous memory.
const CanMap = true

// Map maps n bytes of zeroed anonymous memory; nil when it cannot.
func Map(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// Unmap unmaps b, as Map returned it.
func Unmap(b []byte) { _ = syscall.Munmap(b) }

// Discard hands b's pages back to the kernel; they read as zeros when
// touched again.
func Discard(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
