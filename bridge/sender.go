package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// Dialer returns a client for a node's BridgeService.
type Dialer func(addr string) (pb.BridgeServiceClient, error)

// Sender streams a bridge's confirmed outbox entries to the node running the
// destination and turns the destination's acknowledgements into inputs of the source.
type Sender struct {
	cfg  Config
	sh   Shard
	dial Dialer
	port uint32

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // new entries, an ack or a route change

	// capSeq is the last sequence captured; only the tick goroutine touches it.
	capSeq   uint64
	capFirst bool

	mu        sync.Mutex
	route     Route
	queue     []entry // released (confirmed) and not yet acknowledged, in order
	acked     uint64  // the receiver's acknowledged high-water mark
	credit    int64   // the receiver's last credit
	ackedSent uint64  // hwm and credit last submitted as an ack input
	creditSet int64
	ackInput  bool // an ack input was submitted at least once
	sent      uint64
	progress  time.Time // last time acked moved, or a stream started
	connected bool
	lastErr   string
	rates     rateMeter
}

// entry is one outbox entry as the sender keeps it (plain values: capturing thousands
// per tick must cost the source's tick little).
type entry struct {
	seq, tick  uint64
	item       string
	count      int32
	exportedUS int64
}

// captureOut is what a tick gave a sender: new entries and the port's state.
type captureOut struct {
	entries []entry
	acked   uint64
	credit  int64
	first   bool
}

// NewSender starts a bridge's sending end beside the source surface's shard.
func NewSender(cfg Config, sh Shard, route Route, dial Dialer) (*Sender, error) {
	cfg.defaults()
	port, err := resolvePort(sh, route.FromPort, true)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: surface %s: %w", route.Bridge, route.FromSurface, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{cfg: cfg, sh: sh, dial: dial, port: port, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1), route: route, capFirst: true, progress: cfg.Now()}
	if len(route.Items) > 0 {
		if err := sh.Submit(shard.Input{Data: cfg.Codec.FilterInput(port, route.Items)}, 0); err != nil {
			cancel()
			return nil, fmt.Errorf("bridge %s: set the item filter: %w", route.Bridge, err)
		}
	}
	sh.AddOutlet(s)
	go s.run()
	return s, nil
}

// Update gives the sender the controller's latest route (the destination may have
// moved, or an epoch changed).
func (s *Sender) Update(r Route) {
	s.mu.Lock()
	s.route = r
	s.mu.Unlock()
	s.poke()
}

// Stop ends the sender; its unacknowledged entries stay in the source's outbox.
func (s *Sender) Stop() {
	s.sh.RemoveOutlet(s)
	s.cancel()
	<-s.done
}

func (s *Sender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Capture reads the entries the tick added to the outbox (all of them on the first
// tick, after a start or restart).
func (s *Sender) Capture(sim shard.Simulation, t uint64) any {
	bs, ok := sim.(Sim)
	if !ok {
		return nil
	}
	out := captureOut{first: s.capFirst}
	last, acked, credit := bs.BridgeExportState(s.port)
	if last > s.capSeq || s.capFirst {
		// Latency is measured from here: the tick that took the items out of the state.
		now := s.cfg.Now().UnixMicro()
		out.entries = make([]entry, 0, min(last-s.capSeq, 1<<16))
		bs.BridgeOutbox(s.port, s.capSeq, func(seq, tick uint64, item string, count int32) bool {
			out.entries = append(out.entries, entry{seq, tick, item, count, now})
			return true
		})
		s.capSeq = last
	}
	s.capFirst = false
	out.acked, out.credit = acked, credit
	return out
}

// Release queues entries of a confirmed tick for sending.
func (s *Sender) Release(_ uint64, v any) {
	c, ok := v.(captureOut)
	if !ok {
		return
	}
	s.mu.Lock()
	if c.first {
		// The source (re)started: what it acknowledged is its own state.
		s.acked = max(s.acked, c.acked)
		s.ackedSent = max(s.ackedSent, c.acked)
	}
	for _, e := range c.entries {
		if e.seq <= s.acked || (len(s.queue) > 0 && e.seq <= s.queue[len(s.queue)-1].seq) {
			continue
		}
		s.queue = append(s.queue, e)
	}
	s.mu.Unlock()
	if len(c.entries) > 0 {
		s.poke()
	}
}

// run keeps a stream to the destination open and feeds it.
func (s *Sender) run() {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.stream()
		s.mu.Lock()
		s.connected = false
		if err != nil && s.ctx.Err() == nil {
			s.lastErr = err.Error()
		}
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
		if err != nil {
			s.cfg.Logger.Debug("bridge stream ended", "bridge", s.route.Bridge, "err", err)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// stream runs one Transfer stream until it fails or the route changes.
func (s *Sender) stream() error {
	s.mu.Lock()
	r := s.route
	s.mu.Unlock()
	if r.ToAddress == "" {
		return errors.New("the destination surface is not placed")
	}
	if e := s.sh.Epoch(); e != r.FromEpoch {
		return fmt.Errorf("this shard runs epoch %d, the route says %d: waiting for the controller", e, r.FromEpoch)
	}
	client, err := s.dial(r.ToAddress)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	st, err := client.Transfer(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Hello{Hello: &pb.BridgeHello{Bridge: r.Bridge,
		FromSurface: r.FromSurface, FromEpoch: r.FromEpoch, ToSurface: r.ToSurface, ToEpoch: r.ToEpoch, Sender: s.cfg.Node}}}); err != nil {
		return recvErr(st)
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receiveAcks(st, r) }()

	s.mu.Lock()
	s.connected, s.lastErr = true, ""
	s.sent = s.acked // start over from what the receiver confirmed
	s.progress = s.cfg.Now()
	s.mu.Unlock()
	resend := true
	ticker := time.NewTicker(s.cfg.Resend / 4)
	defer ticker.Stop()
	for {
		s.mu.Lock()
		if s.route.ToAddress != r.ToAddress || s.route.ToEpoch != r.ToEpoch || s.route.FromEpoch != r.FromEpoch {
			s.mu.Unlock()
			return nil // reconnect with the new route
		}
		if s.sent > s.acked && s.cfg.Now().Sub(s.progress) > s.cfg.Resend {
			// No progress: the receiver lost or refused something; send it all again.
			s.sent, resend = s.acked, true
			s.progress = s.cfg.Now()
		}
		batch := s.pendingLocked()
		s.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), s.cfg.MaxBatch)
			msg := &pb.BridgeSend{Msg: &pb.BridgeSend_Batch{Batch: &pb.BridgeBatch{FromEpoch: r.FromEpoch, ToEpoch: r.ToEpoch,
				Entries: batch[:n], Resend: resend}}}
			if err := st.Send(msg); err != nil {
				return recvErr(st)
			}
			s.mu.Lock()
			s.sent = max(s.sent, batch[n-1].Seq)
			s.mu.Unlock()
			batch = batch[n:]
		}
		resend = false
		select {
		case <-s.ctx.Done():
			return nil
		case err := <-recvDone:
			return err
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// pendingLocked returns the queued entries not yet sent on this stream, as messages.
func (s *Sender) pendingLocked() []*pb.BridgeEntry {
	i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].seq > s.sent })
	if i == len(s.queue) {
		return nil
	}
	n := len(s.queue) - i
	slab := make([]pb.BridgeEntry, n)
	out := make([]*pb.BridgeEntry, n)
	for k := range out {
		e, m := &s.queue[i+k], &slab[k]
		m.Seq, m.Tick, m.Item, m.Count, m.ExportedUnixUs = e.seq, e.tick, e.item, e.count, e.exportedUS
		out[k] = m
	}
	return out
}

// receiveAcks applies the receiver's acknowledgements.
func (s *Sender) receiveAcks(st pb.BridgeService_TransferClient, r Route) error {
	for {
		ack, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the receiver closed the stream")
			}
			return err
		}
		if ack.ToEpoch != r.ToEpoch {
			// An acknowledgement from another epoch of the destination is not ours.
			continue
		}
		s.onAck(ack.Hwm, ack.Credit)
	}
}

// onAck prunes the queue and submits the acknowledgement to the source's shard.
func (s *Sender) onAck(hwm uint64, credit int64) {
	s.mu.Lock()
	if hwm > s.acked {
		s.acked = hwm
		s.progress = s.cfg.Now()
		i := 0
		var items int64
		now := s.cfg.Now()
		for i < len(s.queue) && s.queue[i].seq <= hwm {
			s.rates.add(now, int64(s.queue[i].count))
			items += int64(s.queue[i].count)
			i++
		}
		if m := s.cfg.Metrics; m != nil {
			m.items.WithLabelValues(s.route.Bridge, "sender").Add(float64(items))
		}
		s.queue = append(s.queue[:0], s.queue[i:]...)
	}
	s.credit = credit
	submit := hwm > s.ackedSent || credit != s.creditSet || !s.ackInput
	if submit {
		s.ackedSent, s.creditSet, s.ackInput = max(s.ackedSent, hwm), credit, true
	}
	s.mu.Unlock()
	if submit {
		if err := s.sh.Submit(shard.Input{Data: s.cfg.Codec.AckInput(s.port, hwm, credit)}, 0); err != nil {
			// The ack comes again with the receiver's next change or after a reconnect.
			s.mu.Lock()
			s.ackInput = false
			s.mu.Unlock()
		}
	}
	s.poke()
}

// recvErr returns the stream's real error after a failed Send.
func recvErr(st pb.BridgeService_TransferClient) error {
	_, err := st.Recv()
	if err == nil || errors.Is(err, io.EOF) {
		return errors.New("the stream to the receiver broke")
	}
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("receiver refused: %s", status.Convert(err).Message())
	}
	return err
}

// Stats reports the sending end for heartbeats.
func (s *Sender) Stats() *pb.BridgeEndStats {
	out := &pb.BridgeEndStats{Side: "sender"}
	var moved, acked map[string]int64
	var last, ackedSeq uint64
	var credit int64
	outbox := 0
	_ = s.sh.Inspect(func(sim shard.Simulation) {
		bs, ok := sim.(Sim)
		if !ok {
			return
		}
		moved, acked = bs.BridgeCounts(s.port)
		last, ackedSeq, credit = bs.BridgeExportState(s.port)
		bs.BridgeOutbox(s.port, 0, func(uint64, uint64, string, int32) bool { outbox++; return true })
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	out.Bridge, out.Surface, out.Epoch = s.route.Bridge, s.route.FromSurface, s.route.FromEpoch
	out.Items = itemCounts(moved, acked)
	out.LastSeq, out.AckedSeq, out.Credit, out.OutboxEntries = last, ackedSeq, credit, uint32(outbox)
	out.Connected, out.Error = s.connected, s.lastErr
	out.StacksPerSecond, out.ItemsPerSecond = s.rates.rate(s.cfg.Now())
	if m := s.cfg.Metrics; m != nil {
		m.inflight.WithLabelValues(s.route.Bridge).Set(float64(outbox))
	}
	return out
}
