package node

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// playServer serves ShardService for one running shard ("s", the starter map)
// with the given player batch size, without a controller.
func playServer(t *testing.T, batch uint32) (pb.ShardServiceClient, *playAPI, *shard.Shard) {
	t.Helper()
	b := sim.DefaultBundle()
	sh, err := shard.Open(shard.Config{
		Name: "s", Dir: t.TempDir(), Epoch: 1,
		New: func() (shard.Simulation, error) { return sim.NewMap(b, "starter", 1, "s") },
		Load: func(r io.Reader) (shard.Simulation, error) {
			s, err := sim.Load(b, r)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		JoinInput:  func(_ uint32, name string) []byte { return sim.EncodeAction(sim.Action{Kind: sim.ActJoin, Name: name}) },
		LeaveInput: func(uint32) []byte { return sim.EncodeAction(sim.Action{Kind: sim.ActLeave}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	sh.Start()
	n := &Node{cfg: Config{HashEvery: 60, PlayerBatchTicks: batch}, id: "test-node", log: slog.New(slog.DiscardHandler), bundles: &bundleSet{builtin: b, byHash: map[string]*sim.Bundle{b.Hash(): b}},
		shards: map[string]*hosted{"s": {name: "s", epoch: 1, role: pb.ShardRole_SHARD_ROLE_PRIMARY, sh: sh}}}
	api := &playAPI{n: n}
	srv := grpc.NewServer()
	pb.RegisterShardServiceServer(srv, api)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); srv.Stop(); sh.Stop() })
	return pb.NewShardServiceClient(cc), api, sh
}

// rawPlayer is a player session read message by message.
type rawPlayer struct {
	t      *testing.T
	s      pb.ShardService_PlayClient
	id     uint32
	next   uint64 // the tick the next batch must start with
	epoch  uint64
	msgs   []*pb.TickBatch
	cancel context.CancelFunc
}

func joinRaw(t *testing.T, c pb.ShardServiceClient, name string) *rawPlayer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := c.Play(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&pb.PlayRequest{Msg: &pb.PlayRequest_Hello{Hello: &pb.Hello{Surface: "s", PlayerName: name}}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	w := m.GetWelcome()
	if w == nil {
		t.Fatalf("expected Welcome, got %v", m)
	}
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetCheckpoint().GetLast() {
			break
		}
	}
	return &rawPlayer{t: t, s: s, id: w.PlayerId, next: w.StartTick + 1, epoch: m.Epoch, cancel: cancel}
}

// recv reads the next tick batch and checks that it continues the stream: every
// confirmed tick, in order, none twice.
func (p *rawPlayer) recv() *pb.TickBatch {
	p.t.Helper()
	for {
		m, err := p.s.Recv()
		if err != nil {
			p.t.Fatal(err)
		}
		tb := m.GetTicks()
		if tb == nil {
			continue
		}
		if len(tb.Ticks) == 0 {
			p.t.Fatal("empty tick batch")
		}
		for _, tk := range tb.Ticks {
			if tk.Tick != p.next {
				p.t.Fatalf("got tick %d, want %d", tk.Tick, p.next)
			}
			p.next++
		}
		p.msgs = append(p.msgs, tb)
		return tb
	}
}

// catchUp reads until the stream has reached the shard's confirmed tick as it was
// when called, then forgets the messages read so far.
func (p *rawPlayer) catchUp(sh *shard.Shard) {
	target := sh.Confirmed()
	for p.next <= target {
		p.recv()
	}
	p.msgs = nil
}

func ticksPerMsg(msgs []*pb.TickBatch) float64 {
	n := 0
	for _, m := range msgs {
		n += len(m.Ticks)
	}
	return float64(n) / float64(len(msgs))
}

// With the default batch of 2, a player that does not act gets every confirmed
// tick in order, two to a message, and players share one encoding of each batch.
func TestPlayerStreamsBatchAndShareTicks(t *testing.T) {
	c, api, sh := playServer(t, 2)
	a, b := joinRaw(t, c, "a"), joinRaw(t, c, "b")
	a.catchUp(sh)
	b.catchUp(sh)
	for i := 0; i < 60; i++ {
		a.recv()
		b.recv()
	}
	for _, p := range []*rawPlayer{a, b} {
		// Two ticks a message when the node keeps up; a late tick loop or a slow log
		// commit only makes batches bigger. A batch sent alone after waiting for its
		// pair too long (a stalled shard) is the exception.
		if got := ticksPerMsg(p.msgs); got < 1.6 {
			t.Errorf("player %d: %.2f ticks per message, want about 2", p.id, got)
		}
	}
	// Both players are caught up and read the same batches: the node encodes each
	// once (a few more encodings are allowed for batches a player woke up late for).
	api.feeds.mu.Lock()
	feed := api.feeds.m[sh]
	api.feeds.mu.Unlock()
	if feed == nil {
		t.Fatal("no tick feed while players are connected")
	}
	enc, sent := feed.encoded.Load(), int64(len(a.msgs)+len(b.msgs))
	t.Logf("%.2f and %.2f ticks per message; %d messages built for %d sent", ticksPerMsg(a.msgs), ticksPerMsg(b.msgs), enc, sent)
	if enc*4 > sent*3 {
		t.Errorf("%d encodings for %d messages to two players: batches are not shared", enc, sent)
	}
}

// A player who acts gets the ticks at once, not in batches: its own action comes
// back as soon as it is confirmed, while a player who only watches still gets
// batches.
func TestActingPlayerGetsTicksAtOnce(t *testing.T) {
	c, _, sh := playServer(t, 30)
	actor, watcher := joinRaw(t, c, "actor"), joinRaw(t, c, "watcher")
	actor.catchUp(sh)
	watcher.catchUp(sh)
	mine := 0
	for i := 0; i < 20; i++ {
		act := sim.EncodeAction(sim.Action{Kind: sim.ActMove, X: int32(i) * sim.TileUnits, Y: 0})
		if err := actor.s.Send(&pb.PlayRequest{Epoch: actor.epoch, Msg: &pb.PlayRequest_Action{Action: &pb.PlayerAction{TargetTick: actor.next, Data: act}}}); err != nil {
			t.Fatal(err)
		}
		sentAt := sh.Executed()
		for found := false; !found; {
			tb := actor.recv()
			for _, tk := range tb.Ticks {
				for _, in := range tk.Inputs {
					// Only this action counts: the actor's join can be confirmed
					// after catchUp and come back in the first batches too.
					if in.Player == actor.id && bytes.Equal(in.Data, act) {
						found = true
						mine++
					}
				}
			}
			if actor.next > sentAt+200 {
				t.Fatalf("action sent at tick %d did not come back by tick %d", sentAt, actor.next-1)
			}
		}
	}
	if mine != 20 {
		t.Fatalf("%d of 20 actions came back", mine)
	}
	// Batches of 30 would put about 15 ticks in each message; acting, the player
	// gets one or two (more only when several ticks are confirmed at once).
	if got := ticksPerMsg(actor.msgs); got > 6 {
		t.Errorf("acting player: %.1f ticks per message, want them at once", got)
	}
	// The watcher's messages waited in its stream meanwhile (a few KiB).
	for watcher.next < actor.next {
		watcher.recv()
	}
	t.Logf("ticks per message: %.2f acting, %.2f watching", ticksPerMsg(actor.msgs), ticksPerMsg(watcher.msgs))
	if got := ticksPerMsg(watcher.msgs); got < 15 {
		t.Errorf("watching player: %.1f ticks per message, want batches of about 30", got)
	}
}

// When the shard stops ticking (here: fenced), the ticks a player's stream was
// gathering into a batch still reach it.
func TestHeldTicksGoOutWhenTheShardStalls(t *testing.T) {
	c, _, sh := playServer(t, 30)
	p := joinRaw(t, c, "p")
	p.catchUp(sh)
	for sh.Confirmed()%30 == 0 || sh.Confirmed()%30 > 20 {
		time.Sleep(5 * time.Millisecond)
	}
	sh.SetLease(time.Now())
	time.Sleep(100 * time.Millisecond)
	last := sh.Confirmed()
	if last%30 == 0 {
		t.Fatalf("the shard stopped at tick %d, a batch boundary: nothing to hold", last)
	}
	start := time.Now()
	stop := time.AfterFunc(3*time.Second, p.cancel) // fail, do not hang
	defer stop.Stop()
	for p.next <= last {
		p.recv()
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the ticks up to %d came %v after the shard stopped", last, d)
	}
}
