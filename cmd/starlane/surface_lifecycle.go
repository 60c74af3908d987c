package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// ticksPerSecond is the game's tick rate; autosave intervals are game time.
const ticksPerSecond = sim.TicksPerSecond

// gameTicks reads a game-time duration ("5m", "90s") as ticks.
func gameTicks(flag, v string) (uint64, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%s %q: give a duration of game time of at least 1s, such as 5m or 90s", flag, v)
	}
	if d > maxGameDuration {
		return 0, fmt.Errorf("%s %q: at most %v of game time", flag, v, maxGameDuration)
	}
	// Whole seconds and the rest apart: 1/60 s is not a whole number of
	// nanoseconds, and dividing by it counted 172 ticks too many in 20000h.
	return uint64(d/time.Second)*ticksPerSecond + uint64(d%time.Second)*ticksPerSecond/uint64(time.Second), nil
}

// maxGameDuration bounds the game-time intervals operators give (autosaves).
const maxGameDuration = 10_000 * time.Hour

func ticksAsTime(t uint64) string {
	d := time.Duration(t/ticksPerSecond)*time.Second + time.Duration(t%ticksPerSecond)*time.Second/ticksPerSecond
	return d.Round(10 * time.Millisecond).String()
}

// rollbackBridgeNote is what a rollback does to items on bridges; the docs
// (docs/saves.md) say the same.
const rollbackBridgeNote = `bridges: exactness across a rollback is not guaranteed. The other end keeps its state:
  items this surface sent after the save's tick stay delivered there, and the copies of them
  the rolled-back state exports again are dropped as already delivered (its outbox restarts
  from the save's numbers); items it received after that tick are lost and counted as
  lost_seqs by starlane bridge get`

type autosaveJSON struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Tick      uint64 `json:"tick"`
	StateHash string `json:"state_hash"`
	Sha256    string `json:"sha256"`
	Size      uint64 `json:"size"`
	Created   string `json:"created"`
	AgeS      int64  `json:"age_s"`
}

func newSurfaceLifecycleCmds(o *opFlags) []*cobra.Command {
	stop := &cobra.Command{
		Use:   "stop NAME",
		Short: "Stop a surface: its primary takes a final save; it stays in the catalog, running nowhere",
		Long: `Stop a surface. Its primary freezes, saves its state at its last confirmed tick,
uploads that save to the controllers and releases the surface: it stays in the catalog,
running on no node, until starlane surface start, which resumes it from that save at
the same tick and state hash on any node. Bridges to and from it pause; items wait in
the sending surface's outbox (and its export port) and none are lost or duplicated.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			rid := ctlclient.NewRequestID()
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					_, err := c.StopSurface(ctx, &pb.StopSurfaceRequest{RequestId: rid, Name: name})
					return err
				})
				if err != nil {
					return err
				}
				var sf *pb.Surface
				started, said := time.Now(), time.Time{}
				for {
					err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
						r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
						sf = r.GetSurface()
						return err
					})
					if err != nil {
						return err
					}
					if waited := time.Since(started); !sf.Stopped && waited > 2*time.Second && time.Since(said) > 5*time.Second {
						said = time.Now()
						why := ""
						if p := sf.GetPlacementError(); p != "" {
							// Its node down, say: the stop waits for it or for a failover.
							why = "; meanwhile: " + p
						}
						fmt.Fprintf(cmd.ErrOrStderr(), "starlane: waiting %v for %s to take %s's final save and record it (until --timeout %v)%s\n",
							waited.Round(time.Second), orDash(sf.GetAssignment().GetPrimary()), name, o.timeout, why)
					}
					if sf.Stopped {
						break
					}
					select {
					case <-ctx.Done():
						return fmt.Errorf("surface %s is still stopping: its final save was not recorded within --timeout %v; the stop goes on by itself and completes once its primary (%s) takes the save; see starlane surface get %s",
							name, o.timeout, orDash(sf.GetAssignment().GetPrimary()), name)
					case <-time.After(200 * time.Millisecond):
					}
				}
				if sf.SaveSha256 == "" {
					// It never ran: there is no save, it starts from its map again.
					return done(cmd, o, map[string]any{"surface": name, "stopped": true, "save": "", "map": sf.Map, "tick": 0, "state_hash": "", "sha256": ""},
						"stopped surface %s; it never ran, so it has no save: started again, it begins from map %s (starlane surface start %s)", name, sf.Map, name)
				}
				sv := &pb.SaveInfo{Name: sf.SaveSha256}
				if r, err := getSave(ctx, cl, sf.SaveSha256); err == nil {
					sv = r.Save
				}
				return done(cmd, o, map[string]any{"surface": name, "stopped": true, "save": sv.Name, "tick": sv.Tick, "state_hash": sv.StateHash, "sha256": sv.Sha256},
					"stopped surface %s at tick %d (state hash %s); its state is save %s; start it with: starlane surface start %s", name, sv.Tick, orDash(sv.StateHash), sv.Name, name)
			})
		},
	}

	start := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a stopped surface from the save its stop took, on any node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.StartSurface(ctx, &pb.StartSurfaceRequest{RequestId: rid, Name: args[0]})
				if err != nil {
					return err
				}
				sv := r.GetSave()
				if sv.GetName() == "" {
					return done(cmd, o, map[string]any{"surface": args[0], "save": "", "tick": 0, "state_hash": "", "index": r.Index},
						"started surface %s; it never ran, so it begins from its map; see starlane surface get %s for its placement", args[0], args[0])
				}
				return done(cmd, o, map[string]any{"surface": args[0], "save": sv.GetName(), "tick": sv.GetTick(), "state_hash": sv.GetStateHash(), "index": r.Index},
					"started surface %s; it resumes from save %s at tick %d; see starlane surface get %s for its placement", args[0], orDash(sv.GetName()), sv.GetTick(), args[0])
			})
		},
	}

	saves := &cobra.Command{
		Use:   "saves NAME",
		Short: "List a surface's autosaves (and the save its last stop took), newest last",
		Long: `List a surface's autosaves: each surface keeps its newest few (starlane surface
autosave sets how many and how often). Each is a save of the cluster: starlane save
download NAME --out FILE fetches one, and starlane surface rollback restarts from one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					_, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: args[0]})
					return err
				})
				if err != nil {
					return err
				}
				list, err := surfaceSaves(ctx, cl, args[0])
				if err != nil {
					return err
				}
				now := time.Now()
				out := []autosaveJSON{}
				for _, sv := range list {
					out = append(out, autosaveJSON{Name: sv.Name, Kind: sv.Kind, Tick: sv.Tick, StateHash: sv.StateHash, Sha256: sv.Sha256, Size: sv.Size,
						Created: time.UnixMilli(sv.CreatedUnixMs).UTC().Format(time.RFC3339), AgeS: int64(now.Sub(time.UnixMilli(sv.CreatedUnixMs)).Seconds())})
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				if len(out) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "surface %s has no autosaves yet\n", args[0])
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "TICK\tAGE\tSIZE\tKIND\tSTATE HASH\tSHA256\tNAME")
				for _, s := range out {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Tick, (time.Duration(s.AgeS) * time.Second).String(), humanBytes(s.Size), s.Kind, orDash(s.StateHash), s.Sha256[:12], s.Name)
				}
				return w.Flush()
			})
		},
	}

	var to string
	var yes bool
	rollback := &cobra.Command{
		Use:   "rollback NAME --to TICK|SAVE --yes",
		Short: "Restart a surface from one of its saves at a new epoch (everything after it is lost)",
		Long: `Restart a surface from one of its autosaves (by tick) or any save (by name or sha256)
at a new epoch. Everything the surface did after that save is lost. Without --yes it
only says what would be lost.

` + rollbackBridgeNote,
		Example: "  starlane surface saves nauvis\n  starlane surface rollback nauvis --to 36000 --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if to == "" {
				return errors.New("--to TICK|SAVE is required: a tick of one of the surface's autosaves (see starlane surface saves " + name + ") or a save's name or sha256")
			}
			req := &pb.RollbackSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name}
			if t, err := strconv.ParseUint(to, 10, 64); err == nil {
				req.Tick = t
			} else {
				req.Save = to
			}
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var sf *pb.Surface
				err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
					sf = r.GetSurface()
					return err
				})
				if err != nil {
					return err
				}
				target, err := rollbackTarget(ctx, cl, name, req)
				if err != nil {
					return err
				}
				if why := controller.RollbackRefusal(sf, target); why != "" {
					return errors.New(why)
				}
				cur := sf.GetStats().GetConfirmedTick()
				lost := "everything it did after that tick"
				if cur > target.Tick {
					lost = fmt.Sprintf("%d ticks (%s of game time: it is at tick %d)", cur-target.Tick, ticksAsTime(cur-target.Tick), cur)
				}
				bridges := 0
				err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					br, err := ctlclient.ListBridges(ctx, c)
					if err != nil {
						return err
					}
					bridges = 0
					for _, b := range br.Bridges {
						if b.FromSurface == name || b.ToSurface == name {
							bridges++
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				if !yes {
					fmt.Fprintf(cmd.ErrOrStderr(), "starlane: rolling %s back to save %s (tick %d) loses %s; %s touch it.\n%s\nAdd --yes to roll back.\n",
						name, target.Name, target.Tick, lost, words.Plural(bridges, "bridge"), rollbackBridgeNote)
					return exitError{1}
				}
				var r *pb.RollbackSurfaceResponse
				err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) (err error) {
					r, err = c.RollbackSurface(ctx, req)
					return err
				})
				if err != nil {
					return err
				}
				if !o.json && bridges > 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), rollbackBridgeNote)
				}
				return done(cmd, o, map[string]any{"surface": name, "save": r.Save.GetName(), "tick": r.Save.GetTick(), "state_hash": r.Save.GetStateHash(),
					"bridges": bridges, "exact_across_bridges": bridges == 0, "index": r.Index},
					"rolled %s back to save %s (tick %d, state hash %s); it restarts from it at a new epoch (lost: %s)", name, r.Save.GetName(), r.Save.GetTick(), orDash(r.Save.GetStateHash()), lost)
			})
		},
	}
	rollback.Flags().StringVar(&to, "to", "", "the tick of one of the surface's autosaves, or a save's name or sha256")
	rollback.Flags().BoolVar(&yes, "yes", false, "confirm: what the surface did after the save is lost")

	var every string
	var keep uint32
	autosave := &cobra.Command{
		Use:     "autosave NAME [--every DURATION] [--keep N]",
		Short:   "Set how often a surface autosaves (game time) and how many autosaves it keeps",
		Example: "  starlane surface autosave nauvis --every 10m --keep 12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ticks uint64
			if every != "" {
				t, err := gameTicks("--every", every)
				if err != nil {
					return err
				}
				ticks = t
			}
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.SetSurfaceAutosave(ctx, &pb.SetSurfaceAutosaveRequest{RequestId: rid, Name: args[0], EveryTicks: ticks, Keep: keep})
				if err != nil {
					return err
				}
				return done(cmd, o, map[string]any{"surface": args[0], "every_ticks": ticks, "keep": keep, "index": r.Index},
					"surface %s autosaves every %s of game time and keeps %s", args[0], orDefault(ticks, ticksAsTime(ticks), "5m0s"), orDefault(uint64(keep), fmt.Sprint(keep), "5"))
			})
		},
	}
	autosave.Flags().StringVar(&every, "every", "", "interval in game time, such as 5m (default 5m)")
	autosave.Flags().Uint32Var(&keep, "keep", 0, "how many autosaves to keep (default 5)")
	return []*cobra.Command{stop, start, saves, rollback, autosave}
}

func orDefault(v uint64, s, def string) string {
	if v == 0 {
		return def
	}
	return s
}

// surfaceSaves lists a surface's autosaves and stop saves, oldest first.
func surfaceSaves(ctx context.Context, cl *ctlclient.Client, surface string) ([]*pb.SaveInfo, error) {
	var r *pb.ListSavesResponse
	err := cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		r, err = pb.NewSaveServiceClient(cc).ListSaves(ctx, &pb.ListSavesRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*pb.SaveInfo
	for _, sv := range r.Saves {
		if sv.AutosaveOf == surface {
			out = append(out, sv)
		}
	}
	slices.SortStableFunc(out, func(a, b *pb.SaveInfo) int {
		if a.CreateIndex != b.CreateIndex {
			if a.CreateIndex < b.CreateIndex {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// rollbackTarget finds the save a rollback request names.
func rollbackTarget(ctx context.Context, cl *ctlclient.Client, surface string, req *pb.RollbackSurfaceRequest) (*pb.SaveInfo, error) {
	if req.Save != "" {
		r, err := getSave(ctx, cl, req.Save)
		if err != nil {
			return nil, err
		}
		return r.Save, nil
	}
	list, err := surfaceSaves(ctx, cl, surface)
	if err != nil {
		return nil, err
	}
	var ticks []string
	for _, sv := range list {
		if sv.Tick == req.Tick {
			return sv, nil
		}
		ticks = append(ticks, fmt.Sprint(sv.Tick))
	}
	if len(ticks) == 0 {
		ticks = []string{"none yet"}
	}
	return nil, status.Errorf(codes.NotFound, "surface %s has no save at tick %d (its saves are at ticks: %s; see: starlane surface saves %s)", surface, req.Tick, strings.Join(ticks, ", "), surface)
}
