package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
)

// botJSON is the stable `starlane bot --json` shape.
type botJSON struct {
	Desyncs  int `json:"desyncs"`
	Actions  int `json:"actions"`
	Applied  int `json:"applied"`
	Rejected int `json:"rejected"`
	// Refused are actions the node answered it would never run: its queue was
	// full, or the surface was frozen to move to another node or to stop.
	Refused int `json:"refused"`
	// Unseen are actions sent whose outcome the bot did not see: still in flight
	// at the end, or applied in ticks a rejoin from a checkpoint skipped (after a
	// move, a node the surface left no longer has the log from the bot's tick).
	Unseen    int     `json:"unseen"`
	Ticks     uint64  `json:"ticks"`
	TickP99MS float64 `json:"tick_p99_ms"`
}

func newBotCmd() *cobra.Command {
	var (
		nodeAddr, surface, prefix string
		count                     int
		ticks, actEvery, tamperAt uint64
		asJSON, quiet             bool
		timeout                   time.Duration
		tlsCfg                    tlsconf.Config
		auth                      playerAuth
	)
	cmd := &cobra.Command{
		Use:   "bot --node ADDR --surface S --count K --ticks T [--json]",
		Short: "Run headless lockstep bots that act randomly but validly and verify hashes",
		Long: `Each bot joins the surface as a player, simulates every confirmed tick itself,
acts about once every --act-every ticks (walking, building what it carries on free
tiles in reach, mining and rotating what it built; every action is checked against
its local state first) and reports its state hash. A bot first replays the log
since the checkpoint it joined from; the run ends when every bot has then
simulated --ticks more ticks.

--json prints {"desyncs", "actions", "ticks", "tick_p99_ms"}: desync notices
received, actions sent, ticks each bot simulated, and the 99th percentile of the
primary's tick time over those ticks. The exit status is 3 if any bot desynced.`,
		Example: `  starlane bot --node 127.0.0.1:7500 --surface nauvis --count 5 --ticks 3600 --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 {
				return fmt.Errorf("--count %d: run at least one bot", count)
			}
			if ticks < 1 {
				return fmt.Errorf("--ticks must be at least 1")
			}
			if surface == "" {
				return errors.New("--surface is required")
			}
			if timeout == 0 {
				timeout = time.Duration(ticks)*time.Second/60 + 2*time.Minute
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			stderr := cmd.ErrOrStderr()
			var mu sync.Mutex
			logf := func(format string, args ...any) {
				if quiet {
					return
				}
				mu.Lock()
				fmt.Fprintf(stderr, format+"\n", args...)
				mu.Unlock()
			}
			type result struct {
				st         player.Stats
				ran        uint64
				applied    int
				rejected   int
				err        error
				name       string
				start, end uint64
			}
			tickets, closeTickets, err := auth.tickets(tlsCfg)
			if err != nil {
				return err
			}
			defer closeTickets()
			if nodeAddr, err = auth.nodeFor(ctx, tlsCfg, stderr, nodeAddr, surface, tickets, prefix+"-1"); err != nil {
				return err
			}
			results := make([]result, count)
			var wg sync.WaitGroup
			for i := 0; i < count; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					name := fmt.Sprintf("%s-%d", prefix, i+1)
					res := &results[i]
					res.name = name
					opts := player.Options{Node: nodeAddr, Surface: surface, Name: name, TLS: tlsCfg, Version: version, Ticket: tickets.Get,
						OnEvent: func(e player.Event) { logf("%s: %s", name, e.Message) }}
					if i == 0 {
						opts.TamperAt = tamperAt
					}
					c, err := player.Dial(ctx, opts)
					if err != nil {
						res.err = err
						return
					}
					defer c.Close()
					b := player.NewBot(c, actEvery)
					rctx, rcancel := context.WithCancel(ctx)
					defer rcancel()
					// The run counts ticks from where the surface was when the bot
					// caught up with it, not the replay of the log since the checkpoint.
					var until uint64
					err = c.Run(rctx, func(t uint64) {
						b.OnTick(t)
						if until == 0 {
							until = c.Stats().ServerTick + ticks
							res.start = t
						}
						res.ran = t - res.start + 1
						if t >= until {
							rcancel()
						}
					})
					res.st, res.applied, res.rejected, res.end = c.Stats(), b.Applied, b.Rejected, c.Sim.Tick()
					if err == nil && res.ran < ticks {
						err = fmt.Errorf("stopped after %d of %d ticks (timeout or interrupt)", res.ran, ticks)
					}
					res.err = err
				}(i)
			}
			wg.Wait()
			var out botJSON
			var costs []uint32
			var errs []error
			out.Ticks = ticks
			for _, r := range results {
				if r.err != nil {
					err := r.err
					if st, ok := status.FromError(err); ok {
						err = errors.New(st.Message()) // the node's words, not gRPC's framing
					}
					errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
				}
				out.Desyncs += r.st.Desyncs
				out.Actions += r.st.Actions
				out.Applied += r.applied
				out.Rejected += r.rejected
				unseen := max(r.st.Actions-r.applied-r.rejected-r.st.Refused, 0)
				out.Unseen += unseen
				out.Refused += r.st.Refused
				out.Ticks = min(out.Ticks, r.ran)
				costs = append(costs, r.st.TickCosts...)
				seen := ""
				if unseen > 0 {
					seen = fmt.Sprintf(", %d not seen: in flight at the end, or in ticks a rejoin from a checkpoint skipped", unseen)
				}
				if r.st.Refused > 0 {
					seen = fmt.Sprintf(", %d refused by the node", r.st.Refused) + seen
				}
				logf("%s: ticks %d..%d, %d actions sent (%d applied, %d rejected%s), %d desyncs", r.name, r.start, r.end, r.st.Actions, r.applied, r.rejected, seen, r.st.Desyncs)
			}
			if len(costs) > 0 {
				slices.Sort(costs)
				out.TickP99MS = float64(costs[(len(costs)*99)/100]) / 1000
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), out); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%d bots on %s: %d ticks, %d actions, %d desyncs, tick p99 %.2f ms\n", count, surface, out.Ticks, out.Actions, out.Desyncs, out.TickP99MS)
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			if out.Desyncs > 0 {
				fmt.Fprintf(stderr, "starlane: %d desyncs; see the reports on the node\n", out.Desyncs)
				return exitError{code: 3}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodeAddr, "node", "", nodeUsage)
	f.StringVar(&surface, "surface", "", "surface to join")
	f.IntVar(&count, "count", 1, "number of bots")
	f.Uint64Var(&ticks, "ticks", 600, "ticks each bot simulates before the run ends")
	f.Uint64Var(&actEvery, "act-every", 20, "each bot acts about once every this many ticks")
	f.StringVar(&prefix, "name-prefix", "bot", "bots are named PREFIX-1, PREFIX-2, ...")
	f.BoolVar(&asJSON, "json", false, `print {"desyncs","actions","applied","rejected","refused","unseen","ticks","tick_p99_ms"} as JSON`)
	f.BoolVar(&quiet, "quiet", false, "no per-bot lines on stderr")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (default: the ticks' game time plus 2m)")
	f.Uint64Var(&tamperAt, "tamper-at", 0, "corrupt the first bot's local state after this tick (a desync drill)")
	f.MarkHidden("tamper-at")
	auth.addFlags(f)
	tlsCfg.AddFlags(f)
	return cmd
}
