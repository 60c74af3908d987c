package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// bridgeJSON is the stable `bridge get/list --json` shape.
type bridgeJSON struct {
	Name        string           `json:"name"`
	From        string           `json:"from"`
	To          string           `json:"to"`
	Items       []string         `json:"items"`
	CreateIndex uint64           `json:"create_index"`
	Stats       []bridgeItemJSON `json:"stats"`
	// Totals over all items.
	Exported        int64          `json:"exported"`
	Delivered       int64          `json:"delivered"`
	Acked           int64          `json:"acked"`
	Inflight        int64          `json:"inflight"`
	ItemsPerSecond  float64        `json:"items_per_second"`
	StacksPerSecond float64        `json:"stacks_per_second"`
	LatencyTicksP50 float64        `json:"latency_ticks_p50"`
	LatencyTicksP99 float64        `json:"latency_ticks_p99"`
	Sender          *bridgeEndJSON `json:"sender"`
	Receiver        *bridgeEndJSON `json:"receiver"`
	Index           uint64         `json:"index,omitempty"`
	// Paused says why the bridge cannot move items now (an end stopped or not
	// placed) and what resumes it; empty while both ends can run.
	Paused string `json:"paused"`
	// ItemsAsOfUnixMs is set when the sender is not reporting: the counters are
	// its last report, from then (they never drop to zero meanwhile).
	ItemsAsOfUnixMs int64 `json:"items_as_of_unix_ms,omitempty"`
	// Status is the STATUS column of bridge list: paused: …, flowing, connecting,
	// waiting for both ends to report, sender: …, receiver: ….
	Status string `json:"status"`
}

type bridgeItemJSON struct {
	Item      string `json:"item"`
	Exported  int64  `json:"exported"`
	Delivered int64  `json:"delivered"`
	Acked     int64  `json:"acked"`
	Inflight  int64  `json:"inflight"`
}

type bridgeEndJSON struct {
	Surface   string `json:"surface"`
	Epoch     uint64 `json:"epoch"`
	LastSeq   uint64 `json:"last_seq"`
	AckedSeq  uint64 `json:"acked_seq,omitempty"`
	Credit    int64  `json:"credit"`
	Outbox    uint32 `json:"outbox_entries,omitempty"`
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
	Reported  int64  `json:"reported_unix_ms"`
	// Space is the export port's sequence space; LostSeqs, at the receiver, counts
	// sequence numbers it gave up because it had lost acknowledged deliveries.
	Space    string `json:"space,omitempty"`
	LostSeqs int64  `json:"lost_seqs,omitempty"`
}

func toBridgeEndJSON(e *pb.BridgeEndStats) *bridgeEndJSON {
	if e == nil {
		return nil
	}
	out := &bridgeEndJSON{Surface: e.Surface, Epoch: e.Epoch, LastSeq: e.LastSeq, AckedSeq: e.AckedSeq, Credit: e.Credit,
		Outbox: e.OutboxEntries, Connected: e.Connected, Error: e.Error, Reported: e.ReportedUnixMs, LostSeqs: e.LostSeqs}
	if e.Space != 0 {
		out.Space = fmt.Sprintf("%016x", e.Space)
	}
	return out
}

func toBridgeJSON(b *pb.Bridge) bridgeJSON {
	out := bridgeJSON{Name: b.Id, From: b.FromSurface + ":" + b.FromPort, To: b.ToSurface + ":" + b.ToPort,
		Items: b.Items, CreateIndex: b.CreateIndex, Stats: []bridgeItemJSON{}}
	if out.Items == nil {
		out.Items = []string{}
	}
	st := b.GetStatus()
	for _, it := range st.GetItems() {
		out.Stats = append(out.Stats, bridgeItemJSON{Item: it.Item, Exported: it.Exported, Delivered: it.Delivered, Acked: it.Acked, Inflight: it.Inflight})
		out.Exported += it.Exported
		out.Delivered += it.Delivered
		out.Acked += it.Acked
		out.Inflight += it.Inflight
	}
	if s := st.GetSender(); s != nil {
		out.ItemsPerSecond, out.StacksPerSecond = s.ItemsPerSecond, s.StacksPerSecond
	}
	if r := st.GetReceiver(); r != nil {
		out.LatencyTicksP50, out.LatencyTicksP99 = r.LatencyTicksP50, r.LatencyTicksP99
	}
	out.Paused, out.ItemsAsOfUnixMs = st.GetPaused(), st.GetItemsAsOfUnixMs()
	out.Sender, out.Receiver = toBridgeEndJSON(st.GetSender()), toBridgeEndJSON(st.GetReceiver())
	out.Status = bridgeState(out)
	return out
}

func newBridgeCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "bridge",
		Short: "Declare and watch bridges: exactly-once item links between surfaces",
		Long: `A bridge moves items from a bridge-export port on one surface to a
bridge-import port on another, exactly once, whatever fails: items leave the
source only at confirmed ticks, the destination ignores duplicates, and the
source forgets them only once the destination confirmed applying them.`,
	}
	o.add(cmd)

	var from, to, name, items string
	create := &cobra.Command{
		Use:   "create --from SURFACE:PORT --to SURFACE:PORT",
		Short: "Declare a bridge from an export port to an import port",
		Example: `  starlane bridge create --from nauvis:out --to vulcanus:in
  starlane bridge create --from vulcanus:out --to nauvis:in --items coal,stone --name coal-home`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			br, err := ctlclient.NewBridge(from, to, name, items)
			if err != nil {
				return err
			}
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				r, err := cl.CreateBridge(ctx, "", br)
				if err != nil {
					return err
				}
				if o.json {
					js := toBridgeJSON(r.Bridge)
					js.Index = r.Index
					return printJSON(cmd.OutOrStdout(), js)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created bridge %s: %s:%s -> %s:%s (index %d)\n", br.Id, br.FromSurface, br.FromPort, br.ToSurface, br.ToPort, r.Index)
				return nil
			})
		},
	}
	cf := create.Flags()
	cf.StringVar(&from, "from", "", "source SURFACE:PORT (a bridge-export entity's ID or label)")
	cf.StringVar(&to, "to", "", "destination SURFACE:PORT (a bridge-import entity's ID or label)")
	cf.StringVar(&name, "name", "", "bridge name (default FROM-to-TO)")
	cf.StringVar(&items, "items", "", "comma-separated items the bridge carries (default: any); stacks the port exported before the bridge existed go first whatever they hold")
	_ = create.MarkFlagRequired("from")
	_ = create.MarkFlagRequired("to")

	list := &cobra.Command{
		Use:   "list",
		Short: "List bridges with what they moved",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := ctlclient.ListBridges(ctx, c)
				if err != nil {
					return err
				}
				if o.json {
					out := []bridgeJSON{}
					for _, b := range r.Bridges {
						out = append(out, toBridgeJSON(b))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tFROM\tTO\tEXPORTED\tDELIVERED\tINFLIGHT\tITEMS/S\tSTATUS")
				for _, b := range r.Bridges {
					js := toBridgeJSON(b)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.1f\t%s\n", js.Name, js.From, js.To, js.Exported, js.Delivered, js.Inflight, js.ItemsPerSecond, bridgeState(js))
				}
				return tw.Flush()
			})
		},
	}

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a bridge: per item exported, delivered, acked and in flight; rate and latency",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.GetBridge(ctx, &pb.GetBridgeRequest{Id: args[0]})
				if err != nil {
					return err
				}
				js := toBridgeJSON(r.Bridge)
				js.Index = r.Index
				if o.json {
					return printJSON(cmd.OutOrStdout(), js)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "bridge:    %s\nfrom:      %s\nto:        %s\nitems:     %s\nstatus:    %s\n", js.Name, js.From, js.To,
					orDash(strings.Join(js.Items, ", ")), bridgeState(js))
				if r := js.Receiver; r != nil && r.LostSeqs > 0 {
					fmt.Fprintf(w, "LOST:      %d stacks: %s had acknowledged them and then lost them (a failure beyond what its standbys cover)\n", r.LostSeqs, r.Surface)
				}
				fmt.Fprintf(w, "rate:      %.1f items/s (%.1f stacks/s)   latency p50 %.1f ticks, p99 %.1f ticks\n",
					js.ItemsPerSecond, js.StacksPerSecond, js.LatencyTicksP50, js.LatencyTicksP99)
				if js.ItemsAsOfUnixMs > 0 {
					fmt.Fprintf(w, "counts:    as the sender last reported them, %s (it is not reporting now)\n",
						time.UnixMilli(js.ItemsAsOfUnixMs).UTC().Format(time.RFC3339))
				}
				fmt.Fprintln(w)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "item\texported\tdelivered\tacked\tinflight\t")
				for _, it := range js.Stats {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", it.Item, it.Exported, it.Delivered, it.Acked, it.Inflight)
				}
				return tw.Flush()
			})
		},
	}

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a bridge (items in flight stay in the source's outbox)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.DeleteBridge(ctx, &pb.DeleteBridgeRequest{RequestId: rid, Id: args[0]})
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"deleted": args[0], "index": r.Index})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted bridge %s (index %d)\n", args[0], r.Index)
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, get, del)
	return cmd
}

// bridgeState summarises both ends for humans.
func bridgeState(js bridgeJSON) string {
	switch {
	case js.Paused != "":
		// What the ends report then (a closed stream, an unplaced peer) follows
		// from it.
		return "paused: " + js.Paused
	case js.Sender != nil && js.Sender.Error != "":
		return "sender: " + js.Sender.Error
	case js.Receiver != nil && js.Receiver.Error != "":
		return "receiver: " + js.Receiver.Error
	case js.Sender == nil || js.Receiver == nil:
		return "waiting for both ends to report"
	case !js.Sender.Connected:
		return "connecting"
	case js.ItemsPerSecond == 0 && js.Inflight == 0:
		// Connected with nothing to carry: an empty export port, or one whose
		// inserters hold only items the bridge's --items leaves out.
		return "idle: connected, nothing exported lately"
	}
	return "flowing"
}
