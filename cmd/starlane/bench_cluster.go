package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/scale"
)

func newBenchClusterCmd() *cobra.Command {
	var (
		nodes, surfaces, bridges int
		steady, election         time.Duration
		dir, prof                string
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Measure the controller at cluster scale: 3 controllers and many simulated nodes",
		Long: `Start three controller processes on loopback and one process that plays --nodes
worker nodes over the real node protocol (its shards are stubs that report ticks),
create --surfaces surfaces (one standby each) and --bridges bridges, and measure:
how long placing everything takes, the leader's CPU and memory in steady state,
how long ` + "`surface list`" + ` takes, and how long the primaries of a killed node take
to be re-placed. Progress goes to stderr; the report to stdout (--json for JSON).
Every process it starts is stopped at the end.`,
		Example: `  starlane bench cluster --nodes 100 --surfaces 3000 --bridges 6000 --json
  starlane bench cluster --nodes 10 --surfaces 100 --bridges 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 2 || surfaces < 1 || bridges < 0 {
				return fmt.Errorf("--nodes must be at least 2, --surfaces at least 1 and --bridges not negative")
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "starlane-scale-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			} else if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := scale.Run(ctx, scale.Config{Bin: bin, Dir: dir, Nodes: nodes, Surfaces: surfaces, Bridges: bridges,
				Steady: steady, Progress: cmd.ErrOrStderr(), CPUProfile: prof, ElectionTimeout: election})
			if err != nil {
				return fmt.Errorf("cluster benchmark: %w (process logs in %s; pass --dir to keep them)", err, dir)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "controllers %d, nodes %d, surfaces %d, bridges %d (load average %s → %s)\n", rep.Controllers, rep.Nodes, rep.Surfaces, rep.Bridges, rep.LoadAverage[0], rep.LoadAverage[1])
			fmt.Fprintf(out, "catalog created in %.1f s, all placed %.1f s after that\n", rep.CreateSeconds, rep.PlacedSeconds)
			fmt.Fprintf(out, "leader in steady state: %.1f %% of a core over %.0f s, %.0f MiB resident (peak %.0f MiB)\n", rep.LeaderCPUPercent, rep.SteadySeconds, rep.LeaderRSSMiB, rep.LeaderPeakRSSMiB)
			fmt.Fprintf(out, "surface list: %d surfaces in %.2f s\n", rep.SurfaceListCount, rep.SurfaceListSeconds)
			fmt.Fprintf(out, "killed %s with %d primaries: re-placed in %.2f s\n", rep.KilledNode, rep.KilledPrimaries, rep.RePlacedSeconds)
			fmt.Fprintf(out, "lost %d, unplaced %d\n", rep.Lost, rep.Unplaced)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 100, "simulated nodes")
	f.IntVar(&surfaces, "surfaces", 3000, "surfaces to create")
	f.IntVar(&bridges, "bridges", 6000, "bridges to create")
	f.DurationVar(&steady, "steady", 20*time.Second, "how long to sample the leader's CPU once everything is placed")
	f.StringVar(&dir, "dir", "", "keep the controllers' data and the process logs here (default: a temporary dir, removed)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.DurationVar(&election, "election-timeout", 0, "the controllers' --election-timeout (default: theirs)")
	f.StringVar(&prof, "cpuprofile", "", "write a CPU profile of the leader over the steady phase to this file")
	return cmd
}

// newBenchClusterNodesCmd is the process `bench cluster` starts to play the
// nodes; it reads "kill NAME" lines on stdin.
func newBenchClusterNodesCmd() *cobra.Command {
	var (
		controllerAddrs string
		nodes           int
		prefix          string
	)
	cmd := &cobra.Command{
		Use:    "cluster-nodes",
		Short:  "Play many worker nodes with stub shards (started by bench cluster)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok := os.Getenv("STARLANE_JOIN_TOKEN")
			if tok == "" || nodes < 1 {
				return fmt.Errorf("needs STARLANE_JOIN_TOKEN and --nodes")
			}
			cl, err := ctlclient.Dial(ctlclient.ParseAddrs(controllerAddrs), tlsconf.Config{})
			if err != nil {
				return err
			}
			defer cl.Close()
			log, err := newLogger("info")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f := scale.NewFleet(scale.FleetConfig{Client: cl, JoinToken: tok, Nodes: nodes, Prefix: prefix, Logger: log})
			return f.Run(ctx, cmd.InOrStdin())
		},
	}
	cmd.Flags().StringVar(&controllerAddrs, "controller", "", "controller API addresses, comma-separated")
	cmd.Flags().IntVar(&nodes, "nodes", 100, "simulated nodes")
	cmd.Flags().StringVar(&prefix, "prefix", "sim", "node name prefix")
	return cmd
}
