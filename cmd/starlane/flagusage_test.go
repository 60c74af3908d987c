package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagHelpReadsRight walks every command's flags as --help prints them: a
// back-quoted phrase in a usage string becomes the flag's value name
// (pflag.UnquoteUsage), so "--token starlane dev" would be printed; and a secret
// taken from the environment must not be printed as the flag's default.
func TestFlagHelpReadsRight(t *testing.T) {
	const secret = "slo-secret-from-the-environment"
	for _, env := range []string{"STARLANE_TOKEN", "STARLANE_PLAYER_KEY", "STARLANE_JOIN_TOKEN"} {
		t.Setenv(env, secret)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " ()") {
				t.Errorf("%s --%s: help shows it as taking %q (a back-quoted phrase in its usage)", c.CommandPath(), f.Name, name)
			}
			if strings.Contains(f.DefValue, secret) {
				t.Errorf("%s --%s: help prints the secret from the environment as its default", c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}
