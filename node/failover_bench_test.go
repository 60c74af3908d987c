package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// BenchmarkFailoverRecovery kills the node of a surface's primary (SIGKILL) with the
// default timings (heartbeat 1 s, lease TTL 5 s, --standby-lost-after 1 s) and
// measures how long until the surface confirms ticks again on its standby, which
// is what players and bridge peers see: hot standbys take over at once, warm ones
// replay their log from the last checkpoint first. Each round restarts the killed
// node, waits until it is a synced standby again, and kills the new primary's.
//
//	go test ./node/ -run '^$' -bench FailoverRecovery -benchtime 3x
func BenchmarkFailoverRecovery(b *testing.B) {
	for _, m := range []string{"starter", "megabase-10k"} {
		for _, mode := range []string{"hot", "warm"} {
			b.Run(m+"/"+mode, func(b *testing.B) { benchFailover(b, m, mode) })
		}
	}
}

func benchFailover(b *testing.B, mapName, mode string) {
	dir := b.TempDir()
	c := proctest.StartCluster(b, bin, dir)
	for _, n := range []string{"n1", "n2"} {
		c.StartNode(n)
	}
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "x", "--map", mapName, "--standby-mode", mode, "--replicas", "2")
	probe := &shardProbe{}
	defer probe.close()
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		waitReplicated(b, c, "x")
		time.Sleep(5 * time.Second) // some log since the last checkpoint
		victim := surfaceOf(b, c, "x").Primary
		other := map[string]string{"n1": "n2", "n2": "n1"}[victim]
		last := uint64(0)
		if r := probe.get(c.NodeAddrs[victim], "x"); r != nil {
			last = r.ConfirmedTick
		}
		b.StartTimer()
		c.Nodes[victim].Kill()
		killed := time.Now()
		for {
			if r := probe.get(c.NodeAddrs[other], "x"); r != nil && r.ConfirmedTick > last+1 {
				break
			}
			if time.Since(killed) > time.Minute {
				b.Fatalf("no recovery on %s within a minute", other)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = append(took, time.Since(killed))
		b.StopTimer()
		c.Nodes[victim].Restart(b)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-recover-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-recover-ms")
	b.Logf("%s, %s standby: recovered in %v", mapName, mode, took)
}

// BenchmarkMovePause moves a surface between two nodes while a player watches it,
// and reports the pause from the old primary's last tick to the new primary's first
// (the nodes' clocks, as `surface move` reports it) and the longest gap between
// ticks the player saw around the switch, beside its usual gap (ticks arrive in
// batches of --player-batch-ticks, 2 by default, so every 33 ms).
//
//	go test ./node/ -run '^$' -bench 'MovePause/megabase-10k' -benchtime 10x
func BenchmarkMovePause(b *testing.B) {
	for _, m := range []string{"starter", "megabase-10k"} {
		b.Run(m, func(b *testing.B) { benchMove(b, m) })
	}
}

func benchMove(b *testing.B, mapName string) {
	dir := b.TempDir()
	c := proctest.StartCluster(b, bin, dir)
	for _, n := range []string{"n1", "n2"} {
		c.StartNode(n)
	}
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "x", "--map", mapName, "--replicas", "2", "--node", "n1")
	unpinWhenPlaced(b, c, map[string]string{"x": "n1"})
	waitReplicated(b, c, "x")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := join(b, ctx, c.CtlAddr, c.NodeAddrs["n1"], "x", "watcher", false)
	time.Sleep(3 * time.Second)
	var pauses, gaps, usual []time.Duration
	b.ResetTimer()
	for i := range b.N {
		to := []string{"n2", "n1"}[i%2]
		var r struct {
			SwitchTick uint64 `json:"switch_tick"`
			PauseMS    int64  `json:"pause_ms"`
		}
		c.JSON(&r, "surface", "move", "x", "--to", to)
		b.StopTimer()
		proctest.Eventually(b, 30*time.Second, "the player to pass the switch", func() bool { return w.c.Stats().Tick > r.SwitchTick+60 })
		pauses = append(pauses, time.Duration(r.PauseMS)*time.Millisecond)
		gaps = append(gaps, w.gapAround(r.SwitchTick-20, r.SwitchTick+20))
		usual = append(usual, w.gapAround(r.SwitchTick+30, r.SwitchTick+60))
		waitReplicated(b, c, "x")
		b.StartTimer()
	}
	b.StopTimer()
	for _, d := range [][]time.Duration{pauses, gaps, usual} {
		slices.Sort(d)
	}
	b.ReportMetric(float64(pauses[len(pauses)/2].Microseconds())/1000, "median-pause-ms")
	b.ReportMetric(float64(pauses[len(pauses)-1].Microseconds())/1000, "max-pause-ms")
	b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "median-player-gap-ms")
	b.ReportMetric(float64(gaps[len(gaps)-1].Microseconds())/1000, "max-player-gap-ms")
	b.ReportMetric(float64(usual[len(usual)/2].Microseconds())/1000, "usual-player-gap-ms")
	b.Logf("%s: pauses %v; player gaps %v", mapName, pauses, gaps)
	if st := w.c.Stats(); st.Desyncs != 0 {
		b.Errorf("player desyncs: %d", st.Desyncs)
	}
}
