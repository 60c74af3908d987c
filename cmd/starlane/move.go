package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Live moves, drains and standby modes: `starlane surface move`, `starlane node
// drain`, `starlane surface standby-mode`.

// moveJSON is the stable `surface move --json` shape, and one entry of `node drain
// --json`'s moves.
type moveJSON struct {
	Surface string `json:"surface"`
	From    string `json:"from"`
	To      string `json:"to"`
	Epoch   uint64 `json:"epoch"`
	// SwitchTick is the old primary's last tick; the new one continued after it.
	SwitchTick uint64 `json:"switch_tick"`
	// PauseMS is from the old primary's last tick to the new one's first (the
	// nodes' clocks; -1 if the new primary did not report it in time).
	PauseMS int64 `json:"pause_ms"`
	// CatchUpMS is from the start of the move until the old primary stopped.
	CatchUpMS  int64 `json:"catch_up_ms"`
	DurationMS int64 `json:"duration_ms"`
	Already    bool  `json:"already,omitempty"`
	// Promoted: the old primary failed during the hand-off and the target, a
	// synced standby by then, was promoted instead: the surface runs where asked,
	// nothing confirmed lost; Note says so.
	Promoted bool   `json:"promoted,omitempty"`
	Note     string `json:"note,omitempty"`
}

type drainJSON struct {
	Node          string     `json:"node"`
	Cordoned      bool       `json:"cordoned"`
	Moves         []moveJSON `json:"moves"`
	StandbysMoved []string   `json:"standbys_moved"`
	// StandbyMoves says where each moved standby copy went (standbys_moved names
	// the surfaces alone).
	StandbyMoves []standbyMoveJSON `json:"standby_moves"`
	// StandbysDropped are the standby copies that left the node with no
	// replacement elsewhere: those surfaces now run with fewer standbys than asked.
	StandbysDropped []droppedJSON `json:"standbys_dropped"`
	DurationMS      int64         `json:"duration_ms"`
}

// standbysShort says whether sf has fewer standbys than it asks for, and by how
// many, with the scheduler's reason (a default while it has given none).
func standbysShort(sf *pb.Surface) (droppedJSON, bool) {
	have, wanted := len(sf.GetAssignment().GetStandbys()), max(int(sf.Replicas)-1, 0)
	reason := sf.PlacementError
	if reason == "" {
		reason = "the scheduler found no node for it"
	}
	return droppedJSON{Surface: sf.Name, Standbys: have, Wanted: wanted, Reason: reason}, have < wanted
}

// standbyMoveJSON is a standby copy a drain moved: To is the node that holds it now
// ("" if the drain could not tell).
type standbyMoveJSON struct {
	Surface string `json:"surface"`
	To      string `json:"to"`
}

// newStandby is the node in sf's standbys now that held no copy of it before.
func newStandby(sf *pb.Surface, before map[string]bool, drained string) string {
	for _, n := range sf.GetAssignment().GetStandbys() {
		if !before[n] && n != drained {
			return n
		}
	}
	return ""
}

// droppedJSON is a standby copy a drain could not put on another node.
type droppedJSON struct {
	Surface  string `json:"surface"`
	Standbys int    `json:"standbys"` // the surface's standbys after the drain
	Wanted   int    `json:"wanted"`
	Reason   string `json:"reason"`
}

func newSurfaceMoveCmd(o *opFlags) *cobra.Command {
	var to string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "move NAME [--to NODE]",
		Short: "Move a running surface to another node live: the target catches up, then takes over at an agreed tick",
		Long: `Move a surface's primary to another node without stopping it. The target
becomes a hot standby and catches up (progress is printed to stderr); then the
primary stops after a tick both agree on, the controller switches the epoch, and
the target continues after that tick. Players and bridge peers follow by
themselves; players see a pause of a few ticks. Without --to the controller
picks the node (a standby already in sync, else the least loaded).`,
		Example: `  starlane surface move nauvis --to n2
  starlane surface move nauvis --to n2 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if wait <= 0 {
				return fmt.Errorf("--wait must be positive")
			}
			cl, err := o.dial()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			res, err := moveSurface(ctx, cl, args[0], to, cmd.ErrOrStderr())
			if err != nil {
				return ctlclient.PlainError(err)
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			if res.Already {
				fmt.Fprintf(w, "surface %s already runs on %s\n", res.Surface, res.To)
				return nil
			}
			if res.Promoted {
				fmt.Fprintf(w, "surface %s now runs on %s as asked: %s\n", res.Surface, res.To, res.Note)
				return nil
			}
			pause := "not reported"
			if res.PauseMS >= 0 {
				pause = fmt.Sprintf("%d ms", res.PauseMS)
			}
			fmt.Fprintf(w, "moved %s from %s to %s after tick %d (epoch %d): paused %s, caught up in %d ms, %d ms in all\n",
				res.Surface, res.From, res.To, res.SwitchTick, res.Epoch, pause, res.CatchUpMS, res.DurationMS)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "node to move the primary to (default: the controller picks)")
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Minute, "give up waiting for the move after this long (the move itself goes on)")
	return cmd
}

// moveSurface starts a move and follows it to the end, printing progress to log.
func moveSurface(ctx context.Context, cl *ctlclient.Client, name, to string, log io.Writer) (moveJSON, error) {
	res, err := cl.StartMove(ctx, "", name, to)
	if err != nil {
		return moveJSON{}, err
	}
	out := moveJSON{Surface: name, From: res.From, To: res.Target, PauseMS: -1}
	if res.Already {
		out.Already = true
		return out, nil
	}
	fmt.Fprintf(log, "moving %s from %s to %s\n", name, res.From, res.Target)
	return followMove(ctx, cl, name, res.Target, res.Index, log)
}

// followMove waits for the move of name to target, started at index, to finish.
func followMove(ctx context.Context, cl *ctlclient.Client, name, target string, index uint64, log io.Writer) (moveJSON, error) {
	out := moveJSON{Surface: name, To: target, PauseMS: -1}
	last := ""
	for {
		var r *pb.GetSurfaceResponse
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
			return err
		})
		if err != nil {
			return out, err
		}
		sf := r.Surface
		a := sf.GetAssignment()
		if mv := sf.LastMove; mv != nil && mv.To == target && mv.Epoch > index && a.Primary == target {
			out.From, out.Epoch, out.SwitchTick = mv.From, mv.Epoch, mv.Tick
			out.CatchUpMS, out.DurationMS = max(mv.StopUnixMs-mv.StartedUnixMs, 0), max(mv.DoneUnixMs-mv.StartedUnixMs, 0)
			out.PauseMS = pauseOf(ctx, cl, name, target, mv)
			return out, nil
		}
		if sf.Migration == nil || sf.Migration.Target != target {
			why := "the controller gave it up"
			var promoted *pb.Event
			for i := len(r.Events) - 1; i >= 0; i-- {
				if e := r.Events[i]; e.Index > index && (e.Kind == "surface.move_failed" || e.Kind == "surface.promoted") {
					why = e.Message
					if e.Kind == "surface.promoted" {
						promoted = e
					}
					break
				}
			}
			if promoted != nil && a.Primary == target {
				// The old primary died during the hand-off and the target was
				// promoted: where the operator asked, nothing confirmed lost.
				out.Epoch, out.Promoted = a.Epoch, true
				out.Note = fmt.Sprintf("the old primary failed during the hand-off; %s was promoted instead (%s)", target, promoted.Message)
				return out, nil
			}
			return out, fmt.Errorf("the move of %s to %s did not finish: %s", name, target, why)
		}
		if p := moveProgress(sf, target); p != last {
			fmt.Fprintln(log, p)
			last = p
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("gave up waiting for the move of %s to %s (it goes on; see `starlane surface get %s`)", name, target, name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// moveProgress describes how far the target of a move is, from the primary's report.
func moveProgress(sf *pb.Surface, target string) string {
	if to := sf.GetAssignment().GetHandoffTo(); to == target {
		return fmt.Sprintf("  %s caught up; %s stops and hands over", target, sf.GetAssignment().GetPrimary())
	}
	for _, sh := range sf.GetStats().GetShards() {
		if sh.Node != sf.GetAssignment().GetPrimary() {
			continue
		}
		for _, r := range sh.Stats.GetReplicas() {
			if r.Node != target {
				continue
			}
			state := "catching up"
			if !r.Connected {
				state = "connecting"
			} else if !r.CatchingUp {
				state = "following"
			}
			return fmt.Sprintf("  %s %s: holds tick %d of %d, %d ticks (%s) behind", target, state, r.AckedTick, sh.Stats.GetTick(), r.LagTicks, bytesText(r.LagBytes))
		}
	}
	return fmt.Sprintf("  waiting for %s to start following", target)
}

// pauseOf waits briefly for the new primary's report of its first tick and
// returns the pause since the old primary stopped (-1 if not reported).
func pauseOf(ctx context.Context, cl *ctlclient.Client, name, target string, mv *pb.Move) int64 {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var r *pb.GetSurfaceResponse
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
			return err
		})
		if err == nil {
			for _, sh := range r.Surface.GetStats().GetShards() {
				if st := sh.Stats; sh.Node == target && st.GetEpoch() >= mv.Epoch && st.GetTermStartTick() == mv.Tick && st.GetTermStartUnixMs() > 0 {
					return max(st.TermStartUnixMs-mv.StopUnixMs, 0)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return -1
}

func bytesText(b uint64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func newNodeDrainCmd(o *opFlags) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "drain ID",
		Short: "Move every surface off a node, one by one, live; the node stays cordoned",
		Long: `Cordon the node (nothing new is placed on it), then move its surfaces away:
each primary moves live to another node (one at a time, as ` + "`surface move`" + ` does),
and each standby copy is replaced by one on another node that catches up from a
checkpoint, or dropped when no other node can hold one (said, with the reason and a
warning: the surface then runs with fewer standbys until a node can take them).
Returns when the node holds no surface. --json reports each move, the standbys moved
and the standbys dropped.
Uncordon with ` + "`starlane node uncordon ID`" + `.`,
		Example: `  starlane node drain n1
  starlane node drain n1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.dial()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			res, err := drainNode(ctx, cl, args[0], cmd.ErrOrStderr())
			if err != nil {
				return ctlclient.PlainError(err)
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			for _, m := range res.Moves {
				pause := "pause not reported"
				if m.PauseMS >= 0 {
					pause = fmt.Sprintf("paused %d ms", m.PauseMS)
				}
				fmt.Fprintf(w, "moved %s to %s after tick %d (%s)\n", m.Surface, m.To, m.SwitchTick, pause)
			}
			for _, m := range res.StandbyMoves {
				to := "another node"
				if m.To != "" {
					to = m.To
				}
				fmt.Fprintf(w, "standby copy of %s moved to %s\n", m.Surface, to)
			}
			for _, d := range res.StandbysDropped {
				fmt.Fprintf(w, "%s now has %d of %d standbys: a standby copy was dropped and no other node can hold one (%s)\n",
					d.Surface, d.Standbys, d.Wanted, d.Reason)
			}
			fmt.Fprintf(w, "node %s is drained and cordoned (%d ms)\n", res.Node, res.DurationMS)
			if n := len(res.StandbysDropped); n > 0 {
				verb := "have"
				if n == 1 {
					verb = "has"
				}
				fmt.Fprintf(w, "warning: %s %s fewer standbys than asked; uncordon a node or add one and the scheduler places them\n",
					words.Plural(n, "surface"), verb)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Minute, "give up waiting after this long (moves in progress go on)")
	return cmd
}

// drainNode cordons id and waits until it holds no surface, collecting the moves.
func drainNode(ctx context.Context, cl *ctlclient.Client, id string, log io.Writer) (drainJSON, error) {
	start := time.Now()
	out := drainJSON{Node: id, Moves: []moveJSON{}, StandbysMoved: []string{}, StandbyMoves: []standbyMoveJSON{}, StandbysDropped: []droppedJSON{}}
	// A surface pinned to the node cannot leave it, and nothing leaves when no other
	// node can take it: say so before touching anything.
	if _, err := cl.CheckDrain(ctx, id); err != nil {
		return out, err
	}
	// Which nodes held each surface's standbys before, to tell where a moved one went.
	before := map[string]map[string]bool{}
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		sr, err := ctlclient.ListSurfaces(ctx, c)
		for _, sf := range sr.GetSurfaces() {
			before[sf.Name] = map[string]bool{}
			for _, n := range sf.GetAssignment().GetStandbys() {
				before[sf.Name][n] = true
			}
		}
		return err
	}); err != nil {
		return out, err
	}
	cordonIndex, err := cl.Cordon(ctx, "", id, true)
	if err != nil {
		return out, err
	}
	out.Cordoned = true
	fmt.Fprintf(log, "cordoned %s; moving its surfaces away\n", id)
	held := map[string]pb.ShardRole{} // what the node held when the drain began
	var emptied time.Time             // when the node first held nothing
	reported := map[string]bool{}
	lastProblem := ""
	for {
		var nr *pb.GetNodeResponse
		var sr *pb.ListSurfacesResponse
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			if nr, err = c.GetNode(ctx, &pb.GetNodeRequest{Id: id}); err != nil {
				return err
			}
			sr, err = ctlclient.ListSurfaces(ctx, c)
			return err
		})
		if err != nil {
			return out, err
		}
		now := map[string]bool{}
		for _, a := range nr.Surfaces {
			now[a.Surface.GetName()] = true
			if _, ok := held[a.Surface.GetName()]; !ok {
				held[a.Surface.GetName()] = a.Role
			}
		}
		var problems []string
		for _, sf := range sr.Surfaces {
			name := sf.Name
			role, was := held[name]
			if !was || reported[name] {
				continue
			}
			if mv := sf.LastMove; role == pb.ShardRole_SHARD_ROLE_PRIMARY && mv != nil && mv.From == id && mv.Epoch > cordonIndex {
				m := moveJSON{Surface: name, From: mv.From, To: mv.To, Epoch: mv.Epoch, SwitchTick: mv.Tick,
					CatchUpMS: max(mv.StopUnixMs-mv.StartedUnixMs, 0), DurationMS: max(mv.DoneUnixMs-mv.StartedUnixMs, 0)}
				m.PauseMS = pauseOf(ctx, cl, name, mv.To, mv)
				out.Moves = append(out.Moves, m)
				reported[name] = true
				fmt.Fprintf(log, "  moved %s to %s after tick %d\n", name, m.To, m.SwitchTick)
				continue
			}
			if role == pb.ShardRole_SHARD_ROLE_STANDBY && !now[name] {
				// The scheduler drops a copy and places its replacement in one
				// assignment, so the surface's standbys now say which it was.
				reported[name] = true
				if d, short := standbysShort(sf); short {
					out.StandbysDropped = append(out.StandbysDropped, d)
				} else {
					out.StandbysMoved = append(out.StandbysMoved, name)
					out.StandbyMoves = append(out.StandbyMoves, standbyMoveJSON{Surface: name, To: newStandby(sf, before[name], id)})
				}
				continue
			}
			if now[name] && sf.PlacementError != "" {
				problems = append(problems, name+": "+sf.PlacementError)
			}
			if now[name] && sf.Migration != nil {
				if p := moveProgress(sf, sf.Migration.Target); p != "" {
					problems = append(problems, name+":"+p)
				}
			}
		}
		if len(now) == 0 && emptied.IsZero() {
			emptied = time.Now()
		}
		// A primary that moved onto the node holding its only standby, with no
		// other node to take a new one, is short of standbys too. The scheduler
		// places the new standby (or says why it cannot) a moment after the move:
		// wait for that, up to a few seconds.
		var short []droppedJSON
		settled := true
		if len(now) == 0 {
			for _, sf := range sr.Surfaces {
				if _, was := held[sf.Name]; !was || slices.ContainsFunc(out.StandbysDropped, func(d droppedJSON) bool { return d.Surface == sf.Name }) {
					continue
				}
				if d, isShort := standbysShort(sf); isShort {
					settled = settled && sf.PlacementError != ""
					short = append(short, d)
				}
			}
		}
		if len(now) == 0 && (settled || time.Since(emptied) > 3*time.Second) {
			for _, d := range short {
				out.StandbysDropped = append(out.StandbysDropped, d)
				out.StandbysMoved = slices.DeleteFunc(out.StandbysMoved, func(n string) bool { return n == d.Surface })
				out.StandbyMoves = slices.DeleteFunc(out.StandbyMoves, func(m standbyMoveJSON) bool { return m.Surface == d.Surface })
			}
			sort.Slice(out.Moves, func(i, j int) bool { return out.Moves[i].Epoch < out.Moves[j].Epoch })
			slices.Sort(out.StandbysMoved)
			slices.SortFunc(out.StandbyMoves, func(a, b standbyMoveJSON) int { return strings.Compare(a.Surface, b.Surface) })
			slices.SortFunc(out.StandbysDropped, func(a, b droppedJSON) int { return strings.Compare(a.Surface, b.Surface) })
			out.DurationMS = time.Since(start).Milliseconds()
			return out, nil
		}
		if p := strings.Join(problems, "\n"); p != lastProblem && p != "" {
			fmt.Fprintln(log, p)
			lastProblem = p
		}
		select {
		case <-ctx.Done():
			left := make([]string, 0, len(now))
			for n := range now {
				left = append(left, n)
			}
			slices.Sort(left)
			msg := fmt.Sprintf("gave up waiting: node %s still holds %s", id, strings.Join(left, ", "))
			if lastProblem != "" {
				msg += "\n" + lastProblem
			}
			return out, errors.New(msg)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func newSurfaceStandbyModeCmd(o *opFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "standby-mode NAME hot|warm",
		Short: "Make a surface's standbys hot (simulate and compare hashes) or warm (store only)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := parseStandbyMode(args[1])
			if err != nil {
				return err
			}
			rid := ctlclient.NewRequestID()
			return o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.SetSurfaceStandbyMode(ctx, &pb.SetSurfaceStandbyModeRequest{RequestId: rid, Name: args[0], Mode: mode})
				if err != nil {
					return err
				}
				return done(cmd, o, map[string]any{"surface": args[0], "standby_mode": args[1], "index": r.Index}, "surface %s has %s standbys", args[0], args[1])
			})
		},
	}
}

func parseStandbyMode(s string) (pb.StandbyMode, error) {
	switch s {
	case "hot":
		return pb.StandbyMode_STANDBY_MODE_HOT, nil
	case "warm":
		return pb.StandbyMode_STANDBY_MODE_WARM, nil
	}
	return 0, fmt.Errorf("standby mode %q: use hot (simulate and compare hashes) or warm (store only)", s)
}

func standbyModeName(m pb.StandbyMode) string {
	if m == pb.StandbyMode_STANDBY_MODE_WARM {
		return "warm"
	}
	return "hot"
}

// replicaJSON is one standby in `surface get --json`, as the primary reports it.
type replicaJSON struct {
	Node       string `json:"node"`
	Synced     bool   `json:"synced"`
	Connected  bool   `json:"connected"`
	CatchingUp bool   `json:"catching_up"`
	AckedTick  uint64 `json:"acked_tick"`
	LagTicks   uint64 `json:"lag_ticks"`
	LagBytes   uint64 `json:"lag_bytes"`
}

type replicationJSON struct {
	Mode            string        `json:"mode"`
	Synced          []string      `json:"synced"`
	UnderReplicated bool          `json:"under_replicated"`
	Standbys        []replicaJSON `json:"standbys"`
	Migration       *struct {
		Target    string `json:"target"`
		StartedMS int64  `json:"started_unix_ms"`
		Attempts  uint32 `json:"attempts"`
		LastError string `json:"last_error,omitempty"`
	} `json:"migration,omitempty"`
	LastMove *moveJSON `json:"last_move,omitempty"`
}

// toReplicationJSON describes a surface's standbys for `surface get`.
func toReplicationJSON(s *pb.Surface) *replicationJSON {
	a := s.GetAssignment()
	out := &replicationJSON{Mode: standbyModeName(s.StandbyMode), Synced: append([]string{}, a.GetSynced()...), Standbys: []replicaJSON{}}
	out.UnderReplicated = a.GetPrimary() != "" && len(a.GetSynced()) < int(max(s.Replicas, 1))-1
	reported := map[string]*pb.ReplicaStats{}
	for _, sh := range s.GetStats().GetShards() {
		if sh.Node == a.GetPrimary() && sh.Stats.GetEpoch() == a.GetEpoch() {
			for _, r := range sh.Stats.GetReplicas() {
				reported[r.Node] = r
			}
		}
	}
	for _, n := range a.GetStandbys() {
		r := replicaJSON{Node: n, Synced: slices.Contains(a.GetSynced(), n)}
		if st := reported[n]; st != nil {
			r.Connected, r.CatchingUp, r.AckedTick, r.LagTicks, r.LagBytes = st.Connected, st.CatchingUp, st.AckedTick, st.LagTicks, st.LagBytes
		}
		out.Standbys = append(out.Standbys, r)
	}
	if m := s.Migration; m != nil {
		out.Migration = &struct {
			Target    string `json:"target"`
			StartedMS int64  `json:"started_unix_ms"`
			Attempts  uint32 `json:"attempts"`
			LastError string `json:"last_error,omitempty"`
		}{m.Target, m.StartedUnixMs, m.Attempts, m.LastError}
	}
	if mv := s.LastMove; mv != nil {
		out.LastMove = &moveJSON{Surface: s.Name, From: mv.From, To: mv.To, Epoch: mv.Epoch, SwitchTick: mv.Tick, PauseMS: -1,
			CatchUpMS: max(mv.StopUnixMs-mv.StartedUnixMs, 0), DurationMS: max(mv.DoneUnixMs-mv.StartedUnixMs, 0)}
		for _, sh := range s.GetStats().GetShards() {
			if st := sh.Stats; sh.Node == mv.To && st.GetTermStartTick() == mv.Tick && st.GetTermStartUnixMs() > 0 {
				out.LastMove.PauseMS = max(st.TermStartUnixMs-mv.StopUnixMs, 0)
			}
		}
	}
	return out
}

// printReplication writes the replication lines of `surface get`.
func printReplication(w io.Writer, r *replicationJSON) {
	state := "fully replicated"
	if r.UnderReplicated {
		state = "UNDER-REPLICATED"
	}
	fmt.Fprintf(w, "standbys:  %s mode, %s (synced: %s)\n", r.Mode, state, orDash(strings.Join(r.Synced, ", ")))
	for _, s := range r.Standbys {
		st := "disconnected"
		switch {
		case s.Connected && s.CatchingUp:
			st = "catching up"
		case s.Connected && s.Synced:
			st = "synced"
		case s.Connected:
			st = "following"
		}
		fmt.Fprintf(w, "  %s\t%s, holds tick %d, lag %d ticks / %s\n", s.Node, st, s.AckedTick, s.LagTicks, bytesText(s.LagBytes))
	}
	if m := r.Migration; m != nil {
		fmt.Fprintf(w, "moving:    to %s since %s (attempts %d) %s\n", m.Target, time.UnixMilli(m.StartedMS).UTC().Format(time.RFC3339), m.Attempts, m.LastError)
	}
	if m := r.LastMove; m != nil {
		pause := "-"
		if m.PauseMS >= 0 {
			pause = fmt.Sprintf("%d ms", m.PauseMS)
		}
		fmt.Fprintf(w, "last move: %s -> %s after tick %d, pause %s\n", m.From, m.To, m.SwitchTick, pause)
	}
}
