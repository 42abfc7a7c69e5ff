package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/check"
)

func newPolicyCmd(e *env) *cobra.Command {
	cmd := newCommand("policy init | policy check FILE", "write or validate a check policy")
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		return usagef("policy: use 'policy init' (print a starter policy) or 'policy check FILE' (validate one)")
	}
	initCmd := newCommand("init", "print a commented starter policy")
	initCmd.Args = usageArgs(cobra.NoArgs)
	initCmd.RunE = func(_ *cobra.Command, _ []string) error {
		_, err := fmt.Fprint(e.stdout, check.StarterPolicy)
		return err
	}
	checkCmd := newCommand("check FILE", "validate a policy")
	checkCmd.Args = usageArgs(cobra.ExactArgs(1))
	checkCmd.RunE = func(_ *cobra.Command, args []string) error {
		p, err := check.LoadPolicy(args[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s: ok, %d rules, %d ignore rules\n", args[0], p.Rules(), len(p.Ignore))
		return err
	}
	cmd.AddCommand(initCmd, checkCmd)
	return cmd
}
