package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "starlane",
		Short: "Run a Factorio-style megabase split across machines",
		Long: `Starlane runs every planet (surface) of a factory as a deterministic lockstep
shard on a worker node. A Raft-replicated controller decides which node runs
which surface, and bridges move items between surfaces exactly once.

Start here:
  starlane dev          run a whole local cluster on an embedded default
  starlane sim run      run one surface headless and print a summary
  starlane bench        measure ticks per second, like factorio --benchmark`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(newBlueprintCmd(), newControllerCmd(), newClusterCmd(), newNodeCmd(), newSurfaceCmd(), newSaveCmd(), newBundleCmd(), newSimCmd(), newBenchCmd(), newBridgeCmd(), newBotCmd(), newActCmd(), newDevCmd(), newPlayCmd(), newTLSCmd(), newTokenCmd(), newPlayerCmd(), newAuditCmd())
	refuseUnknownSubcommands(root)
	plainArgErrors(root)
	root.SetFlagErrorFunc(plainFlagError)
	return root
}

// plainArgErrors makes every command's argument check say what to type (its
// usage line and where its help is) instead of cobra's "accepts 1 arg(s),
// received 0".
func plainArgErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		plainArgErrors(sub)
	}
	check := c.Args
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		if err == nil || !strings.Contains(err.Error(), "arg(s)") {
			return err // a command's own words
		}
		got := "none given"
		if len(args) > 0 {
			got = fmt.Sprintf("%d given: %s", len(args), strings.Join(args, " "))
		}
		return fmt.Errorf("%s: wrong number of arguments (%s); usage: %s (see '%s --help')", cmd.CommandPath(), got, strings.TrimSuffix(cmd.UseLine(), " [flags]"), cmd.CommandPath())
	}
}

// plainFlagError rewords pflag's errors for a value that does not parse, which
// quote Go's strconv ("strconv.ParseUint: parsing "-1": invalid syntax").
func plainFlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, ": time: invalid duration"); i >= 0 {
		return fmt.Errorf("%s: want a duration such as 90s, 15m or 8760h, at most %dh", msg[:i], int64(math.MaxInt64/int64(time.Hour)))
	}
	i := strings.Index(msg, ": strconv.")
	if i < 0 {
		return err
	}
	what := "a whole number"
	switch {
	case strings.Contains(msg, "ParseUint"):
		what = "a whole number, 0 or more"
	case strings.Contains(msg, "ParseFloat"):
		what = "a number"
	case strings.Contains(msg, "ParseBool"):
		what = "true or false"
	}
	if strings.HasSuffix(msg, "value out of range") {
		what += " in range"
		if max := flagMax(cmd, msg); max != "" {
			what += ", at most " + max
		}
	}
	return fmt.Errorf("%s: want %s", msg[:i], what)
}

// refuseUnknownSubcommands makes every command group that does nothing itself
// fail on a subcommand it does not have (cobra prints the group's help and exits 0,
// so a script with a typo would carry on), and print its help when given none.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q; run '%s --help' for its commands", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		}
	}
}

// flagMax is the largest value the integer flag named in a pflag error
// (`invalid argument "…" for "-l, --limit" flag: …`) takes, or "".
func flagMax(cmd *cobra.Command, msg string) string {
	i := strings.LastIndex(msg, `--`)
	j := strings.Index(msg[max(i, 0):], `" flag`)
	if cmd == nil || i < 0 || j < 0 {
		return ""
	}
	f := cmd.Flags().Lookup(msg[i+2 : i+j])
	if f == nil {
		return ""
	}
	maxOf := map[string]uint64{
		"int": math.MaxInt, "int8": math.MaxInt8, "int16": math.MaxInt16, "int32": math.MaxInt32, "int64": math.MaxInt64,
		"uint": math.MaxUint, "uint8": math.MaxUint8, "uint16": math.MaxUint16, "uint32": math.MaxUint32, "uint64": math.MaxUint64,
	}
	m, ok := maxOf[f.Value.Type()]
	if !ok {
		return ""
	}
	return strconv.FormatUint(m, 10)
}
