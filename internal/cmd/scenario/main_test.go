package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"list", []string{"--list"}, 0, "half-close-stuck"},
		{"unknown scenario", []string{"--name", "nope", "--role", "client", "--server", "127.0.0.1:1"}, 2, ""},
		{"bad role", []string{"--name", "normal-close", "--role", "x", "--server", "127.0.0.1:1"}, 2, ""},
		{"bad address", []string{"--name", "normal-close", "--role", "client", "--server", "nowhere"}, 2, ""},
		{"no server half", []string{"--name", "refused", "--role", "server", "--server", "127.0.0.1:1"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.out)
			}
		})
	}
}
