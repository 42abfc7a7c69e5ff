//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that a signal
// passed on reaches it (and the processes it starts) once, as a Ctrl-C
// reaches a foreground job; it reports whether it did. With a terminal
// on standard input the command stays in tcpflow-check's group instead:
// it may read the terminal, and the terminal's Ctrl-C reaches it
// directly.
func ownGroup(e *env, cmd *exec.Cmd) bool {
	if e.stdinIsTerminal() {
		return false
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return true
}

// signalGroup sends sig to the process group p leads.
func signalGroup(p *os.Process, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return p.Signal(sig)
	}
	return syscall.Kill(-p.Pid, s)
}
