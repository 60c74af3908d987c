package bridge

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// tick is one game tick of wall time, for latency in ticks.
const tick = time.Second / 60

// latencyPerTick bounds the latency samples taken per confirmed tick.
const latencyPerTick = 16

// Receiver is a bridge's receiving end beside the destination surface's shard: it
// submits deliveries as inputs and acknowledges what confirmed ticks applied.
type Receiver struct {
	cfg  Config
	sh   Shard
	port atomic.Uint32
	// space is the sequence space of the sender served (0: none yet); Capture reads it
	// on the tick goroutine.
	space atomic.Uint64

	mu        sync.Mutex
	route     Route
	base      uint64 // the sender's acknowledged floor in space
	submitted uint64 // highest sequence submitted to the shard
	hwm       uint64 // high-water mark at the last confirmed tick (the base if the space is new there)
	room      int64  // credit at the last confirmed tick
	lost      int64  // sequence numbers the port gave up (see sim's BridgeImportLost)
	confirmed bool   // hwm and room come from a confirmed tick of this space
	pending   map[uint64]pendingEntry
	latencies latencyRing // ticks
	active    *rstream
	rates     rateMeter
	lastErr   string
}

type pendingEntry struct {
	exportedUS int64
	count      int32
}

// rstream is the one sender stream a receiver serves at a time.
type rstream struct {
	notify chan struct{}
	done   chan struct{}
}

// NewReceiver starts a bridge's receiving end beside the destination surface's shard.
func NewReceiver(cfg Config, sh Shard, route Route) (*Receiver, error) {
	cfg.defaults()
	port, err := resolvePort(sh, route.ToPort, false)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: surface %s: %w", route.Bridge, route.ToSurface, err)
	}
	r := &Receiver{cfg: cfg, sh: sh, route: route, pending: map[uint64]pendingEntry{}}
	r.port.Store(port)
	sh.AddOutlet(r)
	return r, nil
}

// Recheck resolves the port name again and follows it if it names another entity now
// (the import port was rebuilt or the label moved). Marks are the surface's, by space,
// so the new port continues where the old one stood.
func (r *Receiver) Recheck() {
	r.mu.Lock()
	name := r.route.ToPort
	r.mu.Unlock()
	id, err := resolvePort(r.sh, name, false)
	if err != nil {
		r.mu.Lock()
		r.lastErr = err.Error()
		r.mu.Unlock()
		return
	}
	r.port.Store(id)
}

// Stale says why the receiver must be started again ("" while it is current).
func (r *Receiver) Stale() string { return "" }

// Update gives the receiver the controller's latest route.
func (r *Receiver) Update(rt Route) {
	r.mu.Lock()
	r.route = rt
	r.mu.Unlock()
}

// Stop ends the receiver and the stream it serves.
func (r *Receiver) Stop() {
	r.sh.RemoveOutlet(r)
	r.mu.Lock()
	if r.active != nil {
		close(r.active.done)
		r.active = nil
	}
	r.mu.Unlock()
}

type receiverState struct {
	space uint64
	hwm   uint64
	known bool
	room  int64
	lost  int64
}

// Capture reads the surface's mark for the served space and the import port's free
// room after a tick.
func (r *Receiver) Capture(sim shard.Simulation, _ uint64) any {
	bs, ok := sim.(Sim)
	if !ok {
		return nil
	}
	port := r.port.Load()
	st := receiverState{space: r.space.Load(), lost: bs.BridgeImportLost(port)}
	_, st.room = bs.BridgeImportState(port)
	if st.space != 0 {
		st.hwm, st.known = bs.BridgeImportMark(st.space)
	}
	return st
}

// Release makes a confirmed tick's state the one acknowledged.
func (r *Receiver) Release(_ uint64, v any) {
	st, ok := v.(receiverState)
	if !ok {
		return
	}
	now := r.cfg.Now()
	r.mu.Lock()
	if st.space == 0 || st.space != r.space.Load() {
		r.mu.Unlock()
		return // captured for another sender's space
	}
	if !st.known {
		// The surface has not met this space: it starts it at the sender's floor.
		st.hwm = r.base
	}
	r.lost = st.lost
	changed := !r.confirmed || st.hwm != r.hwm || st.room != r.room
	if st.hwm > r.hwm {
		// Latency of the entries this tick applied; at most latencyPerTick samples per tick,
		// spread over the run, so the kept samples cover seconds even at high rates.
		applied := st.hwm - r.hwm
		step := max(applied/latencyPerTick, 1)
		var items int64
		for seq := r.hwm + 1; seq <= st.hwm; seq++ {
			p, ok := r.pending[seq]
			if !ok {
				continue
			}
			if (seq-r.hwm-1)%step == 0 {
				l := float64(now.UnixMicro()-p.exportedUS) / float64(tick.Microseconds())
				r.latencies.add(l)
				if m := r.cfg.Metrics; m != nil {
					m.latency.WithLabelValues(r.route.Bridge).Observe(l)
				}
			}
			items += int64(p.count)
			r.rates.add(now, int64(p.count))
			delete(r.pending, seq)
		}
		if m := r.cfg.Metrics; m != nil {
			m.items.WithLabelValues(r.route.Bridge, "receiver").Add(float64(items))
		}
	}
	r.hwm, r.room, r.confirmed = st.hwm, st.room, true
	a := r.active
	r.mu.Unlock()
	if changed && a != nil {
		select {
		case a.notify <- struct{}{}:
		default:
		}
	}
}

// checkEpochs refuses a sender whose epochs are not the current ones.
func (r *Receiver) checkEpochs(from, to uint64) error {
	r.mu.Lock()
	rt := r.route
	r.mu.Unlock()
	if cur := r.sh.Epoch(); to != cur {
		return status.Errorf(codes.FailedPrecondition, "surface %s runs epoch %d here, the sender addressed epoch %d", rt.ToSurface, cur, to)
	}
	if from < rt.FromEpoch {
		return status.Errorf(codes.FailedPrecondition, "the sender of surface %s is at epoch %d, the current primary's is %d", rt.FromSurface, from, rt.FromEpoch)
	}
	if from > rt.FromEpoch {
		return status.Errorf(codes.Unavailable, "surface %s epoch %d is newer than this node knows (%d); retry", rt.FromSurface, from, rt.FromEpoch)
	}
	return nil
}

// serve runs one sender's stream, replacing any earlier one.
func (r *Receiver) serve(st pb.BridgeService_TransferServer, h *pb.BridgeHello) error {
	if err := r.checkEpochs(h.FromEpoch, h.ToEpoch); err != nil {
		return err
	}
	if h.Space == 0 {
		return status.Errorf(codes.FailedPrecondition, "the sender of bridge %s names no sequence space: its node runs an older Starlane; upgrade it", h.Bridge)
	}
	r.mu.Lock()
	from := r.route.FromNode
	r.mu.Unlock()
	if from != "" && h.Sender != from {
		// Same epoch (checked above), another node: not the sender the controller
		// routed, which this stream would otherwise replace.
		return status.Errorf(codes.PermissionDenied, "bridge %s comes from node %s this epoch, not %q", h.Bridge, from, h.Sender)
	}
	a := &rstream{notify: make(chan struct{}, 1), done: make(chan struct{})}
	r.mu.Lock()
	if r.active != nil {
		close(r.active.done)
	}
	if h.Space != r.space.Load() {
		// Another space: nothing known of the old one applies to it.
		r.space.Store(h.Space)
		r.base, r.submitted, r.hwm, r.confirmed = h.Base, 0, 0, false
		clear(r.pending)
	}
	r.base = max(r.base, h.Base)
	r.active = a
	r.lastErr = ""
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.active == a {
			r.active = nil
		}
		r.mu.Unlock()
	}()
	a.notify <- struct{}{} // tell the sender where to start at once

	errc := make(chan error, 2)
	go func() { errc <- r.sendAcks(st, a) }()
	go func() { errc <- r.receive(st, a) }()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, io.EOF) {
			r.mu.Lock()
			r.lastErr = Reason(err)
			r.mu.Unlock()
		}
		return err
	case <-a.done:
		return status.Error(codes.Aborted, "a newer stream of this bridge replaced this one")
	}
}

func (r *Receiver) sendAcks(st pb.BridgeService_TransferServer, a *rstream) error {
	for {
		select {
		case <-a.done:
			return nil
		case <-st.Context().Done():
			return st.Context().Err()
		case <-a.notify:
		}
		r.mu.Lock()
		ready := r.confirmed
		ack := &pb.BridgeAck{ToEpoch: r.sh.Epoch(), Hwm: r.hwm, Credit: r.room, Space: r.space.Load()}
		r.mu.Unlock()
		if !ready {
			continue
		}
		if err := st.Send(ack); err != nil {
			return err
		}
	}
}

func (r *Receiver) receive(st pb.BridgeService_TransferServer, a *rstream) error {
	for {
		msg, err := st.Recv()
		if err != nil {
			return err
		}
		b := msg.GetBatch()
		if b == nil {
			return status.Error(codes.InvalidArgument, "expected a batch after the hello")
		}
		if err := r.checkEpochs(b.FromEpoch, b.ToEpoch); err != nil {
			return err
		}
		if err := r.submit(b); err != nil {
			return err
		}
	}
}

// maxEntryCount bounds one entry's count: an export port sends a stack at a
// time, and no item stacks to more than this.
const maxEntryCount = 1 << 16

// submit hands a batch's new entries to the shard in sequence order. Entries a confirmed
// tick already applied are dropped here; the simulation drops any other duplicate.
func (r *Receiver) submit(b *pb.BridgeBatch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	space := r.space.Load()
	if b.Space != space {
		return status.Errorf(codes.InvalidArgument, "a batch of sequence space %016x on a stream of space %016x", b.Space, space)
	}
	r.base = max(r.base, b.Base)
	if b.Resend {
		// The sender saw no progress: whatever was submitted past the confirmed
		// high-water mark was refused (out of order, or no room) and goes in again.
		r.submitted = min(r.submitted, r.hwm)
	}
	// Before the first confirmed tick of this space the mark is not known here; the
	// sender's floor is a safe start: entries between it and the surface's mark are
	// duplicates the simulation skips, and a start below the mark leaves no gap.
	// One input carries the batch's run of new, consecutive entries.
	// A stack's count comes from a source's state: one that cannot be (not
	// positive, or beyond any stack) is refused before its number is spent.
	for _, e := range b.Entries {
		if e.Count <= 0 || e.Count > maxEntryCount || e.Item == "" {
			return status.Errorf(codes.InvalidArgument, "bridge %s: entry %d carries %d of %q, which no export port sends", r.route.Bridge, e.Seq, e.Count, e.Item)
		}
	}
	var items []string
	var counts []int32
	// Below the sender's floor nothing is left to send; if this surface's mark is
	// below it, the simulation counts the gap as lost.
	first := max(r.submitted, r.hwm, r.base) + 1
	next := first
	for _, e := range b.Entries {
		if e.Seq < next {
			continue
		}
		if e.Seq != next {
			break // a gap: the missing entries come with the sender's next resend
		}
		items, counts = append(items, e.Item), append(counts, e.Count)
		next++
	}
	if len(items) == 0 {
		if n := len(b.Entries); n > 0 && b.Entries[n-1].Seq <= r.hwm && r.confirmed && r.active != nil {
			// Every entry is one this surface applied already: its sender was rolled
			// back or restored and numbers its exports again from its save. The mark
			// has not moved, so no ack would follow; say it again, or the sender
			// waits for one with its outbox full (see Sender.onAck).
			select {
			case r.active.notify <- struct{}{}:
			default:
			}
		}
		return nil
	}
	in := shard.Input{Data: r.cfg.Codec.DeliverSpaceInput(r.port.Load(), space, r.base, first, items, counts)}
	if err := r.sh.Submit(in, 0); err != nil {
		if errors.Is(err, shard.ErrClosed) {
			return status.Error(codes.Unavailable, "the destination shard stopped")
		}
		return nil // busy: the entries come again with the next resend
	}
	r.submitted = next - 1
	for _, e := range b.Entries {
		if e.Seq >= first && e.Seq < next && len(r.pending) < 1<<20 {
			r.pending[e.Seq] = pendingEntry{e.ExportedUnixUs, e.Count}
		}
	}
	return nil
}

// Stats reports the receiving end for heartbeats.
func (r *Receiver) Stats() *pb.BridgeEndStats {
	out := &pb.BridgeEndStats{Side: "receiver"}
	var moved map[string]int64
	port := r.port.Load()
	_ = r.sh.Inspect(func(sim shard.Simulation) {
		if bs, ok := sim.(Sim); ok {
			moved, _ = bs.BridgeCounts(port)
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	out.Bridge, out.Surface, out.Epoch = r.route.Bridge, r.route.ToSurface, r.sh.Epoch()
	out.Items = ItemCounts(moved, nil)
	out.LastSeq, out.Credit, out.Connected, out.Error = r.hwm, r.room, r.active != nil, r.lastErr
	out.Space, out.LostSeqs = r.space.Load(), r.lost
	out.StacksPerSecond, out.ItemsPerSecond = r.rates.rate(r.cfg.Now())
	out.LatencyTicksP50, out.LatencyTicksP99 = r.latencies.percentiles()
	return out
}
