package replica

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// onceTampered builds one chest nobody asked for at tick at, once per test: a
// transient fault (a replay of the same log does not repeat it).
type onceTampered struct {
	*sim.Surface
	at   uint64
	done *atomic.Bool
}

func (t *onceTampered) Step(in []shard.Input) {
	t.Surface.Step(in)
	if t.Surface.Tick() == t.at && t.done.CompareAndSwap(false, true) {
		t.Surface.Build(sim.BuildSpec{Name: "wooden-chest", X: 700, Y: 700})
	}
}

// resyncRig is a primary with one hot standby n2 that catches up, counts for
// confirmation (synced), and builds a chest of its own once at tick at.
func resyncRig(t *testing.T) (*rig, *shard.Shard, *Follower) {
	r := newRig(t)
	r.src.SetStandbys([]string{"n2"})
	waitFor(t, 10*time.Second, "the primary to tick", func() bool { return r.primary.Executed() > 10 })
	at := r.primary.Executed() + 300
	cfg := shardConfig(t.TempDir(), 0)
	var done atomic.Bool
	cfg.Load = func(rd io.Reader) (shard.Simulation, error) {
		s, err := sim.Load(sim.DefaultBundle(), rd)
		if err != nil {
			return nil, err
		}
		return &onceTampered{Surface: s, at: at, done: &done}, nil
	}
	cfg.Metrics = shard.NewMetrics(nil)
	sb, err := shard.OpenStandby(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFollower(FollowerConfig{Config: Config{Node: "n2"}, Surface: "nauvis", Shard: sb, Dial: r.dial, LostAfter: time.Minute})
	f.Update("n1", r.addr, r.primary.Epoch())
	t.Cleanup(func() { f.Stop(); sb.Stop() })
	waitFor(t, 20*time.Second, "the standby to catch up", func() bool { p, _, ok := sb.Position(); return ok && p+30 >= r.primary.Executed() })
	r.primary.SetStandbys([]string{"n2"})
	return r, sb, f
}

// TestFailoverDuringAStandbysResync desyncs the only synced hot standby and loses the
// primary while the standby's copy waits for a new checkpoint: the standby must still
// be promotable from its stored copy, at or past every tick the primary confirmed,
// with the primary's state. Failed on the old main: the resync dropped the copy's
// state at once, so the promotion failed (no state): an outage.
func TestFailoverDuringAStandbysResync(t *testing.T) {
	t.Parallel()
	r, sb, f := resyncRig(t)
	var stopped atomic.Bool
	r.src.OnDesync(func(string, shard.Desync, *shard.DesyncReport) {
		// The primary dies as it writes the report: no checkpoint reaches the standby.
		if stopped.CompareAndSwap(false, true) {
			go r.srv.Stop()
		}
	})
	waitFor(t, 20*time.Second, "the standby to desync", func() bool { return sb.StandbyDesyncs() == 1 && stopped.Load() })
	time.Sleep(300 * time.Millisecond)
	confirmed := r.primary.Confirmed()
	f.Stop()
	if err := sb.Promote(r.primary.Epoch() + 1); err != nil {
		t.Fatalf("promoting the standby during its resync: %v", err)
	}
	tick := sb.Executed()
	if tick < confirmed {
		t.Fatalf("promoted at tick %d, below the confirmed tick %d", tick, confirmed)
	}
	want, ok := r.primary.HashAfter(tick)
	if !ok || want != sb.Stats().Hash {
		t.Fatalf("promoted at tick %d with hash %016x, the primary had %016x (%v)", tick, sb.Stats().Hash, want, ok)
	}
	t.Logf("primary confirmed %d; the standby, mid-resync, took over at %d with the primary's hash", confirmed, tick)
}

// TestResyncWaitsUntilUnsynced checks the order of a synced standby's resync: the
// primary asks for it to be unsynced and sends no checkpoint (which would replace the
// copy's confirmed tail) until it no longer counts the standby; the copy keeps every
// tick it held meanwhile, then installs the checkpoint and keeps up again.
func TestResyncWaitsUntilUnsynced(t *testing.T) {
	t.Parallel()
	r, sb, _ := resyncRig(t)
	var asked atomic.Int32
	r.src.OnResync(func(node, reason string) { asked.Add(1) })
	waitFor(t, 20*time.Second, "the standby to desync", func() bool { return sb.StandbyDesyncs() == 1 })
	waitFor(t, 20*time.Second, "the primary to ask for the standby to be unsynced", func() bool { return asked.Load() > 0 })
	held := sb.Executed()
	time.Sleep(500 * time.Millisecond)
	if got := sb.Executed(); got < held || sb.CheckpointTick() > held {
		t.Fatalf("the copy moved from %d to %d (checkpoint %d) before the standby was unsynced", held, got, sb.CheckpointTick())
	}
	if c := r.primary.Confirmed(); c > held {
		t.Fatalf("the primary confirmed %d, past the %d its synced standby holds", c, held)
	}
	// The controller answers: the standby no longer counts; the checkpoint comes.
	r.primary.SetStandbys(nil)
	at := r.primary.Executed()
	waitFor(t, 20*time.Second, "the standby to keep up again", func() bool { p, _, ok := sb.Position(); return ok && p > at+60 })
}
