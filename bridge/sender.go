package bridge

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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
	port atomic.Uint32
	dest string

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // new entries, an ack or a route change

	// capSeq and capSpace are the last sequence and the space captured; only the tick
	// goroutine touches them. capFirst makes the next capture read the whole outbox.
	capSeq   uint64
	capSpace uint64
	capFirst atomic.Bool

	mu        sync.Mutex
	route     Route
	space     uint64  // the space the queue belongs to (0 until the port is bound)
	bound     bool    // the port is bound to this bridge's destination (confirmed)
	gen       uint64  // moves when the space changes: the stream starts over
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
	lastBind  time.Time
	stale     string // why this end must be started again (port or route changed)
	rates     rateMeter
	// aheadLogged: an ack above the entries sent was logged (see onAck);
	// aheadMark is the highest such ack, the receiver's mark the source's
	// numbers must pass before its exports are applied again.
	aheadLogged bool
	aheadMark   uint64
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
	space   uint64
	dest    string
}

// NewSender starts a bridge's sending end beside the source surface's shard. It sets
// the port's item filter to the route's (clearing it when the route has none) and
// binds the port to the bridge's destination if it is not yet.
func NewSender(cfg Config, sh Shard, route Route, dial Dialer) (*Sender, error) {
	cfg.defaults()
	port, err := resolvePort(sh, route.FromPort, true)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: surface %s: %w", route.Bridge, route.FromSurface, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{cfg: cfg, sh: sh, dial: dial, dest: route.Dest(), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1), route: route, progress: cfg.Now()}
	s.port.Store(port)
	s.capFirst.Store(true)
	var filter []string
	var badItems error
	_ = sh.Inspect(func(sim shard.Simulation) {
		if bs, ok := sim.(Sim); ok {
			filter = bs.BridgePortFilter(port)
			badItems = bs.CheckItems(route.Items)
		}
	})
	if badItems != nil {
		// The surface would refuse the filter and the port keep taking any item.
		cancel()
		return nil, fmt.Errorf("bridge %s: --items: %w", route.Bridge, badItems)
	}
	if !slices.Equal(filter, route.Items) {
		if err := sh.Submit(shard.Input{Data: cfg.Codec.FilterInput(port, route.Items)}, 0); err != nil {
			cancel()
			return nil, fmt.Errorf("bridge %s: set the item filter: %w", route.Bridge, err)
		}
	}
	s.bind(true)
	sh.AddOutlet(s)
	go s.run()
	return s, nil
}

// bind submits a binding of the port to this bridge's destination under a new space,
// unless the port is bound for it already; at most every two seconds unless now. A
// port whose outbox is owed to another destination keeps it: the simulation refuses
// the binding and the sender reports why.
func (s *Sender) bind(now bool) {
	s.mu.Lock()
	if !now && s.cfg.Now().Sub(s.lastBind) < 2*time.Second {
		s.mu.Unlock()
		return
	}
	s.lastBind = s.cfg.Now()
	s.mu.Unlock()
	port := s.port.Load()
	var space uint64
	var dest string
	var owed int
	_ = s.sh.Inspect(func(sim shard.Simulation) {
		if bs, ok := sim.(Sim); ok {
			space, dest = bs.BridgePortSpace(port)
			bs.BridgeOutbox(port, 0, func(uint64, uint64, string, int32) bool { owed++; return true })
		}
	})
	if space != 0 && dest == s.dest {
		return
	}
	if space != 0 && owed > 0 {
		s.mu.Lock()
		s.lastErr = fmt.Sprintf("export port %s holds %d unacknowledged stacks for %s: bridge it to %s again until they are delivered, or use another port",
			s.route.FromPort, owed, dest, dest)
		s.mu.Unlock()
		return
	}
	_ = s.sh.Submit(shard.Input{Data: s.cfg.Codec.BindInput(port, newSpace(), s.dest)}, 0)
}

// newSpace returns a random non-zero sequence space.
func newSpace() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// Update gives the sender the controller's latest route (the destination may have
// moved, or an epoch changed). A route of another bridge identity (re-created, other
// ports or items) marks the sender stale: the node starts it again.
func (s *Sender) Update(r Route) {
	s.mu.Lock()
	if !s.route.sameBridge(r) && s.stale == "" {
		s.stale = "the bridge was re-created or changed"
	}
	s.route = r
	s.mu.Unlock()
	s.poke()
}

// Stale says why the sender must be started again ("" while it is current).
func (s *Sender) Stale() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stale
}

// Recheck resolves the port name again: when it names another entity now (the port
// was rebuilt, or the label moved), the sender follows it and reads its state afresh.
func (s *Sender) Recheck() {
	s.mu.Lock()
	name := s.route.FromPort
	s.mu.Unlock()
	id, err := resolvePort(s.sh, name, true)
	if err != nil {
		s.mu.Lock()
		s.lastErr = err.Error()
		s.mu.Unlock()
		return
	}
	if id != s.port.Swap(id) {
		s.capFirst.Store(true)
		s.bind(true)
		s.poke()
	}
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
// tick, after a start or restart, and whenever the port's space changed).
func (s *Sender) Capture(sim shard.Simulation, t uint64) any {
	bs, ok := sim.(Sim)
	if !ok {
		return nil
	}
	port := s.port.Load()
	space, dest := bs.BridgePortSpace(port)
	out := captureOut{first: s.capFirst.Swap(false) || space != s.capSpace, space: space, dest: dest}
	if out.first {
		s.capSeq, s.capSpace = 0, space
	}
	last, acked, credit := bs.BridgeExportState(port)
	if last > s.capSeq || out.first {
		// Latency is measured from here: the tick that took the items out of the state.
		now := s.cfg.Now().UnixMicro()
		out.entries = make([]entry, 0, min(last-min(s.capSeq, last), 1<<16))
		bs.BridgeOutbox(port, s.capSeq, func(seq, tick uint64, item string, count int32) bool {
			out.entries = append(out.entries, entry{seq, tick, item, count, now})
			return true
		})
		s.capSeq = last
	}
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
		if c.space != s.space {
			// A new space (or the first look at the port): what is queued belongs to
			// the old one, which the port no longer holds.
			s.space, s.queue, s.gen = c.space, s.queue[:0], s.gen+1
			s.acked, s.ackedSent, s.sent, s.ackInput = c.acked, c.acked, c.acked, false
			s.aheadLogged, s.aheadMark = false, 0 // a mark of the old space
		} else {
			// The source (re)started: what it acknowledged is its own state.
			s.acked = max(s.acked, c.acked)
			s.ackedSent = max(s.ackedSent, c.acked)
		}
	}
	wasBound := s.bound
	s.bound = c.space != 0 && c.dest == s.dest
	if s.bound {
		for _, e := range c.entries {
			if e.seq <= s.acked || (len(s.queue) > 0 && e.seq <= s.queue[len(s.queue)-1].seq) {
				continue
			}
			s.queue = append(s.queue, e)
		}
	}
	s.mu.Unlock()
	if len(c.entries) > 0 || wasBound != s.bound {
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
			s.lastErr = Reason(err) // the full error is logged below
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
	s.mu.Lock()
	space, bound, gen, base := s.space, s.bound, s.gen, s.acked
	s.mu.Unlock()
	if !bound {
		s.bind(false)
		s.mu.Lock()
		msg := s.lastErr
		s.mu.Unlock()
		if msg == "" {
			msg = "waiting for the export port to be bound to this bridge's destination"
		}
		return errors.New(msg)
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
		FromSurface: r.FromSurface, FromEpoch: r.FromEpoch, ToSurface: r.ToSurface, ToEpoch: r.ToEpoch, Sender: s.cfg.Node,
		Space: space, Base: base}}}); err != nil {
		return recvErr(st)
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receiveAcks(st, r, space) }()

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
		if s.route.ToAddress != r.ToAddress || s.route.ToEpoch != r.ToEpoch || s.route.FromEpoch != r.FromEpoch || s.gen != gen || !s.bound {
			s.mu.Unlock()
			return nil // reconnect with the new route or space
		}
		if s.sent > s.acked && s.cfg.Now().Sub(s.progress) > s.cfg.Resend {
			// No progress: the receiver lost or refused something; send it all again.
			s.sent, resend = s.acked, true
			s.progress = s.cfg.Now()
		}
		batch := s.pendingLocked()
		base := s.acked
		s.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), s.cfg.MaxBatch)
			// Only the first message of a resend says so: the receiver starts over from
			// its mark on it, and would drop the chunks after it as gaps otherwise.
			msg := &pb.BridgeSend{Msg: &pb.BridgeSend_Batch{Batch: &pb.BridgeBatch{FromEpoch: r.FromEpoch, ToEpoch: r.ToEpoch,
				Entries: batch[:n], Resend: resend, Space: space, Base: base}}}
			resend = false
			if err := st.Send(msg); err != nil {
				// receiveAcks is reading the stream and gets its real error: a
				// second Recv from here would race with it.
				return <-recvDone
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
func (s *Sender) receiveAcks(st pb.BridgeService_TransferClient, r Route, space uint64) error {
	for {
		ack, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the receiver closed the stream")
			}
			if status.Code(err) == codes.FailedPrecondition {
				return fmt.Errorf("receiver refused: %s", status.Convert(err).Message())
			}
			return err
		}
		if ack.ToEpoch != r.ToEpoch || ack.Space != space {
			// An acknowledgement from another epoch of the destination, or of another
			// space, is not about these entries.
			continue
		}
		if err := s.onAck(space, ack.Hwm, ack.Credit); err != nil {
			return err
		}
	}
}

// onAck prunes the queue and submits the acknowledgement to the source's shard.
//
// An ack above every entry released in its space means the receiver applied
// numbers this surface has not sent in its present history: the source was rolled
// back or restored from a save, and its re-exports under numbers the receiver
// already applied are duplicates to it, dropped (bridge/DESIGN.md, "Known
// limits"). The ack is taken as far as the entries sent, never further (acking
// entries not yet released would drop them unsent), so the source's numbers climb
// past the receiver's mark and the bridge goes on. Refusing it stopped the bridge
// for good once the marks were further apart than the outbox's credit.
func (s *Sender) onAck(space, hwm uint64, credit int64) error {
	s.mu.Lock()
	if space != s.space {
		s.mu.Unlock()
		return nil
	}
	top := s.acked
	if len(s.queue) > 0 {
		top = s.queue[len(s.queue)-1].seq
	}
	if hwm > top {
		if !s.aheadLogged {
			s.aheadLogged = true
			s.cfg.Logger.Warn("the receiver holds numbers this surface has not sent since it was rolled back or restored: its exports under them are dropped as duplicates until it passes the receiver's mark",
				"bridge", s.route.Bridge, "receiver_mark", hwm, "last_sent", top)
		}
		s.aheadMark = max(s.aheadMark, hwm)
		hwm = top
	}
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
		if err := s.sh.Submit(shard.Input{Data: s.cfg.Codec.AckSpaceInput(s.port.Load(), space, hwm, credit)}, 0); err != nil {
			// The ack comes again with the receiver's next change or after a reconnect.
			s.mu.Lock()
			s.ackInput = false
			s.mu.Unlock()
		}
	}
	s.poke()
	return nil
}

// recvErr returns the stream's real error after a failed Send, while nothing
// else reads the stream.
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
	var space uint64
	port := s.port.Load()
	_ = s.sh.Inspect(func(sim shard.Simulation) {
		bs, ok := sim.(Sim)
		if !ok {
			return
		}
		moved, acked = bs.BridgeCounts(port)
		last, ackedSeq, credit = bs.BridgeExportState(port)
		space, _ = bs.BridgePortSpace(port)
		bs.BridgeOutbox(port, 0, func(uint64, uint64, string, int32) bool { outbox++; return true })
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	out.Bridge, out.Surface, out.Epoch = s.route.Bridge, s.route.FromSurface, s.route.FromEpoch
	out.Items = ItemCounts(moved, acked)
	out.LastSeq, out.AckedSeq, out.Credit, out.OutboxEntries = last, ackedSeq, credit, uint32(outbox)
	out.Connected, out.Error, out.Space = s.connected, s.lastErr, space
	if s.aheadMark > last && out.Error == "" {
		// Rolled back or restored behind what the receiver applied: what it
		// exports now is dropped as duplicates until its numbers pass the mark.
		out.Error = fmt.Sprintf("behind the receiver after a rollback or restore: exports up to #%d are dropped as duplicates (now at #%d)", s.aheadMark, last)
	}
	out.StacksPerSecond, out.ItemsPerSecond = s.rates.rate(s.cfg.Now())
	if m := s.cfg.Metrics; m != nil {
		m.inflight.WithLabelValues(s.route.Bridge).Set(float64(outbox))
	}
	return out
}
