package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type nodeJSON struct {
	ID       string            `json:"id"`
	Address  string            `json:"address"`
	Status   string            `json:"status"`
	Cordoned bool              `json:"cordoned"`
	Version  string            `json:"version"`
	Labels   map[string]string `json:"labels"`
	Bundles  []string          `json:"bundles"`
	// BundleNames name Bundles, in their order ("" where the node sent none);
	// BundlesFixed: the node runs only those and fetches no other.
	BundleNames   []string `json:"bundle_names"`
	BundlesFixed  bool     `json:"bundles_fixed"`
	MaxSurfaces   uint32   `json:"max_surfaces"`
	Cores         uint32   `json:"cores"`
	LastHeartbeat int64    `json:"last_heartbeat_unix_ms"`
	// Stale is set for a node listed up that has missed two heartbeats.
	Stale          bool  `json:"stale"`
	HeartbeatAgeMS int64 `json:"heartbeat_age_ms"`
	// Health is "" or why the node takes no new copies ("disk full").
	Health   string            `json:"health"`
	Shards   []shardJSON       `json:"shards"`
	Surfaces []nodeSurfaceJSON `json:"surfaces,omitempty"`
}

type shardJSON struct {
	Surface       string  `json:"surface"`
	Role          string  `json:"role"`
	Epoch         uint64  `json:"epoch"`
	Tick          uint64  `json:"tick"`
	ConfirmedTick uint64  `json:"confirmed_tick"`
	StateHash     string  `json:"state_hash"`
	UPS           float64 `json:"ups"`
	TickCostUS    uint64  `json:"tick_cost_us"`
	EntityCount   uint64  `json:"entity_count"`
	// TermStartTick: a primary's term continued after this tick (a promoted or
	// moved primary took over there).
	TermStartTick uint64 `json:"term_start_tick"`
	// TermStartHash is the state hash at term_start_tick when this primary opened
	// its copy (a surface started again from a save shows the save's hash).
	TermStartHash string `json:"term_start_hash,omitempty"`
	// Following: a standby is connected to its primary's replication stream.
	Following bool   `json:"following,omitempty"`
	Error     string `json:"error,omitempty"`
}

type nodeSurfaceJSON struct {
	Surface string `json:"surface"`
	Role    string `json:"role"`
	Epoch   uint64 `json:"epoch"`
}

func roleName(r pb.ShardRole) string {
	switch r {
	case pb.ShardRole_SHARD_ROLE_PRIMARY:
		return "primary"
	case pb.ShardRole_SHARD_ROLE_STANDBY:
		return "standby"
	}
	return "unknown"
}

func statusName(s pb.NodeStatus) string {
	switch s {
	case pb.NodeStatus_NODE_STATUS_UP:
		return "up"
	case pb.NodeStatus_NODE_STATUS_DOWN:
		return "down"
	}
	return "unknown"
}

func shardToJSON(s *pb.ShardStats) shardJSON {
	return shardJSON{Surface: s.Surface, Role: roleName(s.Role), Epoch: s.Epoch, Tick: s.Tick, ConfirmedTick: s.ConfirmedTick,
		StateHash: s.StateHash, UPS: float64(s.UpsMilli) / 1000, TickCostUS: s.TickCostUs, EntityCount: s.EntityCount,
		TermStartTick: s.TermStartTick, TermStartHash: s.TermStartHash, Following: s.Following, Error: s.Error}
}

func toNodeJSON(n *pb.Node) nodeJSON {
	out := nodeJSON{ID: n.Id, Address: n.Address, Status: statusName(n.Status), Cordoned: n.Cordoned, Version: n.Version,
		Labels: n.Labels, Bundles: n.Bundles, BundlesFixed: n.BundlesFixed, MaxSurfaces: n.GetCapacity().GetMaxSurfaces(), Cores: n.GetCapacity().GetCores(),
		LastHeartbeat: n.LastHeartbeatUnixMs, Stale: n.Stale, HeartbeatAgeMS: n.HeartbeatAgeMs, Health: n.Health, Shards: []shardJSON{}}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Bundles == nil {
		out.Bundles = []string{}
	}
	out.BundleNames = make([]string, len(out.Bundles))
	copy(out.BundleNames, n.BundleNames)
	for _, s := range n.Shards {
		out.Shards = append(out.Shards, shardToJSON(s))
	}
	return out
}

// newNodeCmd is the `node` group: with --join-token and --data-dir it runs the
// worker agent; its subcommands inspect and manage nodes.
func newNodeCmd() *cobra.Command {
	o := &opFlags{}
	af := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "node --controller ADDR --join-token T --data-dir D --bind HOST:PORT [--name N] [--capacity-cores C]",
		Short: "Run a worker node, or inspect and manage nodes",
		Long: `With --join-token and --data-dir, run a worker node: it registers with the
controller, heartbeats, and runs the surfaces the scheduler assigns it, keeping each
one's input log and checkpoints under --data-dir. Stop it with Ctrl-C (SIGINT) or
SIGTERM: every executed tick is flushed first.

Without them, use the subcommands below to inspect and manage nodes.`,
		Example: `  starlane node --controller 127.0.0.1:7400 --join-token slj-... --data-dir /var/lib/starlane/n1 --bind 127.0.0.1:7500 --name n1
  starlane node list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("join-token") && !cmd.Flags().Changed("join-token-file") && !cmd.Flags().Changed("data-dir") {
				return cmd.Help()
			}
			return runAgent(cmd, o, af)
		},
	}
	o.add(cmd)
	af.add(cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List worker nodes with status and lease",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := ctlclient.ListNodes(ctx, c)
				if err != nil {
					return err
				}
				if o.json {
					out := []nodeJSON{}
					for _, n := range r.Nodes {
						out = append(out, toNodeJSON(n))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tADDRESS\tSTATUS\tSHARDS\tLAST HEARTBEAT\tVERSION")
				for _, n := range r.Nodes {
					st := statusName(n.Status)
					if n.Stale {
						st = "stale"
					}
					if n.Cordoned {
						st += ",cordoned"
					}
					if n.Health != "" {
						st += ",unhealthy (" + n.Health + ")"
					}
					shards, beat := fmt.Sprint(len(n.Shards)), ago(n.LastHeartbeatUnixMs)
					if n.Status == pb.NodeStatus_NODE_STATUS_DOWN {
						// Nothing live is known of a node that is down: say since when
						// (node get lists the surfaces still assigned to it).
						shards, beat = "-", "down "+ago(n.StatusChangedUnixMs)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Id, n.Address, st, shards, beat, n.Version)
				}
				return tw.Flush()
			})
		},
	}

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show one node, its surfaces and shard stats",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: args[0]})
				if err != nil {
					return err
				}
				out := toNodeJSON(r.Node)
				out.Surfaces = []nodeSurfaceJSON{}
				for _, a := range r.Surfaces {
					out.Surfaces = append(out.Surfaces, nodeSurfaceJSON{Surface: a.Surface.GetName(), Role: roleName(a.Role), Epoch: a.Epoch})
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := cmd.OutOrStdout()
				labels := []string{}
				for k, v := range out.Labels {
					labels = append(labels, k+"="+v)
				}
				sort.Strings(labels)
				fmt.Fprintf(w, "node:       %s\naddress:    %s\nstatus:     %s\ncordoned:   %v\nversion:    %s\ncapacity:   %d cores, max %d surfaces\nlabels:     %s\nbundles:    %s\nheartbeat:  %s\n",
					out.ID, out.Address, out.Status, out.Cordoned, out.Version, out.Cores, out.MaxSurfaces,
					strings.Join(labels, " "), nodeBundles(out), ago(out.LastHeartbeat))
				if out.Health != "" {
					fmt.Fprintf(w, "health:     unhealthy (%s): takes no new surfaces or standbys until its shards write again\n", out.Health)
				}
				fmt.Fprintln(w, "\nsurfaces:")
				for _, s := range out.Surfaces {
					fmt.Fprintf(w, "  %s\t%s\tepoch %d\n", s.Surface, s.Role, s.Epoch)
				}
				return nil
			})
		},
	}

	cordon := func(use, short string, to bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				rid := ctlclient.NewRequestID()
				return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
					r, err := c.CordonNode(ctx, &pb.CordonNodeRequest{RequestId: rid, Id: args[0], Cordoned: to})
					if err != nil {
						return err
					}
					if to && !o.json {
						// Say what happens to what the node holds.
						if nr, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: args[0]}); err == nil && len(nr.Surfaces) > 0 {
							primaries := 0
							for _, a := range nr.Surfaces {
								if a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY {
									primaries++
								}
							}
							fmt.Fprintf(cmd.ErrOrStderr(), "starlane: %s holds %s and %s: primaries move off live, one at a time; standbys are placed on other nodes, or dropped where none can hold one (`starlane surface list` says which; `starlane node drain` waits and reports)\n",
								args[0], words.Plural(primaries, "primary"), standbysText(len(nr.Surfaces)-primaries))
						}
					}
					return done(cmd, o, map[string]any{"node": args[0], "cordoned": to, "index": r.Index}, "node %s %sed", args[0], use)
				})
			},
		}
	}
	cmd.AddCommand(list, get, newNodeDrainCmd(o),
		cordon("cordon", "Stop placing surfaces on a node and move its surfaces away", true),
		cordon("uncordon", "Allow placing surfaces on a node again", false))
	return cmd
}

func ago(unixMS int64) string {
	if unixMS == 0 {
		return "-"
	}
	d := time.Since(time.UnixMilli(unixMS)).Round(100 * time.Millisecond)
	return d.String() + " ago"
}

// nodeBundles lists a node's bundles for humans: name (hash prefix), and
// whether it fetches others.
func nodeBundles(n nodeJSON) string {
	var out []string
	for i, h := range n.Bundles {
		label := h[:min(12, len(h))]
		if n.BundleNames[i] != "" {
			label = n.BundleNames[i] + " (" + label + ")"
		}
		out = append(out, label)
	}
	if n.BundlesFixed {
		return strings.Join(out, ", ") + "; fixed (fetches no other)"
	}
	return strings.Join(out, ", ") + "; fetches others from the controllers"
}

// standbysText is "1 standby" or "N standbys" (words.Plural would say standbies).
func standbysText(n int) string {
	if n == 1 {
		return "1 standby"
	}
	return fmt.Sprintf("%d standbys", n)
}
