package main

import (
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
	root.AddCommand(newBlueprintCmd(), newControllerCmd(), newClusterCmd(), newNodeCmd(), newSurfaceCmd(), newSimCmd(), newBenchCmd(), newBridgeCmd(), newBotCmd(), newDevCmd(), newPlayCmd(), newTLSCmd())
	return root
}
