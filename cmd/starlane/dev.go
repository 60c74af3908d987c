package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/devcluster"
)

func newDevCmd() *cobra.Command {
	var (
		dir      string
		port     int
		logLevel string
		ckpt     uint64
		small    bool
	)
	cmd := &cobra.Command{
		Use:   "dev [--data-dir D]",
		Short: "Run a whole local HA cluster: three controllers, three nodes and a default world",
		Long: `Start three controllers (one Raft cluster of three voters) and three worker
nodes as child processes on loopback, and create the default world: nauvis running
the starter factory, vulcanus a mining outpost and fulgora a storage hub, each
with its primary on one node and a hot standby on another. Killing any one
process (a controller, even the leader, or a node) freezes nothing: the other
controllers keep a quorum, and a surface whose node died continues on its standby
within seconds. --small runs one controller and two nodes with no standbys
instead (lighter; a dead controller stops every surface until it is back).

Progress is printed while it starts. The addresses, the join token, the admin
operator token and the data directory are printed, and written to
DATA_DIR/cluster.json once everything ticks. A process that dies is restarted.
Ctrl-C stops everything cleanly; running it again with the same data directory
resumes where it stopped (a --small data dir grows into the full cluster when
started without --small).`,
		Example: `  starlane dev
  starlane dev --small                         # one controller, two nodes
  starlane dev --data-dir /tmp/sl --port 0     # random free ports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65000 {
				return fmt.Errorf("--port %d: give a base port up to 65000, or 0 for random free ports", port)
			}
			if _, err := newLogger(logLevel); err != nil {
				return err
			}
			return devcluster.Run(devcluster.Options{Dir: dir, Out: cmd.OutOrStdout(), LogLevel: logLevel, CheckpointEvery: ckpt, Small: small, Port: port, PortGiven: cmd.Flags().Changed("port")})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "data-dir", devcluster.DefaultDir(), "directory for every process's data, the logs and cluster.json")
	f.IntVar(&port, "port", 7400, "first port: controller c1's API PORT, Raft PORT+1, dashboard PORT+2 (c2 and c3 at PORT+3 and PORT+6), node APIs PORT+10, PORT+20, PORT+30 (0: random free ports, kept for the next start)")
	f.BoolVar(&small, "small", false, "run one controller and two nodes, with no standbys (lighter, not fault tolerant)")
	f.StringVar(&logLevel, "log-level", "info", "log level of the child processes (their logs go to DATA_DIR/logs)")
	f.Uint64Var(&ckpt, "checkpoint-every", 1800, "nodes checkpoint each surface every this many ticks")
	return cmd
}
