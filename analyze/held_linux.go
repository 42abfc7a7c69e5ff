package analyze

import "syscall"

// heldCanMap: Linux maps anonymous memory for the held records' chunks.
const heldCanMap = true

// heldMapAnon maps n bytes of zeroed anonymous memory; nil when it cannot.
func heldMapAnon(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// heldUnmap unmaps b, as heldMapAnon returned it.
func heldUnmap(b []byte) { _ = syscall.Munmap(b) }
