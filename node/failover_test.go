package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/starlane/starlane/internal/faultproxy"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/player"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// Failover, live migration and fencing with real processes on loopback: the three
// tests of issue 7.

type replSurface struct {
	Primary  string   `json:"primary"`
	Standbys []string `json:"standbys"`
	Epoch    uint64   `json:"epoch"`
	Stats    *struct {
		Tick          uint64 `json:"tick"`
		ConfirmedTick uint64 `json:"confirmed_tick"`
	} `json:"stats"`
	Replication struct {
		Synced          []string `json:"synced"`
		UnderReplicated bool     `json:"under_replicated"`
	} `json:"replication"`
	Events []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"events"`
}

func surfaceOf(t testing.TB, c *proctest.Cluster, name string) replSurface {
	t.Helper()
	var s replSurface
	c.JSON(&s, "surface", "get", name)
	return s
}

// waitReplicated waits until every surface has a primary and a synced standby.
func waitReplicated(t testing.TB, c *proctest.Cluster, names ...string) {
	t.Helper()
	proctest.Eventually(t, 90*time.Second, "surfaces "+strings.Join(names, ", ")+" to have a synced standby", func() bool {
		for _, n := range names {
			s := surfaceOf(t, c, n)
			if s.Primary == "" || s.Replication.UnderReplicated || len(s.Replication.Synced) == 0 {
				return false
			}
		}
		return true
	})
}

// shardProbe asks nodes directly for a surface's primary shard (GetShard answers
// only for primaries).
type shardProbe struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (p *shardProbe) get(addr, surface string) *pb.GetShardResponse {
	p.mu.Lock()
	if p.conns == nil {
		p.conns = map[string]*grpc.ClientConn{}
	}
	cc := p.conns[addr]
	if cc == nil {
		cc, _ = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		p.conns[addr] = cc
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := pb.NewShardServiceClient(cc).GetShard(ctx, &pb.GetShardRequest{Surface: surface})
	if err != nil {
		return nil
	}
	return r
}

func (p *shardProbe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// watcher follows one player client: the wall time each tick arrived (for the
// longest gap), and its events.
type watcher struct {
	c       *player.Client
	bot     *player.Bot
	acts    chan sim.Action // sent from the tick callback, which owns the simulation
	mu      sync.Mutex
	arrived map[uint64]time.Time
	players []sim.PlayerInfo
	events  []string
	runErr  error
	done    chan struct{}
}

func (w *watcher) tick(tk uint64) {
	if w.bot != nil {
		w.bot.OnTick(tk)
	}
	select {
	case a := <-w.acts:
		w.c.Act(a)
	default:
	}
	ps := w.c.Sim.Players()
	w.mu.Lock()
	if _, ok := w.arrived[tk]; !ok {
		w.arrived[tk] = time.Now()
	}
	w.players = ps
	w.mu.Unlock()
}

// pos returns where the named character is in this client's copy.
func (w *watcher) pos(name string) (int32, int32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.players {
		if p.Name == name {
			return p.Pos.X, p.Pos.Y, true
		}
	}
	return 0, 0, false
}

// join starts a client on surface via addr; act makes it a bot that acts.
func join(t testing.TB, ctx context.Context, ctl, addr, surface, name string, act bool) *watcher {
	t.Helper()
	w := &watcher{arrived: map[uint64]time.Time{}, done: make(chan struct{}), acts: make(chan sim.Action, 4)}
	c, err := player.Dial(ctx, player.Options{Node: addr, Surface: surface, Name: name, ReconnectFor: time.Minute, Ticket: ticketsFrom(t, ctl),
		OnEvent: func(e player.Event) { w.mu.Lock(); w.events = append(w.events, e.Kind+": "+e.Message); w.mu.Unlock() }})
	if err != nil {
		t.Fatalf("join %s as %s: %v", surface, name, err)
	}
	w.c = c
	if act {
		w.bot = player.NewBot(c, 20)
	}
	go func() {
		defer close(w.done)
		w.runErr = c.Run(ctx, w.tick)
	}()
	t.Cleanup(func() { c.Close() })
	return w
}

// gapAround returns the longest wall-time gap between consecutive ticks this
// client received in [from, to].
func (w *watcher) gapAround(from, to uint64) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ticks []uint64
	for tk := range w.arrived {
		if tk >= from && tk <= to {
			ticks = append(ticks, tk)
		}
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
	var gap time.Duration
	for i := 1; i < len(ticks); i++ {
		gap = max(gap, w.arrived[ticks[i]].Sub(w.arrived[ticks[i-1]]))
	}
	return gap
}

func (w *watcher) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.events, "\n")
}

// plates rebuilds each stopped surface's last durable state from the store of the
// node that ran its primary and counts the iron plates on both loop surfaces and in
// flight between them, leaving out those players' characters brought along. The
// loop map puts 2,000 plates on each surface.
func plates(t testing.TB, dir string, where map[string]string) int64 {
	t.Helper()
	type cen struct {
		items  map[string]int64
		outbox map[uint64]int64
		space  uint64 // the export port's sequence space
		s      *sim.Surface
	}
	read := func(surface string) cen {
		ss, err := shard.Replay(filepath.Join(dir, where[surface], "shards", surface, "shard.db"), loadSurface)
		if err != nil {
			t.Fatalf("%s on %s: %v", surface, where[surface], err)
		}
		s := ss.(*sim.Surface)
		c := cen{items: s.ItemTotals(), outbox: map[uint64]int64{}}
		// Players' characters start with plates of their own; the watching players
		// of these tests never move them, so they are not part of the loop.
		plate, _ := sim.DefaultBundle().ItemID("iron-plate")
		for _, p := range s.Players() {
			for _, st := range p.Inventory {
				if st.Item == plate {
					c.items["iron-plate"] -= int64(st.Count)
				}
			}
		}
		out, _, _ := s.BridgePort("out")
		s.BridgeOutbox(out, 0, func(seq, _ uint64, item string, n int32) bool {
			if item == "iron-plate" {
				c.outbox[seq] = int64(n)
			}
			return true
		})
		c.space, _ = s.BridgePortSpace(out)
		c.s = s
		return c
	}
	a, b := read("a"), read("b")
	total := a.items["iron-plate"] + b.items["iron-plate"]
	// In flight: outbox entries above the destination's mark for the port's space.
	hwmAB, _ := b.s.BridgeImportMark(a.space)
	hwmBA, _ := a.s.BridgeImportMark(b.space)
	for seq, n := range a.outbox {
		if seq > hwmAB {
			total += n
		}
	}
	for seq, n := range b.outbox {
		if seq > hwmBA {
			total += n
		}
	}
	return total
}

// loopWorld creates the closed world: loop surfaces a and b bridged both ways,
// with their primaries on the given nodes (pinned to place them, then unpinned so
// the scheduler is free to fail them over).
func loopWorld(t testing.TB, c *proctest.Cluster, aOn, bOn string) {
	t.Helper()
	c.CLI("surface", "create", "a", "--map", "loop", "--node", aOn)
	c.CLI("surface", "create", "b", "--map", "loop", "--node", bOn)
	c.CLI("bridge", "create", "--from", "a:out", "--to", "b:in", "--name", "ab")
	c.CLI("bridge", "create", "--from", "b:out", "--to", "a:in", "--name", "ba")
}

// unpinWhenPlaced waits for each surface's primary to be on its node, then unpins
// it so that the scheduler may fail it over.
func unpinWhenPlaced(t testing.TB, c *proctest.Cluster, on map[string]string) {
	t.Helper()
	for s, n := range on {
		proctest.Eventually(t, 30*time.Second, "surface "+s+" on "+n, func() bool { return surfaceOf(t, c, s).Primary == n })
		c.CLI("surface", "pin", s, "--unpin")
	}
}

func delivered(t testing.TB, c *proctest.Cluster, bridge string) int64 {
	out, _, code := proctest.Run(t, c.Bin, 10*time.Second, "bridge", "get", bridge, "--json", "--controller", c.CtlAddr)
	var g struct {
		Delivered int64 `json:"delivered"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &g) != nil {
		return -1
	}
	return g.Delivered
}

// TestKillingTheBusiestNodeFailsOverEverySurface: three nodes, every surface with a
// synced hot standby, bots playing, bridges flowing; kill -9 the node with the most
// primaries. Every surface ticks again within 5 s with default timings, every tick
// confirmed before the kill is still there, bots carry on without a manual step and
// without a desync (so the new primaries' hashes continue the old ones'), and not a
// plate is lost or duplicated on the bridges.
func TestKillingTheBusiestNodeFailsOverEverySurface(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (~1 min)")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	for _, n := range []string{"n1", "n2", "n3"} {
		c.StartNode(n, "--checkpoint-every", "300")
	}
	c.WaitNodes("n1", "n2", "n3")
	loopWorld(t, c, "n1", "n2")
	c.CLI("surface", "create", "c", "--map", "starter", "--node", "n1")
	unpinWhenPlaced(t, c, map[string]string{"a": "n1", "b": "n2", "c": "n1"})
	waitReplicated(t, c, "a", "b", "c")
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool { return delivered(t, c, "ab") > 0 && delivered(t, c, "ba") > 0 })

	// Bots join c through the node about to die: they must find the new primary on
	// their own.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bots []*watcher
	for i := range 3 {
		bots = append(bots, join(t, ctx, c.CtlAddr, c.NodeAddrs["n1"], "c", fmt.Sprintf("bot-%d", i), true))
	}
	time.Sleep(3 * time.Second)

	// The node with the most primaries.
	count := map[string]int{}
	for _, s := range []string{"a", "b", "c"} {
		count[surfaceOf(t, c, s).Primary]++
	}
	victim := "n1"
	for n, k := range count {
		if k > count[victim] {
			victim = n
		}
	}
	probe := &shardProbe{}
	defer probe.close()
	// The last tick each primary confirmed before the kill.
	lastConfirmed, oldPrimary := map[string]uint64{}, map[string]string{}
	for _, s := range []string{"a", "b", "c"} {
		oldPrimary[s] = surfaceOf(t, c, s).Primary
		if r := probe.get(c.NodeAddrs[oldPrimary[s]], s); r != nil {
			lastConfirmed[s] = r.ConfirmedTick
		}
	}
	botTick := map[*watcher]uint64{}
	for _, b := range bots {
		botTick[b] = b.c.Stats().Tick
	}
	c.Nodes[victim].Kill()
	killed := time.Now()
	t.Logf("killed %s (primaries: %v); it had confirmed %v", victim, count, lastConfirmed)

	// Every surface ticks again: some other node runs it as primary and confirms past
	// what was confirmed before the kill.
	recovered := map[string]time.Duration{}
	where := map[string]string{}
	for len(recovered) < 3 && time.Since(killed) < 30*time.Second {
		for _, s := range []string{"a", "b", "c"} {
			if _, ok := recovered[s]; ok {
				continue
			}
			for _, n := range []string{"n1", "n2", "n3"} {
				if n == victim {
					continue
				}
				if r := probe.get(c.NodeAddrs[n], s); r != nil && !r.Fenced && r.ConfirmedTick > lastConfirmed[s]+5 {
					recovered[s], where[s] = time.Since(killed), n
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ticking again after the kill: %v (on %v)", recovered, where)
	for _, s := range []string{"a", "b", "c"} {
		d, ok := recovered[s]
		if !ok || d > 5*time.Second {
			t.Errorf("surface %s did not tick again within 5 s of the kill (%v)", s, d)
		}
	}
	// No confirmed tick lost: each new primary took over at or after the last tick
	// the old one confirmed.
	for _, s := range []string{"a", "b", "c"} {
		if count[victim] == 0 || surfaceOf(t, c, s).Primary == victim {
			t.Errorf("surface %s is still on the killed node", s)
		}
		var got struct {
			Primary string `json:"primary"`
			Stats   struct {
				Shards []struct {
					Node          string `json:"node"`
					TermStartTick uint64 `json:"term_start_tick"`
					Role          string `json:"role"`
				} `json:"shards"`
			} `json:"stats"`
		}
		proctest.Eventually(t, 10*time.Second, "the new primary of "+s+" to report", func() bool {
			c.JSON(&got, "surface", "get", s)
			for _, sh := range got.Stats.Shards {
				if sh.Node == got.Primary && sh.Role == "primary" {
					return true
				}
			}
			return false
		})
		for _, sh := range got.Stats.Shards {
			if sh.Node != got.Primary || sh.Role != "primary" {
				continue
			}
			if sh.Node != where[s] {
				t.Errorf("surface %s: primary %s, but %s ticked it after the kill", s, sh.Node, where[s])
			}
			if oldPrimary[s] == victim && sh.TermStartTick < lastConfirmed[s] {
				t.Errorf("surface %s: %s took over after tick %d, but tick %d had been confirmed", s, sh.Node, sh.TermStartTick, lastConfirmed[s])
			}
			if oldPrimary[s] == victim {
				t.Logf("surface %s: %s continues after tick %d (last confirmed before the kill: %d)", s, sh.Node, sh.TermStartTick, lastConfirmed[s])
			}
		}
	}
	// Bots: back in sync by themselves, resumed from their own state, no desync.
	for _, b := range bots {
		want := botTick[b] + 600
		proctest.Eventually(t, 60*time.Second, "bots to play 600 ticks past the kill", func() bool { return b.c.Stats().Tick > want })
	}
	for i, b := range bots {
		st := b.c.Stats()
		events := b.log()
		if st.Desyncs != 0 || !strings.Contains(events, "resumed ") {
			t.Errorf("bot %d: %d desyncs; events:\n%s", i, st.Desyncs, events)
		}
		t.Logf("bot %d: longest gap between ticks around the kill %v, %d actions", i, b.gapAround(botTick[b], botTick[b]+300), st.Actions)
	}
	cancel()

	// Bridges flow again, and conserve every plate.
	before := delivered(t, c, "ab") + delivered(t, c, "ba")
	proctest.Eventually(t, 60*time.Second, "the bridges to flow again", func() bool { return delivered(t, c, "ab")+delivered(t, c, "ba") > before+20 })
	final := map[string]string{"a": surfaceOf(t, c, "a").Primary, "b": surfaceOf(t, c, "b").Primary}
	for n, p := range c.Nodes {
		if n != victim {
			p.Stop()
		}
	}
	if got := plates(t, dir, final); got != 4000 {
		t.Fatalf("%d plates after the failover, the maps started with 4000", got)
	}
}

// TestMovingASurfaceBackAndForthUnderLoad moves a surface between two nodes twenty
// times while players play it and its bridges flow: every move finishes, each
// pause is measured, no player desyncs, and the bridges conserve every plate.
func TestMovingASurfaceBackAndForthUnderLoad(t *testing.T) {
	moves := 20
	if testing.Short() {
		moves = 4
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	for _, n := range []string{"n1", "n2", "n3"} {
		c.StartNode(n, "--checkpoint-every", "300")
	}
	c.WaitNodes("n1", "n2", "n3")
	loopWorld(t, c, "n1", "n2")
	unpinWhenPlaced(t, c, map[string]string{"a": "n1", "b": "n2"})
	waitReplicated(t, c, "a", "b")
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool { return delivered(t, c, "ab") > 0 && delivered(t, c, "ba") > 0 })

	// Players on the moving surface (they only watch, so the closed world keeps its
	// plates: every confirmed tick, hash reports, moves, resumes).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var players []*watcher
	for i := range 3 {
		players = append(players, join(t, ctx, c.CtlAddr, c.NodeAddrs["n1"], "a", fmt.Sprintf("player-%d", i), false))
	}
	defer func() {
		if !t.Failed() {
			return
		}
		// What a player that stopped following the surface went through.
		for i, p := range players {
			p.mu.Lock()
			events := append([]string(nil), p.events...)
			p.mu.Unlock()
			t.Logf("player-%d: %+v; events: %q", i, p.c.Stats(), events)
		}
	}()
	time.Sleep(time.Second)
	type result struct {
		From       string `json:"from"`
		To         string `json:"to"`
		SwitchTick uint64 `json:"switch_tick"`
		PauseMS    int64  `json:"pause_ms"`
		CatchUpMS  int64  `json:"catch_up_ms"`
		DurationMS int64  `json:"duration_ms"`
	}
	var results []result
	var pauses, gaps []time.Duration
	for i := range moves {
		to := []string{"n2", "n1"}[i%2]
		var r result
		c.JSON(&r, "surface", "move", "a", "--to", to)
		if r.To != to || r.SwitchTick == 0 {
			t.Fatalf("move %d: %+v", i, r)
		}
		results = append(results, r)
		// Players carry on past the switch.
		for _, p := range players {
			proctest.Eventually(t, 30*time.Second, "players to pass the switch", func() bool { return p.c.Stats().Tick > r.SwitchTick+30 })
		}
		var gap time.Duration
		for _, p := range players {
			gap = max(gap, p.gapAround(r.SwitchTick-30, r.SwitchTick+30))
		}
		gaps = append(gaps, gap)
		if r.PauseMS >= 0 {
			pauses = append(pauses, time.Duration(r.PauseMS)*time.Millisecond)
		}
	}
	for i, r := range results {
		t.Logf("move %2d: %s -> %s after tick %d: pause %d ms (nodes' clocks), longest gap a player saw %v, caught up in %d ms, %d ms in all",
			i, r.From, r.To, r.SwitchTick, r.PauseMS, gaps[i].Round(time.Millisecond), r.CatchUpMS, r.DurationMS)
	}
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if len(pauses) < moves {
		t.Errorf("only %d of %d moves reported their pause", len(pauses), moves)
	}
	if len(pauses) > 0 {
		t.Logf("pause: median %v, max %v; player-seen gap: median %v, max %v", pauses[len(pauses)/2], pauses[len(pauses)-1], gaps[len(gaps)/2], gaps[len(gaps)-1])
		if pauses[len(pauses)-1] > 2*time.Second {
			t.Errorf("a move paused the surface for %v", pauses[len(pauses)-1])
		}
	}
	for i, p := range players {
		if st := p.c.Stats(); st.Desyncs != 0 {
			t.Errorf("player %d: %d desyncs\n%s", i, st.Desyncs, p.log())
		}
		if strings.Contains(p.log(), "joined a as player") && strings.Count(p.log(), "joined ") > 1 {
			t.Errorf("player %d had to reload a checkpoint instead of resuming:\n%s", i, p.log())
		}
	}

	// Drain the node the surface ended on: every copy leaves it, primaries live.
	var drain struct {
		Node     string `json:"node"`
		Cordoned bool   `json:"cordoned"`
		Moves    []struct {
			Surface    string `json:"surface"`
			To         string `json:"to"`
			SwitchTick uint64 `json:"switch_tick"`
			PauseMS    int64  `json:"pause_ms"`
		} `json:"moves"`
		StandbysMoved []string `json:"standbys_moved"`
	}
	drained := surfaceOf(t, c, "a").Primary
	c.JSON(&drain, "node", "drain", drained)
	t.Logf("drained %s: %+v", drained, drain)
	if !drain.Cordoned || len(drain.Moves) == 0 || drain.Moves[0].Surface != "a" || drain.Moves[0].To == drained {
		t.Errorf("drain of %s: %+v", drained, drain)
	}
	var held struct {
		Surfaces []struct {
			Surface string `json:"surface"`
		} `json:"surfaces"`
	}
	c.JSON(&held, "node", "get", drained)
	if len(held.Surfaces) != 0 {
		t.Errorf("%s still holds %+v after the drain", drained, held.Surfaces)
	}
	for _, p := range players {
		want := p.c.Stats().Tick + 60
		proctest.Eventually(t, 30*time.Second, "players to play on after the drain", func() bool { return p.c.Stats().Tick > want })
		if st := p.c.Stats(); st.Desyncs != 0 {
			t.Errorf("desyncs after the drain: %d", st.Desyncs)
		}
	}
	cancel()

	// A surface kept without standbys (replicas 1) moves too, confirms on its new
	// node, and its bridges flow on (below).
	c.CLI("surface", "replicas", "b", "1")
	proctest.Eventually(t, 30*time.Second, "b to keep no standby", func() bool { return len(surfaceOf(t, c, "b").Standbys) == 0 })
	from := surfaceOf(t, c, "b").Primary
	target := ""
	for _, n := range []string{"n1", "n2", "n3"} {
		if n != from && n != drained {
			target = n
		}
	}
	var solo result
	c.JSON(&solo, "surface", "move", "b", "--to", target)
	proctest.Eventually(t, 30*time.Second, "b to confirm past the switch on its new node", func() bool {
		s := surfaceOf(t, c, "b")
		return s.Primary == solo.To && s.Stats != nil && s.Stats.ConfirmedTick > solo.SwitchTick+60
	})
	if s := surfaceOf(t, c, "b"); len(s.Standbys) != 0 || len(s.Replication.Synced) != 0 {
		t.Errorf("b after a move with replicas 1: standbys %v, synced %v", s.Standbys, s.Replication.Synced)
	}

	before := delivered(t, c, "ab") + delivered(t, c, "ba")
	proctest.Eventually(t, 60*time.Second, "the bridges to keep flowing", func() bool { return delivered(t, c, "ab")+delivered(t, c, "ba") > before+20 })
	final := map[string]string{"a": surfaceOf(t, c, "a").Primary, "b": surfaceOf(t, c, "b").Primary}
	for _, p := range c.Nodes {
		p.Stop()
	}
	if got := plates(t, dir, final); got != 4000 {
		t.Fatalf("%d plates after %d moves and a drain, the maps started with 4000", got, moves)
	}
}

// TestPrimaryCutOffFromTheControllerFencesItself partitions a primary's node from
// the controller (not from its players or its standby): it stops confirming before
// the new primary starts, and nothing it is asked to do afterwards takes effect.
func TestPrimaryCutOffFromTheControllerFencesItself(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (~40 s)")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	// n1 reaches the controller only through a proxy that can cut it off.
	px, err := faultproxy.Start("127.0.0.1:0", c.CtlAddr, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	n1 := proctest.FreeAddr(t)
	c.Nodes["n1"] = proctest.Start(t, "n1", bin, filepath.Join(dir, "n1.log"), "node", "--controller", px.Addr(), "--join-token", c.Token,
		"--data-dir", filepath.Join(dir, "n1"), "--bind", n1, "--name", "n1", "--checkpoint-every", "300")
	c.NodeAddrs["n1"] = n1
	c.StartNode("n2", "--checkpoint-every", "300")
	c.WaitNodes("n1", "n2")
	loopWorld(t, c, "n1", "n2")
	unpinWhenPlaced(t, c, map[string]string{"a": "n1", "b": "n2"})
	waitReplicated(t, c, "a", "b")
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool { return delivered(t, c, "ab") > 0 && delivered(t, c, "ba") > 0 })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ghost := join(t, ctx, c.CtlAddr, n1, "a", "ghost", false)
	viewer := join(t, ctx, c.CtlAddr, c.NodeAddrs["n2"], "a", "viewer", false)
	// A move before the partition takes effect: the test can tell.
	proctest.Eventually(t, 10*time.Second, "ghost to have a character", func() bool { return ghost.c.Stats().Tick > 0 })
	time.Sleep(500 * time.Millisecond)
	x0, y0, ok := ghost.pos("ghost")
	if !ok {
		t.Fatal("the ghost has no character")
	}
	ghost.acts <- sim.Action{Kind: sim.ActMove, X: x0 + 256, Y: y0}
	proctest.Eventually(t, 10*time.Second, "the move before the partition to take effect", func() bool {
		x, _, ok := ghost.pos("ghost")
		return ok && x == x0+256
	})

	probe := &shardProbe{}
	defer probe.close()
	px.Partition(25 * time.Second)
	cut := time.Now()
	// n1 fences itself: its shard stops confirming.
	var fencedAt time.Duration
	var frozen uint64
	for time.Since(cut) < 6*time.Second {
		if r := probe.get(n1, "a"); r != nil && r.Fenced {
			fencedAt, frozen = time.Since(cut), r.ConfirmedTick
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fencedAt == 0 {
		t.Fatal("n1 did not fence itself within 6 s of losing the controller")
	}
	// What it is asked now must not take effect anywhere. The ghost's client gets
	// no ticks from a fenced node, so it sends the move straight on its stream.
	if err := ghost.c.Act(sim.Action{Kind: sim.ActMove, X: x0 + 2*256, Y: y0}); err != nil {
		t.Logf("sending the move to the fenced node: %v", err)
	}
	// The new primary starts on n2 after the lease expires.
	var promotedAt time.Duration
	var startTick uint64
	for time.Since(cut) < 20*time.Second {
		if r := probe.get(c.NodeAddrs["n2"], "a"); r != nil && r.Epoch > 0 {
			promotedAt, startTick = time.Since(cut), r.Tick
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if promotedAt == 0 {
		t.Fatal("no new primary on n2")
	}
	later := probe.get(n1, "a")
	t.Logf("cut at 0: n1 fenced at %v with tick %d confirmed; n2 primary at %v from tick %d; n1 now confirmed %v",
		fencedAt.Round(time.Millisecond), frozen, promotedAt.Round(time.Millisecond), startTick, later)
	if fencedAt >= promotedAt {
		t.Errorf("n1 fenced at %v, after the new primary started at %v", fencedAt, promotedAt)
	}
	if later != nil && later.ConfirmedTick != frozen {
		t.Errorf("n1 kept confirming after it fenced: %d -> %d", frozen, later.ConfirmedTick)
	}
	if startTick < frozen {
		t.Errorf("the new primary started at tick %d, before n1's last confirmed tick %d", startTick, frozen)
	}
	// The viewer follows the surface to n2 and never sees the ghost's second move.
	proctest.Eventually(t, 30*time.Second, "the viewer to play on the new primary", func() bool { return viewer.c.Stats().Tick > startTick+120 })
	if x, _, ok := viewer.pos("ghost"); !ok || x != x0+256 {
		t.Errorf("the ghost is at x=%d (ok %v) on the new primary; the move sent to the fenced node must not count (want %d)", x, ok, x0+256)
	}
	if st := viewer.c.Stats(); st.Desyncs != 0 {
		t.Errorf("viewer desyncs: %d", st.Desyncs)
	}
	cancel()

	// The partition heals: n1 learns it lost the surface and follows n2; the
	// bridges conserve every plate across all of it.
	proctest.Eventually(t, 60*time.Second, "n1 to follow the new primary again", func() bool {
		s := surfaceOf(t, c, "a")
		return s.Primary == "n2" && len(s.Replication.Synced) > 0
	})
	before := delivered(t, c, "ab") + delivered(t, c, "ba")
	proctest.Eventually(t, 60*time.Second, "the bridges to flow again", func() bool { return delivered(t, c, "ab")+delivered(t, c, "ba") > before+20 })
	final := map[string]string{"a": surfaceOf(t, c, "a").Primary, "b": surfaceOf(t, c, "b").Primary}
	for _, p := range c.Nodes {
		p.Stop()
	}
	if got := plates(t, dir, final); got != 4000 {
		t.Fatalf("%d plates after the partition, the maps started with 4000", got)
	}
}

// TestLaggingStandbyIsDroppedAndReplaced freezes the node of a surface's only
// synced standby (SIGSTOP: its connection stays open, it just stops
// acknowledging). The primary stops confirming ticks only until the controller
// has dropped the standby through Raft; the surface shows as under-replicated,
// and a replacement standby on the third node catches up from a checkpoint.
func TestLaggingStandbyIsDroppedAndReplaced(t *testing.T) {
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	for _, n := range []string{"n1", "n2", "n3"} {
		c.StartNode(n, "--checkpoint-every", "300")
	}
	c.WaitNodes("n1", "n2", "n3")
	c.CLI("surface", "create", "a", "--map", "starter", "--node", "n1")
	waitReplicated(t, c, "a")
	stuck := surfaceOf(t, c, "a").Standbys[0]
	probe := &shardProbe{}
	defer probe.close()

	// Watch the primary's confirmed tick: the longest time it stood still.
	stop := make(chan struct{})
	stall := make(chan time.Duration, 1)
	go func() {
		var last uint64
		since, longest := time.Now(), time.Duration(0)
		for {
			select {
			case <-stop:
				stall <- max(longest, time.Since(since))
				return
			case <-time.After(10 * time.Millisecond):
			}
			if r := probe.get(c.NodeAddrs["n1"], "a"); r != nil && r.ConfirmedTick != last {
				longest = max(longest, time.Since(since))
				last, since = r.ConfirmedTick, time.Now()
			}
		}
	}()
	time.Sleep(time.Second)
	c.Nodes[stuck].Pause()
	defer c.Nodes[stuck].Resume()
	frozen := time.Now()
	var replacement string
	proctest.Eventually(t, 60*time.Second, "a replacement standby to catch up", func() bool {
		s := surfaceOf(t, c, "a")
		if len(s.Replication.Synced) == 1 && s.Replication.Synced[0] != stuck {
			replacement = s.Replication.Synced[0]
			return true
		}
		return false
	})
	replaced := time.Since(frozen)
	close(stop)
	longest := <-stall
	s := surfaceOf(t, c, "a")
	var dropped, underReplicated bool
	for _, e := range s.Events {
		if e.Kind == "surface.standby_dropped" && strings.Contains(e.Message, stuck) {
			dropped = true
		}
		if e.Kind == "surface.standby_dropped" && strings.Contains(e.Message, "synced []") {
			underReplicated = true
		}
	}
	t.Logf("froze %s; the primary's confirmed tick stood still for at most %v; %s synced as the replacement %v after the freeze",
		stuck, longest.Round(time.Millisecond), replacement, replaced.Round(time.Millisecond))
	if !dropped || !underReplicated {
		t.Errorf("no standby_dropped event leaving the surface under-replicated: %+v", s.Events)
	}
	if replacement == "" || replacement == "n1" || replacement == stuck {
		t.Errorf("replacement %q", replacement)
	}
	if longest > 3*time.Second {
		t.Errorf("the primary stopped confirming for %v while its standby hung", longest)
	}
}

// TestHotStandbyDesyncIsAnEventWithAReport runs a hot standby that simulates
// differently (a node started with the hidden --tamper-standby-at): the standby's
// hash check catches it, the primary writes a desync report naming the entity that
// differs, the controller records a surface.desync event, and the standby starts
// over from a checkpoint and is synced again.
func TestHotStandbyDesyncIsAnEventWithAReport(t *testing.T) {
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1", "--checkpoint-every", "300")
	c.StartNode("n2", "--checkpoint-every", "300", "--tamper-standby-at", "400")
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "a", "--map", "starter", "--node", "n1")
	var event string
	proctest.Eventually(t, 60*time.Second, "a surface.desync event", func() bool {
		for _, e := range surfaceOf(t, c, "a").Events {
			if e.Kind == "surface.desync" {
				event = e.Message
				return true
			}
		}
		return false
	})
	t.Logf("event: %s", event)
	reports, _ := filepath.Glob(filepath.Join(dir, "n1", "shards", "a", "desync", "*standby-n2.json"))
	if len(reports) != 1 || !strings.Contains(event, reports[0]) || !strings.Contains(event, "1 entities differ") {
		t.Fatalf("reports %v for event %q", reports, event)
	}
	b, _ := os.ReadFile(reports[0])
	var rep struct {
		Entities []struct {
			What   string `json:"what"`
			Server string `json:"server"`
		} `json:"entities"`
	}
	json.Unmarshal(b, &rep)
	if len(rep.Entities) != 1 || !strings.HasPrefix(rep.Entities[0].What, "wooden-chest") || rep.Entities[0].Server != "missing" {
		t.Fatalf("the report does not name the chest only the standby has:\n%s", b)
	}
	// The standby starts over from a checkpoint and keeps up again.
	at := surfaceOf(t, c, "a").Stats.Tick
	proctest.Eventually(t, 30*time.Second, "the standby to be synced past the desync", func() bool {
		s := surfaceOf(t, c, "a")
		return s.Stats != nil && s.Stats.Tick > at+120 && len(s.Replication.Synced) == 1 && s.Replication.Synced[0] == "n2"
	})
	for _, e := range surfaceOf(t, c, "a").Events {
		if e.Kind == "surface.desync" && e.Message != event {
			t.Errorf("a second desync: %s", e.Message)
		}
	}
}
