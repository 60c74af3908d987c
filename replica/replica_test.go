package replica

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// tampered is a simulation that builds a chest nobody asked for after tick at: a
// standby running it falls out of step with its primary.
type tampered struct {
	*sim.Surface
	at uint64
}

func (t *tampered) Step(in []shard.Input) {
	t.Surface.Step(in)
	if t.Surface.Tick() == t.at {
		t.Surface.Build(sim.BuildSpec{Name: "wooden-chest", X: 700, Y: 700})
	}
}

func shardConfig(dir string, tamperAt uint64) shard.Config {
	b := sim.DefaultBundle()
	return shard.Config{Name: "nauvis", Dir: dir, Epoch: 7, CheckpointEvery: 120, HashEvery: 30,
		New: func() (shard.Simulation, error) { return sim.NewMap(b, "starter", 1, "nauvis") },
		Load: func(r io.Reader) (shard.Simulation, error) {
			s, err := sim.Load(b, r)
			if err != nil || tamperAt == 0 {
				return s, err
			}
			return &tampered{Surface: s, at: tamperAt}, nil
		},
		JoinInput: func(_ uint32, name string) []byte { return sim.EncodeAction(sim.Action{Kind: sim.ActJoin, Name: name}) },
	}
}

type rig struct {
	t *testing.T
	// lostAfter is the standbys' LostAfter (300ms when 0).
	lostAfter time.Duration
	primary   *shard.Shard
	src       *Source
	met       *Metrics
	addr      string
	srv       *grpc.Server
	conns     []*grpc.ClientConn
	mu        sync.Mutex
}

func newRig(t *testing.T, standbys ...string) *rig {
	t.Helper()
	return newRigWith(t, Config{Node: "n1", HashEvery: 30}, standbys...)
}

// newRigWith is newRig with the primary's replication config (Metrics is set here).
func newRigWith(t *testing.T, cfg Config, standbys ...string) *rig {
	t.Helper()
	p, err := shard.Open(shardConfig(t.TempDir(), 0))
	if err != nil {
		t.Fatal(err)
	}
	p.SetStandbys(standbys)
	p.Start()
	r := &rig{t: t, primary: p, met: NewMetrics(nil)}
	cfg.Metrics = r.met
	server := NewServer(cfg)
	r.src = server.Add("nauvis", p, standbys)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.srv = grpc.NewServer()
	pb.RegisterReplicationServiceServer(r.srv, server)
	go r.srv.Serve(ln)
	t.Cleanup(func() {
		r.srv.Stop()
		p.Stop()
		for _, c := range r.conns {
			c.Close()
		}
	})
	return r
}

func (r *rig) dial(addr string) (pb.ReplicationServiceClient, error) {
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	return pb.NewReplicationServiceClient(c), nil
}

func (r *rig) standby(node, dir string, hot bool, tamperAt uint64, onLost func(epoch, tick uint64, reason string) bool) (*shard.Shard, *Follower) {
	r.t.Helper()
	cfg := shardConfig(dir, tamperAt)
	cfg.Metrics = shard.NewMetrics(nil)
	sb, err := shard.OpenStandby(cfg, hot)
	if err != nil {
		r.t.Fatal(err)
	}
	lost := r.lostAfter
	if lost == 0 {
		lost = 300 * time.Millisecond
	}
	f := NewFollower(FollowerConfig{Config: Config{Node: node}, Surface: "nauvis", Shard: sb, Dial: r.dial,
		LostAfter: lost, OnLost: onLost})
	f.Update("n1", r.addr, r.primary.Epoch())
	r.t.Cleanup(func() { f.Stop(); sb.Stop() })
	return sb, f
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A standby follows its primary, confirms its ticks, keeps its player table, and
// takes over at the primary's last tick with the same state.
func TestStandbyFollowsAndTakesOver(t *testing.T) {
	t.Parallel()
	for _, hot := range []bool{true, false} {
		t.Run(map[bool]string{true: "hot", false: "warm"}[hot], func(t *testing.T) {
			t.Parallel()
			r := newRig(t, "n2")
			sb, f := r.standby("n2", t.TempDir(), hot, 0, nil)
			j, err := r.primary.Join(shard.JoinRequest{Name: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "confirmation through the standby", func() bool { return r.primary.Confirmed() > 200 })
			if c, _ := f.Status(); !c {
				t.Fatal("follower not connected")
			}
			if pos, _, _ := sb.Position(); pos < r.primary.Confirmed() {
				t.Fatalf("the primary confirmed %d, the standby holds only %d", r.primary.Confirmed(), pos)
			}
			st := r.src.Stats()
			if len(st) != 1 || st[0].Node != "n2" || !st[0].Connected || st[0].AckedTick == 0 {
				t.Fatalf("stats: %+v", st)
			}
			// Handoff: the primary stops, the standby holds its last tick.
			last, _, err := r.src.Handoff(context.Background(), "n2", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := r.primary.HashAt(last)
			f.Stop()
			if err := sb.Promote(8); err != nil {
				t.Fatal(err)
			}
			if got, ok := sb.HashAt(last); !ok || got != want {
				t.Fatalf("taken over at tick %d with hash %016x, the primary had %016x", last, got, want)
			}
			ids, err := sb.Store().Players()
			if err != nil || ids["alice"] != j.Session.Player() {
				t.Fatalf("player table on the standby: %v %v", ids, err)
			}
		})
	}
}

// An idle surface (no inputs, no player or bridge watching) sends its ticks to its
// standbys a few times a second instead of once a tick, and a handoff does not wait
// for the held ticks: the freeze sends them at once.
func TestIdleTicksGoToStandbysInBatches(t *testing.T) {
	t.Parallel()
	const hold = time.Second
	r := newRigWith(t, Config{Node: "n1", HashEvery: 30, IdleDelay: hold, Keepalive: 200 * time.Millisecond}, "n2")
	r.lostAfter = 3 * time.Second
	sb, _ := r.standby("n2", t.TempDir(), true, 0, nil)
	waitFor(t, 10*time.Second, "confirmation through the standby", func() bool { return r.primary.Confirmed() > 60 })

	// Count the standby's position changes over three seconds (180 ticks).
	seen, last := 0, uint64(0)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if pos, _, _ := sb.Position(); pos != last {
			seen, last = seen+1, pos
		}
	}
	if seen > 8 || seen < 2 {
		t.Errorf("the standby's copy moved %d times in 3 s with ticks held up to %v: want a few batches, not one a tick", seen, hold)
	}

	// Right after a batch the next one would wait about a second; a handoff must not.
	pos, _, _ := sb.Position()
	waitFor(t, 5*time.Second, "the next batch", func() bool { p, _, _ := sb.Position(); return p != pos })
	began := time.Now()
	tick, _, err := r.src.Handoff(context.Background(), "n2", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > hold/2 {
		t.Errorf("the handoff took %v: it waited for the held ticks instead of sending them", took)
	}
	if p, _, _ := sb.Position(); p < tick {
		t.Errorf("the handoff returned tick %d with the standby at %d", tick, p)
	}
}

// A restarted standby continues its copy instead of fetching a checkpoint again;
// a standby of another history gets a checkpoint.
func TestStandbyContinuesItsCopyAfterARestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, "n2")
	dir := t.TempDir()
	sb, f := r.standby("n2", dir, false, 0, nil)
	waitFor(t, 10*time.Second, "ticks to replicate", func() bool { p, _, _ := sb.Position(); return p > 150 })
	f.Stop()
	sb.Stop()
	before := testutil.ToFloat64(r.met.checkpoints.WithLabelValues("nauvis"))
	sb, _ = r.standby("n2", dir, false, 0, nil)
	p0, _, _ := sb.Position()
	waitFor(t, 10*time.Second, "ticks to replicate again", func() bool { p, _, _ := sb.Position(); return p > p0+60 })
	if after := testutil.ToFloat64(r.met.checkpoints.WithLabelValues("nauvis")); after != before {
		// Checkpoints the primary took meanwhile are sent too; at most those.
		if after-before > float64((r.primary.Executed()-p0)/120+1) {
			t.Fatalf("a restarted standby was sent a starting checkpoint again (%v -> %v)", before, after)
		}
	}
}

// A hot standby that simulates differently is caught, reported with the entity
// that differs, and starts over from a checkpoint.
func TestHotStandbyDesyncIsReportedAndResynced(t *testing.T) {
	t.Parallel()
	r := newRig(t, "n2")
	var reports atomic.Int32
	var reportedEntities atomic.Int32
	var note atomic.Value
	r.src.OnDesync(func(node string, d shard.Desync, rep *shard.DesyncReport) {
		if node == "n2" && d.Server != d.ClientHash {
			// The entities first: the test reads them once it sees the report.
			reportedEntities.Store(int32(len(rep.Entities)))
			note.Store(fmt.Sprintf("report at tick %d (state at %d): %s", rep.Tick, rep.StateTick, rep.Note))
			reports.Add(1)
		}
	})
	waitFor(t, 10*time.Second, "the primary to tick", func() bool { return r.primary.Executed() > 10 })
	sb, _ := r.standby("n2", t.TempDir(), true, r.primary.Executed()+100, nil)
	waitFor(t, 20*time.Second, "a desync report", func() bool { return reports.Load() == 1 })
	if sb.StandbyDesyncs() != 1 || reportedEntities.Load() != 1 {
		t.Fatalf("desyncs %d, differing entities %d; want 1 and 1 (the chest); %v", sb.StandbyDesyncs(), reportedEntities.Load(), note.Load())
	}
	// It starts over from a checkpoint and keeps up again, without another desync.
	at := r.primary.Executed()
	waitFor(t, 20*time.Second, "the standby to keep up again", func() bool { p, _, ok := sb.Position(); return ok && p > at+60 })
	if reports.Load() != 1 {
		t.Fatalf("%d reports", reports.Load())
	}
}

// A standby that loses its primary says so once, with the last tick it holds, and
// stops acknowledging.
func TestLosingThePrimaryIsReportedOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, "n2")
	var lost atomic.Int32
	var lostTick atomic.Uint64
	sb, f := r.standby("n2", t.TempDir(), true, 0, func(epoch, tick uint64, reason string) bool {
		lost.Add(1)
		lostTick.Store(tick)
		return true
	})
	waitFor(t, 10*time.Second, "replication", func() bool { return r.primary.Confirmed() > 60 })
	r.srv.Stop()
	confirmed := r.primary.Confirmed()
	waitFor(t, 5*time.Second, "the loss to be reported", func() bool { return lost.Load() == 1 })
	time.Sleep(time.Second)
	if lost.Load() != 1 {
		t.Fatalf("reported %d times", lost.Load())
	}
	if pos, _, _ := sb.Position(); lostTick.Load() != pos || pos < confirmed {
		t.Fatalf("reported tick %d, holds %d, the primary had confirmed %d", lostTick.Load(), pos, confirmed)
	}
	if c, _ := f.Status(); c {
		t.Fatal("still connected")
	}
}

// A standby that dials a node a moment before its promotion lands is served once
// it does, instead of being refused into a redial backoff; a stale epoch is
// refused at once, and a surface that never arrives is refused after AwaitPrimary.
func TestFollowWaitsForAPromotionAboutToLand(t *testing.T) {
	t.Parallel()
	p, err := shard.Open(shardConfig(t.TempDir(), 0))
	if err != nil {
		t.Fatal(err)
	}
	p.SetStandbys([]string{"n2"})
	p.Start()
	t.Cleanup(func() { p.Stop() })
	waitFor(t, 10*time.Second, "a first checkpoint", func() bool { return p.Executed() > 130 })

	server := NewServer(Config{Node: "n1", AwaitPrimary: 2 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterReplicationServiceServer(gs, server)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := pb.NewReplicationServiceClient(conn)
	follow := func(surface string, epoch uint64) (*pb.FollowResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		st, err := client.Follow(ctx)
		if err != nil {
			return nil, err
		}
		if err := st.Send(&pb.FollowRequest{Epoch: epoch, Msg: &pb.FollowRequest_Hello{Hello: &pb.FollowHello{Surface: surface, Node: "n2"}}}); err != nil {
			return nil, err
		}
		return st.Recv()
	}

	// The promotion lands 150ms after the standby asks.
	go func() {
		time.Sleep(150 * time.Millisecond)
		server.Add("nauvis", p, []string{"n2"})
	}()
	m, err := follow("nauvis", p.Epoch())
	if err != nil || m.GetStart() == nil {
		t.Fatalf("a standby dialling just before the promotion got %v, %v; want the stream's start", m, err)
	}

	// A newer epoch the running shard is about to move to is waited for too.
	next := p.Epoch() + 1
	go func() {
		time.Sleep(150 * time.Millisecond)
		p.SetEpoch(next)
	}()
	if m, err := follow("nauvis", next); err != nil || m.GetStart() == nil {
		t.Fatalf("a standby of the epoch about to be set got %v, %v; want the stream's start", m, err)
	}

	start := time.Now()
	if _, err := follow("nauvis", p.TermEpoch()-1); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a stale epoch got %v; want FailedPrecondition", err)
	} else if waited := time.Since(start); waited > time.Second {
		t.Fatalf("a stale epoch was refused only after %v", waited)
	}

	start = time.Now()
	if _, err := follow("vulcanus", p.Epoch()); status.Code(err) != codes.NotFound {
		t.Fatalf("a surface this node never serves got %v; want NotFound", err)
	} else if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("refused after %v, before AwaitPrimary", waited)
	}
}
