//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// ownGroup: process groups are a Unix matter; the command shares
// tcpflow-check's console.
func ownGroup(*env, *exec.Cmd) bool { return false }

// signalGroup sends sig to p alone.
func signalGroup(p *os.Process, sig os.Signal) error { return p.Signal(sig) }
