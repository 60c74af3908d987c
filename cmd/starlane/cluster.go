package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type peerJSON struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raft_address"`
	APIAddress  string `json:"api_address"`
	Suffrage    string `json:"suffrage"`
	Leader      bool   `json:"leader"`
	// Health is "up", "unreachable" or "unknown", as the answering controller sees it.
	Health        string `json:"health"`
	LastContactMs int64  `json:"last_contact_ms,omitempty"`
	UnreachableMs int64  `json:"unreachable_ms,omitempty"`
}

func peersJSON(ps []*pb.ControllerPeer) []peerJSON {
	out := []peerJSON{}
	for _, p := range ps {
		out = append(out, peerJSON{ID: p.Id, RaftAddress: p.RaftAddress, APIAddress: p.ApiAddress, Suffrage: p.Suffrage, Leader: p.Leader,
			Health: p.Health, LastContactMs: p.LastContactMs, UnreachableMs: p.UnreachableMs})
	}
	return out
}

// failuresTolerated is how many more voters may fail before writes stop (0 when
// they have stopped already), or nil when a voter's health is unknown.
func failuresTolerated(peers []*pb.ControllerPeer, voters, up int) any {
	for _, p := range peers {
		if p.Suffrage == "voter" && (p.Health == "unknown" || p.Health == "") {
			return nil
		}
	}
	return max(up-(voters/2+1), 0)
}

// faultTolerance counts the voters and those up, and says in words how many
// more controller failures the cluster survives before writes stop.
func faultTolerance(peers []*pb.ControllerPeer) (voters, up int, say string) {
	var unknown []string
	leader := false
	for _, p := range peers {
		leader = leader || p.Leader
		if p.Suffrage != "voter" {
			continue
		}
		voters++
		switch p.Health {
		case "up":
			up++
		case "unknown", "":
			unknown = append(unknown, p.Id)
		}
	}
	if voters == 0 {
		return 0, 0, "no voters known"
	}
	if len(unknown) > 0 && !leader {
		return voters, up, fmt.Sprintf("no leader: writes stop until %d of the %d voters reach each other and elect one; the health of %s is unknown (there is no leader to ask)",
			voters/2+1, voters, strings.Join(unknown, ", "))
	}
	if len(unknown) > 0 {
		return voters, up, fmt.Sprintf("%d of %d voters known up; the health of %s is unknown (the leader could not be asked)", up, voters, strings.Join(unknown, ", "))
	}
	quorum := voters/2 + 1
	spare := up - quorum
	switch {
	case spare < 0:
		more := "one more is"
		if spare < -1 {
			more = fmt.Sprintf("%d more are", -spare)
		}
		say = fmt.Sprintf("%d of %d voters up: no majority, writes stop until %s back", up, voters, more)
	case spare == 0 && up == voters:
		say = fmt.Sprintf("%d of %s up: no fault tolerance, any failure stops writes", up, words.Plural(voters, "voter"))
	case spare == 0:
		say = fmt.Sprintf("%d of %d voters up: one more failure stops writes", up, voters)
	case up == voters:
		say = fmt.Sprintf("%d of %d voters up: the cluster survives %s", up, voters, words.Plural(spare, "failure"))
	default:
		say = fmt.Sprintf("%d of %d voters up: the cluster survives %s", up, voters, words.Plural(spare, "more failure"))
	}
	return voters, up, say
}

// healthText is a peer's HEALTH column: "up", "unreachable for 2m10s", "unknown".
func healthText(p *pb.ControllerPeer) string {
	switch p.Health {
	case "":
		return "-"
	case "unreachable":
		if p.UnreachableMs > 0 {
			return "unreachable for " + shortDur(p.UnreachableMs)
		}
	case "up":
		if p.LastContactMs >= 1000 {
			return "up, last contact " + shortDur(p.LastContactMs) + " ago"
		}
	}
	return p.Health
}

func shortDur(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func newClusterCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect and manage the controllers' Raft cluster",
	}
	o.add(cmd)

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the leader, term, Raft indexes and peers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				s, err := c.GetStatus(ctx, &pb.GetStatusRequest{})
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				voters, up, tolerance := faultTolerance(s.Peers)
				if o.json {
					return printJSON(w, map[string]any{
						"id": s.Id, "state": s.State, "leader_id": s.LeaderId, "leader_address": s.LeaderApiAddress,
						"term": s.Term, "commit_index": s.CommitIndex, "applied_index": s.AppliedIndex, "last_index": s.LastIndex,
						"peers": peersJSON(s.Peers), "voters": voters, "voters_up": up, "fault_tolerance": tolerance,
						"quorum": voters/2 + 1, "failures_tolerated": failuresTolerated(s.Peers, voters, up),
					})
				}
				leader := s.LeaderId
				if leader == "" {
					leader = "(none known)"
				}
				fmt.Fprintf(w, "answered by:  %s (%s)\nleader:       %s %s\nterm:         %d\ncommit index: %d\napplied:      %d\nvoters:       %s\n\n",
					s.Id, s.State, leader, s.LeaderApiAddress, s.Term, s.CommitIndex, s.AppliedIndex, tolerance)
				printPeers(cmd, s.Peers)
				return nil
			})
		},
	}

	peers := &cobra.Command{
		Use:   "peers",
		Short: "List the controllers (Raft peers) with their API addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.ListControllers(ctx, &pb.ListControllersRequest{})
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), peersJSON(r.Peers))
				}
				printPeers(cmd, r.Peers)
				_, _, tolerance := faultTolerance(r.Peers)
				fmt.Fprintf(cmd.OutOrStdout(), "\n%s\n", tolerance)
				return nil
			})
		},
	}

	removePeer := &cobra.Command{
		Use:   "remove-peer ID",
		Short: "Remove a controller from the cluster (the leader hands over first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.RemoveController(ctx, &pb.RemoveControllerRequest{RequestId: rid, Id: args[0]})
				if err != nil {
					return err
				}
				return done(cmd, o, map[string]any{"removed": args[0], "index": r.Index}, "removed controller %s (index %d)", args[0], r.Index)
			})
		},
	}

	transfer := &cobra.Command{
		Use:   "transfer-leadership [ID]",
		Short: "Hand leadership to another controller (a chosen one with ID)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			to := ""
			if len(args) == 1 {
				to = args[0]
			}
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.TransferLeadership(ctx, &pb.TransferLeadershipRequest{ToId: to})
				if err != nil {
					return err
				}
				return done(cmd, o, map[string]any{"leader_id": r.LeaderId}, "leader is now %s", r.LeaderId)
			})
		},
	}

	joinToken := &cobra.Command{
		Use:   "join-token",
		Short: "Print the token worker nodes join with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"token": r.Token})
				}
				fmt.Fprintln(cmd.OutOrStdout(), r.Token)
				return nil
			})
		},
	}

	snapshot := &cobra.Command{Use: "snapshot", Short: "Back up or restore the controller state"}
	save := &cobra.Command{
		Use:   "save FILE",
		Short: "Write a backup of the replicated state to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var index uint64
			// Written atomically: a full disk or a failed download leaves any
			// older backup at FILE whole and no partial file behind.
			err := atomicfile.WriteFunc(args[0], 0o600, func(w io.Writer) error {
				return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
					var err error
					index, err = cl.SaveSnapshot(ctx, w)
					return err
				})
			})
			if err != nil {
				return err
			}
			return done(cmd, o, map[string]any{"file": args[0], "index": index}, "saved controller state at index %d to %s", index, args[0])
		},
	}
	var yes bool
	restore := &cobra.Command{
		Use:   "restore FILE --yes",
		Short: "Replace the whole replicated state with a backup",
		Long: `Replace the whole replicated state (surfaces, bridges, nodes, tokens, players,
bundles, saves, events) with a backup made by 'starlane cluster snapshot save'.
Every change made after the backup is undone: what was created since disappears,
what was deleted comes back, and surfaces start again from the saves and
assignments the backup names. Without --yes it says what it would undo and
changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open backup: %w", err)
			}
			defer f.Close()
			if !yes {
				at, err := ctlclient.BackupIndex(f)
				if err != nil {
					return err
				}
				var now uint64
				if err := o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
					st, err := c.GetStatus(ctx, &pb.GetStatusRequest{})
					now = st.GetAppliedIndex()
					return err
				}); err != nil {
					return err
				}
				undone := "every change after it"
				if now > at {
					undone = fmt.Sprintf("the %d log entries after it (the cluster is at index %d)", now-at, now)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "starlane: the backup %s was taken at index %d; restoring it undoes %s: surfaces, bridges, tokens, players, bundles and saves created since disappear, those deleted since come back, and surfaces start again from what the backup names.\nAdd --yes to restore.\n",
					args[0], at, undone)
				return exitError{1}
			}
			var index uint64
			if err := o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var err error
				index, err = cl.RestoreSnapshot(ctx, f)
				return err
			}); err != nil {
				return err
			}
			return done(cmd, o, map[string]any{"file": args[0], "index": index}, "restored controller state from %s (index %d)", args[0], index)
		},
	}
	restore.Flags().BoolVar(&yes, "yes", false, "restore (without it, say what would be undone and change nothing)")
	snapshot.AddCommand(save, restore)
	cmd.AddCommand(status, peers, removePeer, transfer, joinToken, snapshot)
	return cmd
}

func printPeers(cmd *cobra.Command, peers []*pb.ControllerPeer) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAPI\tRAFT\tSUFFRAGE\tLEADER\tHEALTH")
	for _, p := range peers {
		l := ""
		if p.Leader {
			l = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Id, p.ApiAddress, p.RaftAddress, p.Suffrage, l, healthText(p))
	}
	tw.Flush()
}

// done prints the result of a mutating command: JSON or one line of text.
func done(cmd *cobra.Command, o *opFlags, js map[string]any, format string, args ...any) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), js)
	}
	fmt.Fprintf(cmd.OutOrStdout(), format+"\n", args...)
	return nil
}
