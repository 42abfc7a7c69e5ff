//go:build !linux

package main

import (
	"errors"
	"fmt"
)

// dropPrivileges is implemented on Linux only.
func dropPrivileges(name string) error {
	return fmt.Errorf("dropping privileges is implemented on Linux only: %w", errors.ErrUnsupported)
}
