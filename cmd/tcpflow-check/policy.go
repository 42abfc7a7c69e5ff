package main

import (
	"fmt"

	"github.com/tcpflow-check/tcpflow-check/check"
)

func cmdPolicy(e *env, args []string) error {
	fs := newFlags(e, "policy", "tcpflow-check policy init | policy check FILE")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "init":
		_, err := fmt.Fprint(e.stdout, check.StarterPolicy)
		return err
	case fs.NArg() == 2 && fs.Arg(0) == "check":
		p, err := check.LoadPolicy(fs.Arg(1))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s: ok, %d rules, %d ignore rules\n", fs.Arg(1), p.Rules(), len(p.Ignore))
		return err
	}
	return usagef("policy: use 'policy init' (print a starter policy) or 'policy check FILE' (validate one)")
}
