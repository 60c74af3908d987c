package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// feedFrames is how many encoded tick batches a feed keeps. Players that are
// caught up ask for the same batch (the ticks confirmed since they were last
// woken); a few more slots cover players one batch behind and a tick confirmed
// while the others were still being sent.
const feedFrames = 16

// tickFeed encodes each batch of confirmed ticks of one shard once for all of its
// players: every player that is caught up is sent the same TickBatch, so the node
// marshals it once into a grpc.PreparedMsg and hands the same bytes to every
// stream, instead of building and marshalling one message per player per tick.
// It also wakes the players that gather batch ticks a message only when the
// confirmed tick crosses a multiple of batch, not for every tick in between.
type tickFeed struct {
	sh    *shard.Shard
	batch uint64
	stop  chan struct{}

	mu     sync.Mutex
	refs   int
	frames [feedFrames]*feedFrame
	next   int // slot to overwrite next
	// encoded counts the messages built, shared or not.
	encoded atomic.Int64

	bmu      sync.Mutex
	boundary chan struct{} // closed when the confirmed tick crosses a multiple of batch
	// flushTo is the newest tick released without reaching a multiple of batch.
	flushTo atomic.Uint64
}

// feedFrame is one encoded PlayResponse carrying ticks [from, to] under epoch.
// The first player to ask for it encodes it; others asking meanwhile wait for
// ready.
type feedFrame struct {
	epoch, from, to uint64
	ready           chan struct{}
	out             tickMsg
	err             error
}

// tickMsg is a message of ticks ready to send, and who had inputs in which tick.
type tickMsg struct {
	msg    any // *grpc.PreparedMsg, or *pb.PlayResponse for a stream of its own
	inputs []playerTick
}

type playerTick struct {
	player uint32
	tick   uint64
}

// has reports whether player had an input in a tick after t.
func (m *tickMsg) has(player uint32, after uint64) bool {
	for _, in := range m.inputs {
		if in.player == player && in.tick > after {
			return true
		}
	}
	return false
}

// feeds holds the tick feed of every shard that has players, created by the first
// session and dropped with the last.
type feeds struct {
	mu sync.Mutex
	m  map[*shard.Shard]*tickFeed
}

func (f *feeds) acquire(sh *shard.Shard, batch uint64) *tickFeed {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[*shard.Shard]*tickFeed{}
	}
	t := f.m[sh]
	if t == nil {
		t = &tickFeed{sh: sh, batch: max(batch, 1), stop: make(chan struct{}), boundary: make(chan struct{})}
		f.m[sh] = t
		go t.watch()
	}
	t.refs++
	return t
}

func (f *feeds) release(t *tickFeed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.refs--; t.refs == 0 {
		delete(f.m, t.sh)
		close(t.stop)
	}
}

// watch closes boundary each time the shard's confirmed tick crosses a multiple
// of batch: one goroutine wakes for every tick instead of every player. If the
// shard stops short of the next multiple (fenced, stopped, stalled), it releases
// what is confirmed after a batch's time (flushTo), so that no tick waits for a
// batch that does not come.
func (t *tickFeed) watch() {
	maxHold := time.Duration(t.batch+1) * time.Second / 60
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time
	last := t.sh.Confirmed()
	publish := func(c uint64) {
		t.bmu.Lock()
		close(t.boundary)
		t.boundary = make(chan struct{})
		t.bmu.Unlock()
		last = c
		if timerC != nil {
			timer.Stop()
			timerC = nil
		}
	}
	for {
		changed := t.sh.ConfirmedChanged()
		c := t.sh.Confirmed()
		switch {
		case c/t.batch > last/t.batch:
			publish(c)
		case c > last && timerC == nil:
			timer.Reset(maxHold)
			timerC = timer.C
		}
		select {
		case <-changed:
		case <-timerC:
			timerC = nil
			c := t.sh.Confirmed()
			t.flushTo.Store(c)
			publish(c)
		case <-t.stop:
			return
		}
	}
}

// boundaryCrossed returns a channel closed when the confirmed tick next crosses a
// multiple of batch. Take it before reading the confirmed tick.
func (t *tickFeed) boundaryCrossed() <-chan struct{} {
	t.bmu.Lock()
	defer t.bmu.Unlock()
	return t.boundary
}

// frame returns the message carrying confirmed ticks [from, to] for stream ss:
// the shared encoding when ss can take it, else a message of its own.
func (t *tickFeed) frame(ss grpc.ServerStream, shared bool, from, to uint64) (*tickMsg, error) {
	epoch := t.sh.Epoch()
	if !shared {
		m, inputs, err := t.build(epoch, from, to)
		return &tickMsg{msg: m, inputs: inputs}, err
	}
	t.mu.Lock()
	for _, f := range t.frames {
		if f != nil && f.from == from && f.to == to && f.epoch == epoch {
			t.mu.Unlock()
			<-f.ready
			return &f.out, f.err
		}
	}
	f := &feedFrame{epoch: epoch, from: from, to: to, ready: make(chan struct{})}
	t.frames[t.next] = f
	t.next = (t.next + 1) % feedFrames
	t.mu.Unlock()

	m, inputs, err := t.build(epoch, from, to)
	if err == nil {
		pm := new(grpc.PreparedMsg)
		if err = pm.Encode(ss, m); err == nil {
			f.out = tickMsg{msg: pm, inputs: inputs}
		}
	}
	f.err = err
	close(f.ready)
	if err != nil {
		t.mu.Lock()
		for i := range t.frames {
			if t.frames[i] == f {
				t.frames[i] = nil // let the next asker try again
			}
		}
		t.mu.Unlock()
	}
	return &f.out, err
}

// build reads ticks [from, to] (confirmed, so this does not wait) and makes the
// message. executed_tick is the primary's executed tick at this moment.
func (t *tickFeed) build(epoch, from, to uint64) (*pb.PlayResponse, []playerTick, error) {
	recs, err := t.sh.ReadConfirmed(context.Background(), from, int(to-from+1))
	if err != nil {
		return nil, nil, err
	}
	t.encoded.Add(1)
	tb := &pb.TickBatch{Ticks: make([]*pb.Tick, len(recs)), ExecutedTick: t.sh.Executed()}
	var inputs []playerTick
	for i, r := range recs {
		tk := &pb.Tick{Tick: r.Tick, CostUs: uint32(min(r.Cost/time.Microsecond, 1<<31)), Inputs: make([]*pb.Input, len(r.Inputs))}
		for k, in := range r.Inputs {
			tk.Inputs[k] = &pb.Input{Player: in.Player, Data: in.Data}
			inputs = append(inputs, playerTick{in.Player, r.Tick})
		}
		tb.Ticks[i] = tk
	}
	return &pb.PlayResponse{Epoch: epoch, Msg: &pb.PlayResponse_Ticks{Ticks: tb}}, inputs, nil
}

// sharedEncoding reports whether a stream sends plain protobuf (no compression,
// the default codec), so that the feed's shared encoding is what its own would be.
// A stream that negotiated anything else gets messages encoded for it alone.
func sharedEncoding(ss grpc.ServerStream) bool {
	st, ok := grpc.ServerTransportStreamFromContext(ss.Context()).(interface {
		SendCompress() string
		ContentSubtype() string
	})
	if !ok {
		return false
	}
	c, sub := st.SendCompress(), st.ContentSubtype()
	return (c == "" || c == "identity") && (sub == "" || sub == "proto")
}
