package replica

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// Server is a node's ReplicationService: it hands each Follow stream to the Source
// of the surface's primary on this node.
type Server struct {
	pb.UnimplementedReplicationServiceServer
	cfg     Config
	mu      sync.Mutex
	sources map[string]*Source
	added   chan struct{} // closed and replaced when a source is added
}

// NewServer returns a server without sources.
func NewServer(cfg Config) *Server {
	cfg.defaults()
	return &Server{cfg: cfg, sources: map[string]*Source{}, added: make(chan struct{})}
}

// Source is the primary's end of replication for one surface: who may follow, and
// how each standby keeps up.
type Source struct {
	srv     *Server
	surface string
	sh      *shard.Shard

	mu      sync.Mutex
	allowed map[string]bool
	feeds   map[string]*feed // by standby node, the stream serving it now
	closed  bool
	// OnDesync, if set, is told about each hot standby desync report written.
	onDesync func(node string, d shard.Desync, rep *shard.DesyncReport)
	onResync func(node, reason string)
	changed  chan struct{} // closed and replaced when an ack arrives
}

// feed is one standby's stream.
type feed struct {
	node   string
	cancel context.CancelFunc
	since  time.Time
	// Guarded by Source.mu.
	acked, sent uint64
	ackAt       time.Time
	catchingUp  bool
	pending     int64 // bytes sent and not acknowledged (checkpoint included)
	sizes       []tickBytes
}

type tickBytes struct {
	tick  uint64
	bytes int64
}

// standbyState remembers a standby between streams, for Stats.
type standbyState struct {
	acked  uint64
	ackAt  time.Time
	lostAt time.Time
}

// Add starts serving standbys of a primary shard; standbys names the nodes that may
// follow it.
func (s *Server) Add(surface string, sh *shard.Shard, standbys []string) *Source {
	src := &Source{srv: s, surface: surface, sh: sh, allowed: map[string]bool{}, feeds: map[string]*feed{}, changed: make(chan struct{})}
	src.SetStandbys(standbys)
	s.mu.Lock()
	if old := s.sources[surface]; old != nil {
		old.close()
	}
	s.sources[surface] = src
	close(s.added)
	s.added = make(chan struct{})
	s.mu.Unlock()
	return src
}

// Remove stops serving a source and ends its streams.
func (s *Server) Remove(src *Source) {
	s.mu.Lock()
	if s.sources[src.surface] == src {
		delete(s.sources, src.surface)
	}
	s.mu.Unlock()
	src.close()
}

func (src *Source) close() {
	src.mu.Lock()
	src.closed = true
	for _, f := range src.feeds {
		f.cancel()
	}
	src.mu.Unlock()
	if m := src.srv.cfg.Metrics; m != nil {
		m.lagTicks.DeletePartialMatch(map[string]string{"surface": src.surface})
		m.lagBytes.DeletePartialMatch(map[string]string{"surface": src.surface})
	}
}

// OnResync sets the callback for a standby whose copy must start over from a
// checkpoint while the primary still counts its acknowledgements: the node reports it
// unsynced to the controller (and stops counting it) before the copy is replaced, so
// it is never promoted in between. It must not block.
func (src *Source) OnResync(fn func(node, reason string)) {
	src.mu.Lock()
	src.onResync = fn
	src.mu.Unlock()
}

// OnDesync sets the callback for hot standby desync reports.
func (src *Source) OnDesync(fn func(node string, d shard.Desync, rep *shard.DesyncReport)) {
	src.mu.Lock()
	src.onDesync = fn
	src.mu.Unlock()
}

// SetStandbys names the nodes that may follow; streams of others end.
func (src *Source) SetStandbys(nodes []string) {
	src.mu.Lock()
	defer src.mu.Unlock()
	src.allowed = map[string]bool{}
	for _, n := range nodes {
		src.allowed[n] = true
	}
	for n, f := range src.feeds {
		if !src.allowed[n] {
			f.cancel()
		}
	}
}

// Stats reports each named standby: connected, acknowledged tick, lag in ticks and
// bytes. Synced is left for the caller, which knows the assignment.
func (src *Source) Stats() []*pb.ReplicaStats {
	ex := src.sh.Executed()
	src.mu.Lock()
	defer src.mu.Unlock()
	names := make([]string, 0, len(src.allowed))
	for n := range src.allowed {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*pb.ReplicaStats, 0, len(names))
	for _, n := range names {
		st := &pb.ReplicaStats{Node: n}
		if f := src.feeds[n]; f != nil {
			st.Connected, st.AckedTick, st.CatchingUp = true, f.acked, f.catchingUp
			if !f.ackAt.IsZero() {
				st.LastAckUnixMs = f.ackAt.UnixMilli()
			}
			st.LagBytes = uint64(f.pending)
			if ex > f.acked {
				st.LagTicks = ex - f.acked
				if f.sent < ex {
					// Ticks not even sent yet weigh about what the last sent ones did.
					if k := len(f.sizes); k > 0 {
						st.LagBytes += uint64(f.sizes[k-1].bytes) * (ex - f.sent)
					}
				}
			}
		} else {
			st.LagTicks = ex
		}
		if m := src.srv.cfg.Metrics; m != nil {
			m.lagTicks.WithLabelValues(src.surface, n).Set(float64(st.LagTicks))
			m.lagBytes.WithLabelValues(src.surface, n).Set(float64(st.LagBytes))
		}
		out = append(out, st)
	}
	return out
}

// Acked returns the last tick standby node acknowledged on its current stream and
// whether it is connected.
func (src *Source) Acked(node string) (uint64, bool) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if f := src.feeds[node]; f != nil {
		return f.acked, true
	}
	return 0, false
}

func (src *Source) ackChanged() <-chan struct{} {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.changed
}

// ErrHandoffTimeout means the handoff target did not acknowledge the primary's last
// tick in time; the primary is sequencing again.
var ErrHandoffTimeout = errors.New("the handoff target did not acknowledge the last tick in time")

// Handoff freezes the primary (no tick runs after the one in progress) and waits
// until standby `to` holds its last tick durably. It returns that tick and when
// the primary stopped. On timeout or ctx's end it thaws the primary and fails.
func (src *Source) Handoff(ctx context.Context, to string, timeout time.Duration) (uint64, time.Time, error) {
	last, err := src.sh.Freeze()
	if err != nil {
		return 0, time.Time{}, err
	}
	stopped := src.srv.cfg.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		ch := src.ackChanged()
		if a, ok := src.Acked(to); ok && a >= last {
			if m := src.srv.cfg.Metrics; m != nil {
				m.handoffSeconds.Observe(src.srv.cfg.Now().Sub(stopped).Seconds())
			}
			return last, stopped, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			src.sh.Thaw()
			return 0, time.Time{}, fmt.Errorf("%w (%s holds tick %d of %d)", ErrHandoffTimeout, to, func() uint64 { a, _ := src.Acked(to); return a }(), last)
		case <-ctx.Done():
			src.sh.Thaw()
			return 0, time.Time{}, ctx.Err()
		}
	}
}

func epochStatus(err error) error {
	var ee *shard.EpochError
	if errors.As(err, &ee) && ee.Got > ee.Current {
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.FailedPrecondition, err.Error())
}

// Follow serves one standby; see replication.proto.
func (s *Server) Follow(st pb.ReplicationService_FollowServer) error {
	first, err := st.Recv()
	if err != nil {
		return err
	}
	h := first.GetHello()
	if h == nil {
		return status.Error(codes.InvalidArgument, "the first message of a replication stream must be a hello")
	}
	src, err := s.await(st.Context(), h.Surface, first.Epoch)
	if err != nil {
		return err
	}
	return src.serve(st, first.Epoch, h)
}

// await returns the source of surface once its shard serves epoch. A standby that
// learns of a new epoch may dial the new primary a moment before that node has
// applied its promotion (a live move's old primary, demoted, races the target's
// promotion); refusing it then would cost the standby a redial backoff, and the new
// primary's confirmations wait for it. So a newer epoch, or no source yet, is
// waited for up to Config.AwaitPrimary; an older epoch is refused at once.
func (s *Server) await(ctx context.Context, surface string, epoch uint64) (*Source, error) {
	deadline := time.NewTimer(s.cfg.AwaitPrimary)
	defer deadline.Stop()
	// Promotion raises a running shard's epoch without telling the server: poll it.
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		s.mu.Lock()
		src, added := s.sources[surface], s.added
		s.mu.Unlock()
		var err error
		if src == nil {
			err = status.Errorf(codes.NotFound, "node %s does not run the primary of surface %s", s.cfg.Node, surface)
		} else if e := src.sh.CheckEpoch(epoch); e != nil {
			if err = epochStatus(e); status.Code(err) != codes.Unavailable {
				return nil, err
			}
		} else {
			return src, nil
		}
		select {
		case <-added:
		case <-poll.C:
		case <-deadline.C:
			return nil, err
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

func (src *Source) serve(st pb.ReplicationService_FollowServer, epoch uint64, h *pb.FollowHello) error {
	sh, cfg := src.sh, src.srv.cfg
	if err := sh.CheckEpoch(epoch); err != nil {
		return epochStatus(err)
	}
	ctx, cancel := context.WithCancel(st.Context())
	defer cancel()
	f := &feed{node: h.Node, cancel: cancel, since: cfg.Now()}
	src.mu.Lock()
	if src.closed {
		src.mu.Unlock()
		return status.Errorf(codes.Unavailable, "surface %s stopped on node %s", src.surface, cfg.Node)
	}
	if !src.allowed[h.Node] {
		src.mu.Unlock()
		return status.Errorf(codes.FailedPrecondition, "node %s is not a standby of surface %s under epoch %d", h.Node, src.surface, sh.Epoch())
	}
	if old := src.feeds[h.Node]; old != nil {
		old.cancel()
	}
	src.feeds[h.Node] = f
	src.mu.Unlock()
	defer func() {
		src.mu.Lock()
		if src.feeds[h.Node] == f {
			delete(src.feeds, h.Node)
		}
		src.mu.Unlock()
	}()

	var sendMu sync.Mutex
	send := func(m *pb.FollowResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		m.Epoch = sh.Epoch()
		return st.Send(m)
	}
	players, err := sh.Store().Players()
	if err != nil {
		return status.Errorf(codes.Internal, "player table: %v", err)
	}
	gen := sh.PlayerGen()
	start := &pb.FollowStart{HashEvery: cfg.HashEvery, Players: playerNames(players)}
	next := h.Tick + 1
	var cp *shard.Checkpoint
	if hash, ok := sh.HashAfter(h.Tick); !h.HasState || !ok || hash != h.Hash {
		src.mu.Lock()
		cb := src.onResync
		src.mu.Unlock()
		if cb != nil && sh.Confirms(h.Node) {
			// A synced copy is about to be replaced: first it must stop counting as one.
			reason := fmt.Sprintf("its copy at tick %d must start over from a checkpoint", h.Tick)
			if !h.HasState {
				reason = "its copy must start over from a checkpoint (resync)"
			}
			cb(h.Node, reason)
			return status.Errorf(codes.Unavailable, "standby %s of surface %s: %s; waiting until it no longer counts as synced", h.Node, src.surface, reason)
		}
		if cp, err = sh.Store().LatestCheckpoint(^uint64(0)); err != nil || cp == nil {
			return status.Errorf(codes.Unavailable, "surface %s has no checkpoint to start a standby from yet: %v", src.surface, err)
		}
		start.Checkpoint, start.CheckpointTick, start.CheckpointHash, start.CheckpointBytes = true, cp.Tick, cp.Hash, uint64(len(cp.Data))
		next = cp.Tick + 1
		src.mu.Lock()
		f.catchingUp, f.pending, f.acked, f.sent = true, int64(len(cp.Data)), 0, cp.Tick
		f.sizes = append(f.sizes, tickBytes{cp.Tick, int64(len(cp.Data))})
		src.mu.Unlock()
		cfg.Logger.Info("standby starts from a checkpoint", "surface", src.surface, "standby", h.Node, "checkpoint", cp.Tick,
			"bytes", len(cp.Data), "standby_tick", h.Tick, "had_state", h.HasState)
	} else {
		src.mu.Lock()
		f.acked, f.sent, f.catchingUp = h.Tick, h.Tick, sh.Executed() > h.Tick+60
		src.mu.Unlock()
		cfg.Logger.Info("standby continues its copy", "surface", src.surface, "standby", h.Node, "from", next)
	}
	if err := send(&pb.FollowResponse{Msg: &pb.FollowResponse_Start{Start: start}}); err != nil {
		return err
	}
	if cp != nil {
		for off := 0; ; off += checkpointChunk {
			end := min(off+checkpointChunk, len(cp.Data))
			if err := send(&pb.FollowResponse{Msg: &pb.FollowResponse_Checkpoint{Checkpoint: &pb.CheckpointChunk{Data: cp.Data[off:end], Last: end == len(cp.Data)}}}); err != nil {
				return err
			}
			if end == len(cp.Data) {
				break
			}
		}
		src.count(h.Node, int64(len(cp.Data)))
		if m := cfg.Metrics; m != nil {
			m.checkpoints.WithLabelValues(src.surface).Inc()
		}
	}

	recvErr := make(chan error, 1)
	go func() {
		err := src.receive(ctx, st, f, send)
		recvErr <- err
		cancel()
	}()
	lastCkpt := sh.CheckpointTick()
	if cp != nil {
		lastCkpt = cp.Tick
	}
	// held are executed ticks not sent yet: quiet ones (no inputs, nothing watching)
	// wait up to IdleDelay from the first, so that an idle surface's standbys get a
	// few messages a second instead of one per tick.
	var (
		held     []shard.Record
		heldFrom time.Time
	)
	for {
		wait := cfg.Keepalive
		if len(held) > 0 {
			wait = max(cfg.IdleDelay-cfg.Now().Sub(heldFrom), time.Millisecond)
		}
		rctx, rcancel := context.WithTimeout(ctx, wait)
		recs, err := sh.ReadExecuted(rctx, next, cfg.MaxTicks-len(held))
		rcancel()
		switch {
		case err == nil:
			next = recs[len(recs)-1].Tick + 1
			if len(held) == 0 {
				heldFrom = cfg.Now()
			}
			held = append(held, recs...)
			if cfg.IdleDelay > 0 && len(held) < cfg.MaxTicks && cfg.Now().Sub(heldFrom) < cfg.IdleDelay && quiet(recs) && !sh.Watched() && !sh.Frozen() {
				continue
			}
		case len(held) > 0 && (errors.Is(err, shard.ErrFrozen) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil):
			// Held long enough, or a handoff waits: send them.
		case errors.Is(err, shard.ErrFrozen):
			continue
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			// Idle (frozen, fenced or slow): tell the standby the primary is alive.
			if err := send(&pb.FollowResponse{Msg: &pb.FollowResponse_Ticks{Ticks: &pb.ReplicaTicks{ConfirmedTick: sh.Confirmed()}}}); err != nil {
				return err
			}
			continue
		case ctx.Err() != nil:
			select {
			case err := <-recvErr:
				return err
			default:
			}
			src.mu.Lock()
			stillAllowed := src.allowed[h.Node] && !src.closed
			src.mu.Unlock()
			if !stillAllowed {
				return status.Errorf(codes.FailedPrecondition, "node %s is no longer a standby of surface %s here", h.Node, src.surface)
			}
			return status.FromContextError(ctx.Err()).Err()
		case errors.Is(err, shard.ErrClosed):
			return status.Errorf(codes.Unavailable, "surface %s stopped on node %s", src.surface, cfg.Node)
		default:
			return status.Errorf(codes.Unavailable, "read ticks from %d: %v; follow again", next, err)
		}
		recs, held = held, nil
		ticks, size := fromRecords(recs)
		msg := &pb.ReplicaTicks{Ticks: ticks, ConfirmedTick: sh.Confirmed()}
		if g := sh.PlayerGen(); g != gen {
			gen = g
			if p, err := sh.Store().Players(); err == nil {
				msg.Players = playerNames(p)
			}
		}
		if err := send(&pb.FollowResponse{Msg: &pb.FollowResponse_Ticks{Ticks: msg}}); err != nil {
			return err
		}
		last := recs[len(recs)-1].Tick
		src.mu.Lock()
		f.sent = last
		f.pending += size
		f.sizes = append(f.sizes, tickBytes{last, size})
		if f.catchingUp && last+60 >= sh.Executed() {
			f.catchingUp = false
		}
		src.mu.Unlock()
		src.count(h.Node, size)
		if ct := sh.CheckpointTick(); ct > lastCkpt && ct <= last {
			c, err := sh.Store().LatestCheckpoint(ct)
			if err == nil && c != nil && c.Tick > lastCkpt {
				if err := send(&pb.FollowResponse{Msg: &pb.FollowResponse_NewCheckpoint{NewCheckpoint: &pb.ReplicaCheckpoint{Tick: c.Tick, Hash: c.Hash, Data: c.Data}}}); err != nil {
					return err
				}
				lastCkpt = c.Tick
				src.count(h.Node, int64(len(c.Data)))
				if m := cfg.Metrics; m != nil {
					m.checkpoints.WithLabelValues(src.surface).Inc()
				}
			}
		}
	}
}

// quiet reports whether no tick of recs has inputs.
func quiet(recs []shard.Record) bool {
	for _, r := range recs {
		if len(r.Inputs) > 0 {
			return false
		}
	}
	return true
}

func (src *Source) count(node string, n int64) {
	if m := src.srv.cfg.Metrics; m != nil {
		m.sentBytes.WithLabelValues(src.surface, node).Add(float64(n))
	}
}

// receive handles the standby's acknowledgements and desync states.
func (src *Source) receive(ctx context.Context, st pb.ReplicationService_FollowServer, f *feed, send func(*pb.FollowResponse) error) error {
	sh, cfg := src.sh, src.srv.cfg
	var state []byte
	for {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		if err := sh.CheckEpoch(m.Epoch); err != nil {
			return epochStatus(err)
		}
		switch msg := m.Msg.(type) {
		case *pb.FollowRequest_Ack:
			t := msg.Ack.Tick
			src.mu.Lock()
			if t > f.acked {
				f.acked, f.ackAt = t, cfg.Now()
				i := 0
				for i < len(f.sizes) && f.sizes[i].tick <= t {
					f.pending -= f.sizes[i].bytes
					i++
				}
				f.sizes = append(f.sizes[:0], f.sizes[i:]...)
				if len(f.sizes) == 0 {
					f.pending = 0
				}
			}
			ch := src.changed
			src.changed = make(chan struct{})
			src.mu.Unlock()
			close(ch)
			sh.Ack(f.node, t)
		case *pb.FollowRequest_DesyncState:
			ds := msg.DesyncState
			state = append(state, ds.Data...)
			if len(state) > 512<<20 {
				return status.Error(codes.ResourceExhausted, "standby state over 512 MiB")
			}
			if !ds.Last {
				continue
			}
			data := state
			state = nil
			d := shard.Desync{Tick: ds.DesyncTick}
			d.Server, _ = sh.HashAt(ds.DesyncTick)
			if d.Server == 0 {
				_ = sh.Store().Batches(ds.DesyncTick+1, ds.DesyncTick+1, func(b shard.Batch) error { d.Server = b.PrevHash; return nil })
			}
			go func() {
				rep, err := sh.ReportStandby(f.node, d, data)
				out := &pb.DesyncReport{Tick: d.Tick}
				if err != nil {
					out.Note = "the primary could not write a report: " + err.Error()
				} else {
					d.ClientHash = rep.ClientHashValue
					out.Path, out.DifferingEntities, out.Note = rep.Path, uint32(len(rep.Entities)), rep.Note
					src.mu.Lock()
					fn := src.onDesync
					src.mu.Unlock()
					if fn != nil {
						fn(f.node, d, rep)
					}
				}
				if ctx.Err() == nil {
					_ = send(&pb.FollowResponse{Msg: &pb.FollowResponse_DesyncReport{DesyncReport: out}})
				}
			}()
		}
	}
}
