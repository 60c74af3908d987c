package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/status"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/validate"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// builtinMaps are the maps a surface can start from without a save file.
func builtinMaps() []string {
	var out []string
	for _, m := range sim.Maps() {
		out = append(out, m.Name)
	}
	return out
}

// surfaceJSON is the stable `surface get/list --json` shape.
type surfaceJSON struct {
	Name           string      `json:"name"`
	Planet         string      `json:"planet"`
	Seed           uint64      `json:"seed"`
	Map            string      `json:"map"`
	Bundle         string      `json:"bundle"`
	Replicas       uint32      `json:"replicas"`
	Pin            string      `json:"pin"`
	Primary        string      `json:"primary"`
	Standbys       []string    `json:"standbys"`
	Epoch          uint64      `json:"epoch"`
	PlacementError string      `json:"placement_error"`
	CreateIndex    uint64      `json:"create_index"`
	ModifyIndex    uint64      `json:"modify_index"`
	Stats          *statsJSON  `json:"stats"`
	Events         []eventJSON `json:"events,omitempty"`
	Index          uint64      `json:"index,omitempty"`
	// Stopped: kept in the catalog, running nowhere (surface stop); Stopping:
	// its primary is taking its final save.
	Stopped  bool `json:"stopped"`
	Stopping bool `json:"stopping,omitempty"`
	// AutosaveEveryTicks and AutosaveKeep are the values in effect (the defaults,
	// 5 min and 5, when none were set).
	AutosaveEveryTicks uint64 `json:"autosave_every_ticks"`
	AutosaveKeep       uint32 `json:"autosave_keep"`
	LastAutosaveTick   uint64 `json:"last_autosave_tick"`
	// Replication: standby mode, synced set, per-standby lag, moves.
	Replication *replicationJSON `json:"replication"`
	// Status is the STATUS column of surface list: placed, stopped, stopping,
	// failed: …, stale: …, problem: …, moving to …, waiting for placement, ….
	Status string `json:"status"`
}

type statsJSON struct {
	Tick          uint64  `json:"tick"`
	ConfirmedTick uint64  `json:"confirmed_tick"`
	StateHash     string  `json:"state_hash"`
	UPS           float64 `json:"ups"`
	TickCostUS    uint64  `json:"tick_cost_us"`
	EntityCount   uint64  `json:"entity_count"`
	Reported      int64   `json:"reported_unix_ms"`
	// AgeMS is how old the primary's report is; Stale says it is too old to be
	// live (the primary's node has missed two heartbeats).
	AgeMS  int64           `json:"age_ms"`
	Stale  bool            `json:"stale"`
	Shards []nodeShardJSON `json:"shards"`
	// Production is the primary's production panel (absent until it reports).
	Production *productionJSON `json:"production,omitempty"`
}

type productionJSON struct {
	SPM   float64              `json:"spm"`
	Items []itemProductionJSON `json:"items"`
}

type itemProductionJSON struct {
	Item              string  `json:"item"`
	Produced          int64   `json:"produced"`
	Consumed          int64   `json:"consumed"`
	ProducedPerMinute float64 `json:"produced_per_minute"`
	ConsumedPerMinute float64 `json:"consumed_per_minute"`
}

func toProductionJSON(p *pb.ProductionStats) *productionJSON {
	if p == nil {
		return nil
	}
	out := &productionJSON{SPM: p.Spm, Items: []itemProductionJSON{}}
	for _, it := range p.Items {
		out.Items = append(out.Items, itemProductionJSON{Item: it.Item, Produced: it.Produced, Consumed: it.Consumed,
			ProducedPerMinute: it.ProducedPerMinute, ConsumedPerMinute: it.ConsumedPerMinute})
	}
	return out
}

type nodeShardJSON struct {
	Node string `json:"node"`
	shardJSON
}

type eventJSON struct {
	Index   uint64 `json:"index"`
	Time    string `json:"time"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func toSurfaceJSON(s *pb.Surface) surfaceJSON {
	out := surfaceJSON{Name: s.Name, Planet: s.Planet, Seed: s.Seed, Map: s.Map, Bundle: s.BundleHash, Replicas: s.Replicas,
		Pin: s.Pin, Primary: s.GetAssignment().GetPrimary(), Standbys: s.GetAssignment().GetStandbys(),
		Epoch: s.GetAssignment().GetEpoch(), PlacementError: s.PlacementError, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
		Stopped: s.Stopped, Stopping: s.StopRequested, AutosaveEveryTicks: controller.AutosaveEvery(s), AutosaveKeep: uint32(controller.AutosaveKeep(s)), LastAutosaveTick: s.LastAutosaveTick}
	if out.Standbys == nil {
		out.Standbys = []string{}
	}
	out.Replication = toReplicationJSON(s)
	if st := s.Stats; st != nil {
		out.Stats = &statsJSON{Tick: st.Tick, ConfirmedTick: st.ConfirmedTick, StateHash: st.StateHash, UPS: float64(st.UpsMilli) / 1000,
			TickCostUS: st.TickCostUs, EntityCount: st.EntityCount, Reported: st.ReportedUnixMs, AgeMS: st.AgeMs, Stale: st.Stale, Shards: []nodeShardJSON{},
			Production: toProductionJSON(st.Production)}
		for _, sh := range st.Shards {
			out.Stats.Shards = append(out.Stats.Shards, nodeShardJSON{Node: sh.Node, shardJSON: shardToJSON(sh.Stats)})
		}
	}
	out.Status = ctlclient.SurfaceStatus(s)
	return out
}

// upsColumn is the UPS column of surface list: "-" unless st carries a live
// rate of the current primary. A primary reports 0 UPS until its first window
// closes (right after a start, a promotion or a move): a rate it has not
// measured yet, not a stall, as any closed window counts at least one tick.
func upsColumn(st *statsJSON) string {
	if st == nil || st.Reported == 0 || st.Stale || st.UPS <= 0 {
		return "-"
	}
	return strconv.FormatFloat(st.UPS, 'f', 1, 64)
}

func newSurfaceCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "surface",
		Short: "Create, inspect and place surfaces (planets)",
	}
	o.add(cmd)

	var (
		mapName     string
		fromSave    string
		seed        uint64
		replicas    uint32
		node        string
		planet      string
		bundle      string
		standbyMode string
		autoEvery   string
		autoKeep    uint32
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a surface; the scheduler places it on a node",
		Example: `  starlane surface create nauvis --map megabase-10k --seed 42 --replicas 2
  starlane surface create gleba --node n2 --bundle space-age`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var upload []byte
			var uploadInfo sim.SaveInfo
			if fromSave != "" && cmd.Flags().Changed("map") {
				return errors.New("give --map or --save, not both")
			}
			for _, f := range []struct{ flag, value, hint string }{
				{"planet", planet, "one of " + strings.Join(sim.PlanetNames(), ", ") + ", or leave out --planet for nauvis"},
				{"map", mapName, "a built-in map or a save file, or leave out --map"},
				{"save", fromSave, "a save's name or sha256 (see 'starlane save list'), or leave out --save"},
			} {
				if cmd.Flags().Changed(f.flag) && strings.TrimSpace(f.value) == "" {
					return fmt.Errorf("--%s is empty: give %s", f.flag, f.hint)
				}
			}
			if fromSave != "" {
				mapName = ""
			}
			fromFile := fromSave == "" && !isBuiltinMap(mapName)
			if fromSave != "" || fromFile {
				// A save's state has its planet and seed: a flag could only
				// contradict it.
				for _, f := range []string{"planet", "seed"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("--%s: a surface made from a save has the save's %s; leave out --%s", f, f, f)
					}
				}
				planet = ""
			}
			bundleHash := ""
			if fromSave == "" && !isBuiltinMap(mapName) {
				// A save file is uploaded first: the controllers keep it by hash
				// and nodes fetch it from them, so it need not exist on any node.
				data, info, err := readSaveFile("--map", mapName)
				if err != nil {
					return err
				}
				bundleHash = info.BundleHash
				upload, uploadInfo = data, info
			}
			if bundle == "" && bundleHash == "" && fromSave == "" {
				// A built-in map runs with this build's bundle; a save names its own.
				bundleHash = sim.DefaultBundle().Hash()
			}
			mode, err := parseStandbyMode(standbyMode)
			if err != nil {
				return fmt.Errorf("--standby-mode: %w", err)
			}
			var autoTicks uint64
			if autoEvery != "" {
				if autoTicks, err = gameTicks("--autosave-every", autoEvery); err != nil {
					return err
				}
			}
			rid := ctlclient.NewRequestID()
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				req := &pb.CreateSurfaceRequest{RequestId: rid, Name: args[0], Planet: planet, Seed: seed,
					Map: mapName, Bundle: bundle, BundleHash: bundleHash, Replicas: replicas, Pin: node, StandbyMode: mode, FromSave: fromSave,
					AutosaveEveryTicks: autoTicks, AutosaveKeep: autoKeep}
				if upload != nil {
					up, err := uploadSave(ctx, cl, saveNameOf(mapName), upload, uploadInfo, cmd.ErrOrStderr())
					if err != nil {
						return fmt.Errorf("upload %s: %s", mapName, status.Convert(err).Message())
					}
					req.Map, req.FromSave = "", up.Save.Sha256
				}
				var r *pb.CreateSurfaceResponse
				err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) (err error) {
					r, err = c.CreateSurface(ctx, req)
					return err
				})
				if err != nil {
					return err
				}
				if replicas > 0 {
					_ = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
						noteReplicas(ctx, c, cmd.ErrOrStderr(), int(replicas))
						return nil
					})
				}
				if o.json {
					js := toSurfaceJSON(r.Surface)
					js.Index = r.Index
					return printJSON(cmd.OutOrStdout(), js)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created surface %s (index %d); see `starlane surface get %s` for its placement\n", args[0], r.Index, args[0])
				return nil
			})
		},
	}
	cf := create.Flags()
	cf.StringVar(&mapName, "map", "starter", "a built-in map (see 'starlane sim maps') or a save file, which is uploaded first (starlane save upload)")
	cf.StringVar(&fromSave, "save", "", "start from an uploaded save, by name or sha256 (see 'starlane save list')")
	cf.Uint64Var(&seed, "seed", 0, "map generation seed")
	cf.Uint32Var(&replicas, "replicas", 0, "copies to keep: the primary plus replicas-1 standbys on other nodes (0: one standby when the cluster has two or more nodes up)")
	cf.StringVar(&standbyMode, "standby-mode", "hot", "hot: standbys simulate and compare hashes with the primary; warm: they only store")
	cf.StringVar(&node, "node", "", "pin the primary to this node")
	cf.StringVar(&autoEvery, "autosave-every", "", "autosave interval in game time, such as 5m (default 5m)")
	cf.Uint32Var(&autoKeep, "autosave-keep", 0, "how many autosaves to keep (default 5)")
	cf.StringVar(&planet, "planet", "nauvis", "planet type")
	cf.StringVar(&bundle, "bundle", "", "prototype bundle the surface runs with, by name or hash (see 'starlane bundle list'; default: the save's, or the built-in bundle)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List surfaces with their placement",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := ctlclient.ListSurfaces(ctx, c)
				if err != nil {
					return err
				}
				if o.json {
					out := []surfaceJSON{}
					for _, s := range r.Surfaces {
						out = append(out, toSurfaceJSON(s))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPLANET\tPRIMARY\tSTANDBYS\tEPOCH\tUPS\tSTATUS")
				for _, s := range r.Surfaces {
					js := toSurfaceJSON(s)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", js.Name, js.Planet, orDash(js.Primary), orDash(strings.Join(js.Standbys, ",")), js.Epoch, upsColumn(js.Stats), validate.Escape(js.Status))
				}
				return tw.Flush()
			})
		},
	}

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a surface: placement, epoch, stats and recent events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: args[0]})
				if err != nil {
					return err
				}
				js := toSurfaceJSON(r.Surface)
				js.Index = r.Index
				js.Events = []eventJSON{}
				for _, e := range r.Events {
					js.Events = append(js.Events, eventJSON{Index: e.Index, Time: time.UnixMilli(e.UnixMs).UTC().Format(time.RFC3339), Kind: e.Kind, Message: e.Message})
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), js)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "surface:   %s\nplanet:    %s\nmap:       %s (seed %d)\nbundle:    %s\nreplicas:  %d\npin:       %s\nprimary:   %s\nstandbys:  %s\nepoch:     %d\n",
					js.Name, js.Planet, js.Map, js.Seed, orDash(js.Bundle), js.Replicas, orDash(js.Pin), orDash(js.Primary), orDash(strings.Join(js.Standbys, ", ")), js.Epoch)
				if js.Stopped {
					fmt.Fprintf(w, "state:     stopped (start it with: starlane surface start %s)\n", js.Name)
				} else if js.Stopping {
					fmt.Fprintf(w, "state:     stopping (its primary is taking its final save)\n")
				}
				if js.PlacementError != "" {
					fmt.Fprintf(w, "problem:   %s\n", validate.Escape(js.PlacementError))
				}
				if st := js.Stats; st != nil {
					ups := fmt.Sprintf("%.1f UPS", st.UPS)
					if st.UPS == 0 {
						ups = "- UPS (not measured yet)"
					}
					fmt.Fprintf(w, "tick:      %d (confirmed %d), %s, %d us/tick, %d entities, hash %s\n", st.Tick, st.ConfirmedTick, ups, st.TickCostUS, st.EntityCount, orDash(st.StateHash))
				}
				if js.Primary != "" {
					printReplication(w, js.Replication)
				}
				fmt.Fprintln(w, "\nevents:")
				for _, e := range js.Events {
					fmt.Fprintf(w, "  %s  #%d  %s  %s\n", e.Time, e.Index, e.Kind, validate.Escape(e.Message))
				}
				return nil
			})
		},
	}

	var yes bool
	del := &cobra.Command{
		Use:   "delete NAME --yes",
		Short: "Delete a surface with its state, its autosaves and the bridges to and from it",
		Long: `Delete a surface: its running state, its autosaves and the save its last stop
took (unless another surface starts from the same content), its assignment and the
bridges to and from it. Nothing of it can be brought back afterwards; keep a save
first (starlane surface save NAME --out FILE, or starlane save download). Without
--yes it only says what would be lost.`,
		Example: "  starlane surface delete vulcanus          # says what would be lost\n  starlane surface delete vulcanus --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			rid := ctlclient.NewRequestID()
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var sf *pb.Surface
				bridges := []string{}
				err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
					if err != nil {
						return err
					}
					sf = r.GetSurface()
					// The bridges go with the surface: name them.
					br, err := ctlclient.ListBridges(ctx, c)
					if err != nil {
						return err
					}
					bridges = bridges[:0]
					for _, b := range br.Bridges {
						if b.FromSurface == name || b.ToSurface == name {
							bridges = append(bridges, b.Id)
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				if !yes {
					saves, err := surfaceSaves(ctx, cl, name)
					if err != nil {
						return err
					}
					state := "its state"
					if t := sf.GetStats().GetConfirmedTick(); t > 0 {
						state = fmt.Sprintf("its state at tick %d (%s of game time)", t, ticksAsTime(t))
					}
					lost := []string{state, words.Plural(len(saves), "save") + " of its own"}
					if len(bridges) > 0 {
						lost = append(lost, words.Plural(len(bridges), "bridge")+" ("+strings.Join(bridges, ", ")+")")
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "starlane: deleting surface %s loses %s; nothing of it can be brought back.\nKeep a save first (starlane surface save %s --out FILE) if you may want it. Add --yes to delete.\n",
						name, strings.Join(lost, ", "), name)
					return exitError{1}
				}
				return cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					r, err := c.DeleteSurface(ctx, &pb.DeleteSurfaceRequest{RequestId: rid, Name: name})
					if err != nil {
						return err
					}
					also := ""
					if len(bridges) > 0 {
						also = " and its " + words.Plural(len(bridges), "bridge") + ": " + strings.Join(bridges, ", ")
					}
					return done(cmd, o, map[string]any{"deleted": name, "bridges_deleted": bridges, "index": r.Index}, "deleted surface %s%s", name, also)
				})
			})
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm: the surface's state, autosaves and bridges are lost")

	var unpin bool
	pin := &cobra.Command{
		Use:   "pin NAME NODE | pin NAME --unpin",
		Short: "Pin a surface's primary to a node (or unpin it)",
		Args: func(cmd *cobra.Command, args []string) error {
			if unpin && len(args) != 1 || !unpin && len(args) != 2 {
				return fmt.Errorf("usage: starlane surface pin NAME NODE, or starlane surface pin NAME --unpin")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			node := ""
			if !unpin {
				node = args[1]
			}
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.PinSurface(ctx, &pb.PinSurfaceRequest{RequestId: rid, Name: args[0], Node: node})
				if err != nil {
					return err
				}
				if unpin {
					return done(cmd, o, map[string]any{"surface": args[0], "pin": "", "index": r.Index}, "surface %s unpinned", args[0])
				}
				return done(cmd, o, map[string]any{"surface": args[0], "pin": node, "index": r.Index}, "surface %s pinned to %s", args[0], node)
			})
		},
	}
	pin.Flags().BoolVar(&unpin, "unpin", false, "remove the pin")

	reps := &cobra.Command{
		Use:   "replicas NAME R",
		Short: "Set how many copies (primary + standbys) a surface keeps",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseUint(args[1], 10, 32)
			if err != nil || n < 1 {
				return fmt.Errorf("replicas %q: give a whole number of at least 1", args[1])
			}
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.SetSurfaceReplicas(ctx, &pb.SetSurfaceReplicasRequest{RequestId: rid, Name: args[0], Replicas: uint32(n)})
				if err != nil {
					return err
				}
				noteReplicas(ctx, c, cmd.ErrOrStderr(), int(n))
				return done(cmd, o, map[string]any{"surface": args[0], "replicas": n, "index": r.Index}, "surface %s keeps %s", args[0], words.Plural(int(n), "replica"))
			})
		},
	}
	cmd.AddCommand(create, list, get, del, pin, reps, newSurfaceSaveCmd(o), newSurfaceMoveCmd(o), newSurfaceStandbyModeCmd(o), newSurfaceMapCmd(o))
	cmd.AddCommand(newSurfaceLifecycleCmds(o)...)
	return cmd
}

// noteReplicas says on w when n copies are more than the nodes that can hold one:
// accepted (nodes may join), but the missing copies wait for them.
func noteReplicas(ctx context.Context, c pb.ClusterServiceClient, w io.Writer, n int) {
	nl, err := c.ListNodes(ctx, &pb.ListNodesRequest{})
	if err != nil {
		return
	}
	usable := 0
	for _, nd := range nl.Nodes {
		if nd.Status == pb.NodeStatus_NODE_STATUS_UP && !nd.Cordoned {
			usable++
		}
	}
	if n <= usable {
		return
	}
	are, wait := "s are", ""
	if usable == 1 {
		are = " is"
	}
	if n-usable == 1 {
		wait = "s"
	}
	fmt.Fprintf(w, "starlane: note: %d copies asked, but %d node%s up and uncordoned: %s wait%s for more nodes (each copy is on its own node)\n",
		n, usable, are, words.Plural(n-usable, "copy"), wait)
}

func isBuiltinMap(m string) bool {
	for _, b := range builtinMaps() {
		if m == b {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readSaveFile reads a save to send as content and checks it here first: a
// save that no node could load (not a save, corrupt, from a newer Starlane, too
// large) fails now, not later in a status column. what names the argument in
// messages ("--map" for surface create, "" for a plain file argument).
func readSaveFile(what, name string) ([]byte, sim.SaveInfo, error) {
	var info sim.SaveInfo
	label := name
	if what != "" {
		label = what + " " + name
	}
	f, err := os.Open(name)
	if err != nil {
		if what == "--map" {
			return nil, info, fmt.Errorf("--map %q is neither a built-in map (%s) nor a readable save file", name, strings.Join(builtinMaps(), ", "))
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once
		}
		return nil, info, fmt.Errorf("%s is not a readable save file: %v", label, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, info, fmt.Errorf("%s is a directory: give a save file", label)
	}
	data, err := io.ReadAll(io.LimitReader(f, validate.MaxSaveBytes+1))
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", label, err)
	}
	if len(data) > validate.MaxSaveBytes {
		return nil, info, fmt.Errorf("%s is over the %d MiB limit of a save", label, validate.MaxSaveBytes>>20)
	}
	if info, err = sim.ReadSaveInfo(bytes.NewReader(data)); err != nil {
		return nil, info, fmt.Errorf("%s: %w", label, err)
	}
	return data, info, nil
}
