package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/controller/scheduler"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// applyTimeout bounds how long a proposal waits to enter Raft's queue.
const applyTimeout = 10 * time.Second

// liveState is what only the leader knows: node leases and the latest heartbeat
// stats. It is rebuilt from scratch each time leadership is won.
type liveState struct {
	mu     sync.Mutex
	leases map[string]lease
	// changed is closed when a heartbeat changes the leases (see api_stats.go).
	changed chan struct{}
	// lastPrimaryTick is the newest confirmed tick a primary of each surface
	// reported while this member leads, kept after its node is gone: a restore
	// from an autosave states how many ticks were lost (api_lifecycle.go).
	lastPrimaryTick map[string]primaryTick
	// lastSender is each bridge's newest sender report while this member leads,
	// kept after the sender stops reporting (its surface stopped, moving or failing
	// over): a bridge's counters are then shown as of that report, never as zeros.
	lastSender map[string]senderReport
}

// senderReport is a bridge's sender report with the bridge's create index at the
// time, so that a bridge deleted and declared again is not shown the old one's.
type senderReport struct {
	e           *pb.BridgeEndStats
	createIndex uint64
}

// primaryTick is a primary's newest reported confirmed tick under an epoch; a
// newer epoch (a rollback starts over at an older tick) replaces it.
type primaryTick struct{ epoch, tick uint64 }

type lease struct {
	deadline     time.Time
	registeredMS int64
	lastBeat     time.Time
	shards       []*pb.ShardStats
	bridges      []*pb.BridgeEndStats
	// health is the node's own report of its health ("" or "disk full").
	health string
}

func newLiveState() *liveState {
	return &liveState{leases: map[string]lease{}, lastPrimaryTick: map[string]primaryTick{}, lastSender: map[string]senderReport{}}
}

func (l *liveState) reset() {
	l.mu.Lock()
	l.leases = map[string]lease{}
	l.lastPrimaryTick = map[string]primaryTick{}
	l.lastSender = map[string]senderReport{}
	l.mu.Unlock()
}

// noteSenderLocked keeps e as its bridge's last sender report unless one from a
// newer epoch of the same bridge is kept. Reports are never modified once stored.
func (l *liveState) noteSenderLocked(e *pb.BridgeEndStats, createIndex uint64) {
	if e.Side != "sender" || createIndex == 0 {
		return
	}
	if old, ok := l.lastSender[e.Bridge]; !ok || old.createIndex != createIndex || e.Epoch >= old.e.Epoch {
		l.lastSender[e.Bridge] = senderReport{e: e, createIndex: createIndex}
	}
}

// lastSenders returns a copy of the kept sender reports.
func (l *liveState) lastSenders() map[string]senderReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.lastSender)
}

// snapshot returns a copy of the leases.
func (l *liveState) snapshot() map[string]lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]lease, len(l.leases))
	for k, v := range l.leases {
		out[k] = v
	}
	return out
}

// watchLeadership starts leader-only work when leadership is won and stops it when
// lost. It drains NotifyCh promptly so Raft never blocks on it.
func (c *Controller) watchLeadership(notify <-chan bool) {
	for {
		select {
		case <-c.ctx.Done():
			c.stopLeading()
			return
		case isLeader := <-notify:
			if isLeader {
				c.startLeading()
			} else {
				c.stopLeading()
			}
		}
	}
}

func (c *Controller) startLeading() {
	c.leaderMu.Lock()
	defer c.leaderMu.Unlock()
	if c.leaderStop != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	c.leaderStop, c.leaderDone = cancel, done
	go func() {
		defer close(done)
		c.lead(ctx)
	}()
	go c.probePeers(ctx)
}

func (c *Controller) stopLeading() {
	c.leaderMu.Lock()
	stop, done := c.leaderStop, c.leaderDone
	c.leaderStop, c.leaderDone = nil, nil
	c.leaderMu.Unlock()
	c.leaderReady.Store(false)
	if stop != nil {
		stop()
		<-done
		c.log.Info("lost leadership")
	}
}

// lead is the leader's work: a Barrier so the FSM holds every committed entry,
// then self-registration, the join token, lease timers and the scheduler loop.
func (c *Controller) lead(ctx context.Context) {
	for {
		err := waitFuture(c.raft.Barrier(applyTimeout), c.raftStopped)
		if err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrRaftShutdown) {
			return
		}
		c.log.Warn("leader barrier failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.live.reset()
	now := c.now()
	var up []*pb.Node
	c.fsm.read(func(s *state) {
		for _, n := range s.nodes {
			if n.Status == pb.NodeStatus_NODE_STATUS_UP {
				up = append(up, n)
			}
		}
	})
	c.live.mu.Lock()
	for _, n := range up {
		c.live.leases[n.Id] = lease{deadline: now.Add(c.cfg.LeaseTTL), registeredMS: n.RegisteredUnixMs}
	}
	c.live.mu.Unlock()
	c.leaderReady.Store(true)
	c.log.Info("won leadership", "term", c.raft.CurrentTerm(), "nodes_up", len(up))

	c.ensureSelfRegistered(ctx)
	c.ensureJoinToken(ctx)
	c.ensureAccessKeys(ctx)

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.expireLeases(ctx) }()
	go func() { defer wg.Done(); c.reconcile(ctx) }()
	go func() { defer wg.Done(); c.restoreLost(ctx) }()
	wg.Wait()
}

func (c *Controller) ensureSelfRegistered(ctx context.Context) {
	want := &pb.ControllerInfo{Id: c.id, RaftAddress: c.RaftAddr(), ApiAddress: c.apiAdv}
	var have *pb.ControllerInfo
	c.fsm.read(func(s *state) { have = s.controllers[c.id] })
	if have != nil && proto.Equal(have, want) {
		return
	}
	cmd := &pb.Command{Op: &pb.Command_RegisterController{RegisterController: &pb.RegisterControllerCmd{Id: c.id, RaftAddress: want.RaftAddress, ApiAddress: want.ApiAddress}}}
	if _, err := c.propose(ctx, cmd); err != nil && ctx.Err() == nil {
		c.log.Warn("register this controller's API address", "err", err)
	}
}

func (c *Controller) ensureJoinToken(ctx context.Context) {
	var have string
	c.fsm.read(func(s *state) { have = s.joinToken })
	if have != "" {
		return
	}
	tok := c.cfg.JoinToken
	if tok == "" {
		tok = "slj-" + randomHex(16)
	}
	cmd := &pb.Command{Op: &pb.Command_SetJoinToken{SetJoinToken: &pb.SetJoinTokenCmd{Token: tok, OnlyIfUnset: true}}}
	if _, err := c.propose(ctx, cmd); err != nil && ctx.Err() == nil {
		c.log.Warn("install the node join token", "err", err)
	}
}

// expireLeases commits NodeDown for every node whose lease ran out.
func (c *Controller) expireLeases(ctx context.Context) {
	period := c.cfg.LeaseTTL / 20
	if period < 10*time.Millisecond {
		period = 10 * time.Millisecond
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := c.now()
		for id, l := range c.live.snapshot() {
			if now.Before(l.deadline) {
				continue
			}
			reason := fmt.Sprintf("no heartbeat for %v", c.cfg.LeaseTTL)
			cmd := &pb.Command{Op: &pb.Command_MarkNodeDown{MarkNodeDown: &pb.MarkNodeDownCmd{Id: id, Reason: reason, RegisteredUnixMs: l.registeredMS}}}
			_, err := c.propose(ctx, cmd)
			if err != nil && ctx.Err() != nil {
				return
			}
			if err != nil && status.Code(err) != codes.FailedPrecondition && status.Code(err) != codes.NotFound {
				c.log.Warn("commit node down", "node", id, "err", err)
				continue
			}
			c.live.mu.Lock()
			if cur, ok := c.live.leases[id]; ok && cur.registeredMS == l.registeredMS && !now.Before(cur.deadline) {
				delete(c.live.leases, id)
			}
			c.live.mu.Unlock()
			if err == nil {
				c.log.Warn("node lease expired; marked down", "node", id)
			}
		}
	}
}

// reconcile runs the scheduler after every FSM change (debounced) and once a
// second, and commits its plan after re-checking it.
func (c *Controller) reconcile(ctx context.Context) {
	// Once a second, and faster while a live move waits for its target to catch up.
	t := time.NewTicker(time.Second)
	defer t.Stop()
	fast := time.NewTicker(100 * time.Millisecond)
	defer fast.Stop()
	var noop []byte // a plan that changed nothing; not proposed again until the tick
	for {
		ch := c.fsm.Changed()
		start := time.Now()
		var err error
		if noop, err = c.scheduleOnce(ctx, noop); err != nil && ctx.Err() == nil {
			c.log.Warn("placement round failed", "err", err)
		}
		c.migrate(ctx)
		// A round reads the whole catalog; on a huge catalog under a write storm,
		// wait twenty times as long as the last round took so placement never
		// takes more than about a twentieth of a core from serving writes.
		pause := max(100*time.Millisecond, 20*time.Since(start))
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				// Let a burst of writes land before planning again, but never
				// past the one-second round: a round's time includes waiting
				// for its plan to commit, which on a loaded machine made the
				// pause many seconds long and left a dead node's primaries
				// waiting for it.
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				case <-t.C:
					noop = nil
				}
				break wait
			case <-t.C:
				noop = nil
				break wait
			case <-fast.C:
				if c.moving() {
					c.migrate(ctx)
				}
			}
		}
	}
}

// schedulerState converts the FSM state and live stats into scheduler input. If
// only is non-nil, just those surfaces are included (for re-checking a plan).
// The FSM lock is held only to copy record pointers (records are immutable).
func (c *Controller) schedulerState(only map[string]bool) scheduler.State {
	live := c.live.snapshot()
	cost := map[string]uint64{}
	ticks := map[string]map[string]uint64{}
	now := c.now().UnixMilli()
	for nodeID, l := range live {
		for _, sh := range l.shards {
			if sh.Role == pb.ShardRole_SHARD_ROLE_PRIMARY && sh.TickCostUs > 0 {
				cost[sh.Surface] = sh.TickCostUs
			}
			if ticks[sh.Surface] == nil {
				ticks[sh.Surface] = map[string]uint64{}
			}
			ticks[sh.Surface][nodeID] = sh.ConfirmedTick
		}
	}
	var nodes []*pb.Node
	var surfaces []*pb.Surface
	var uploaded []string
	var bundleNames map[string]string
	c.fsm.read(func(s *state) {
		bundleNames = s.bundleNames()
		for _, n := range sortedKeys(s.bundles) {
			uploaded = append(uploaded, s.bundles[n].Hash)
		}
		nodes = make([]*pb.Node, 0, len(s.nodes))
		for _, n := range s.nodes {
			nodes = append(nodes, n)
		}
		if only != nil {
			for name := range only {
				if sf := s.surfaces[name]; sf != nil && !sf.Stopped {
					surfaces = append(surfaces, sf)
				}
			}
			return
		}
		surfaces = make([]*pb.Surface, 0, len(s.surfaces))
		for _, sf := range s.surfaces {
			if !sf.Stopped { // kept in the catalog, placed nowhere
				surfaces = append(surfaces, sf)
			}
		}
	})
	st := scheduler.State{Nodes: make([]scheduler.Node, 0, len(nodes)), Surfaces: make([]scheduler.Surface, 0, len(surfaces))}
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, scheduler.Node{
			ID: n.Id, Up: n.Status == pb.NodeStatus_NODE_STATUS_UP, Cordoned: n.Cordoned,
			MaxSurfaces: int(n.GetCapacity().GetMaxSurfaces()), Cores: int(n.GetCapacity().GetCores()),
			Bundles: n.Bundles, BundleNames: bundleNames, // read-only in the scheduler
			Unhealthy: live[n.Id].nodeHealth(),
		})
		if !n.BundlesFixed && len(uploaded) > 0 {
			// The node fetches any bundle the cluster has.
			st.Nodes[len(st.Nodes)-1].Bundles = sortedUnique(append(slices.Clone(n.Bundles), uploaded...))
		}
	}
	for _, sf := range surfaces {
		a := sf.GetAssignment()
		st.Surfaces = append(st.Surfaces, scheduler.Surface{
			Name: sf.Name, Kind: surfaceKind(sf), Bundle: sf.BundleHash, Replicas: int(sf.Replicas), Pin: sf.Pin,
			Primary: a.GetPrimary(), Standbys: a.GetStandbys(), // read-only in the scheduler
			Epoch: a.GetEpoch(), TickCostUS: cost[sf.Name], ConfirmedTicks: ticks[sf.Name],
			PlacementError: sf.PlacementError, Refused: refusalsOf(sf, now),
			Synced: a.GetSynced(), MigrationTarget: sf.GetMigration().GetTarget(),
		})
	}
	return st
}

// surfaceKind groups surfaces for the scheduler's cost estimate: those that start
// from the same save or the same built-in map (any seed) with the same bundle.
func surfaceKind(sf *pb.Surface) string {
	if sf.SaveSha256 != "" {
		return "save " + sf.SaveSha256 + " " + sf.BundleHash
	}
	return "map " + sf.Map + " " + sf.BundleHash
}

// scheduleOnce plans and commits one round. skip is the encoding of a plan that
// changed nothing last time; it returns the encoding of this round's plan if that
// too changed nothing.
func (c *Controller) scheduleOnce(ctx context.Context, skip []byte) ([]byte, error) {
	plan := scheduler.Schedule(c.schedulerState(nil))
	if len(plan.Changes) == 0 {
		return nil, nil
	}
	// Re-check against the state as it is now, right before committing; the FSM
	// compare-and-swaps on epochs for what changes after this point.
	names := make(map[string]bool, len(plan.Changes))
	for _, ch := range plan.Changes {
		names[ch.Surface] = true
	}
	check := scheduler.NewChecker(c.schedulerState(names))
	var changes []*pb.PlanChange
	var moves []*pb.Command
	for _, ch := range plan.Changes {
		if err := check.Check(ch); err != nil {
			c.log.Info("dropping stale placement", "surface", ch.Surface, "err", err)
			continue
		}
		pc := &pb.PlanChange{Surface: ch.Surface, ExpectedEpoch: ch.ExpectedEpoch, PlacementError: ch.PlacementError, Reason: ch.Reason}
		if ch.Assign {
			pc.Assignment = &pb.Assignment{Primary: ch.Primary, Standbys: ch.Standbys}
		}
		if ch.Migrate != "" {
			moves = append(moves, &pb.Command{Op: &pb.Command_MoveSurface{MoveSurface: &pb.MoveSurfaceCmd{Surface: ch.Surface, Target: ch.Migrate, Reason: ch.Reason}}})
		}
		changes = append(changes, pc)
	}
	for _, m := range moves {
		if _, err := c.propose(ctx, m); err != nil && ctx.Err() == nil {
			c.log.Info("could not start a move", "surface", m.GetMoveSurface().Surface, "err", err)
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	op := &pb.ApplyPlanCmd{Changes: changes}
	enc, _ := proto.MarshalOptions{Deterministic: true}.Marshal(op)
	if skip != nil && string(enc) == string(skip) {
		return skip, nil
	}
	res, err := c.propose(ctx, &pb.Command{Op: &pb.Command_ApplyPlan{ApplyPlan: op}})
	if err == nil && strings.HasPrefix(res.Message, "applied 0 ") {
		return enc, nil
	}
	return nil, err
}

// propose stamps cmd with the time (and a request ID if it has none), commits it
// through Raft and returns its result; a non-OK result becomes a gRPC status error.
//
// Commands enter Raft in rounds (see rounds). If ctx ends while the command
// still waits for its round, it is never proposed. Once it is in Raft's queue,
// propose waits for its outcome in the calling goroutine, whatever ctx does: Raft
// always settles the future — applied, leadership lost (the leader steps down
// within its lease timeout when it cannot reach a quorum) or shut down — and a
// caller that gave up has its own deadline anyway. Waiting here instead of in a
// helper goroutine saves a goroutine and a wake-up per write, and an answer that
// arrives is the real outcome rather than "unknown".
func (c *Controller) propose(ctx context.Context, cmd *pb.Command) (*pb.CommandResult, error) {
	if cmd.RequestId == "" {
		cmd.RequestId = "ctl-" + randomHex(12)
	}
	cmd.UnixMs = c.now().UnixMilli()
	if cmd.Actor == nil {
		cmd.Actor = actorFor(ctx, cmd)
	}
	if cmd.RequestHash == nil {
		cmd.RequestHash = requestHashOf(ctx)
	}
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode command: %v", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	start := time.Now()
	f, err := c.rounds.apply(ctx, data)
	if f == nil {
		return nil, status.FromContextError(err).Err()
	}
	c.met.observeApply(time.Since(start), err)
	if err != nil {
		return nil, raftError(err)
	}
	res, ok := f.Response().(*pb.CommandResult)
	if !ok {
		return nil, status.Errorf(codes.Internal, "command at index %d gave no result", f.Index())
	}
	if res.Code != 0 {
		return res, status.Error(codes.Code(res.Code), res.Message)
	}
	return res, nil
}

// raftError maps Raft's errors to gRPC statuses the client knows to retry.
func raftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return status.Error(codes.Unavailable, "this controller is not the leader; retry")
	case errors.Is(err, raft.ErrLeadershipLost):
		return status.Error(codes.Unavailable, "leadership lost while committing: the outcome is unknown; retry with the same request_id")
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return status.Error(codes.Unavailable, "raft queue full or no quorum; retry")
	case errors.Is(err, raft.ErrRaftShutdown):
		return status.Error(codes.Unavailable, "controller is shutting down; retry on another controller")
	case errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return status.Error(codes.Unavailable, "leadership transfer in progress; retry")
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		// hashicorp/raft quotes the log store's error instead of wrapping it.
		strings.Contains(err.Error(), syscall.ENOSPC.Error()) || strings.Contains(err.Error(), syscall.EDQUOT.Error()):
		// Not retried by clients: the same write fails again until someone frees
		// space. Nothing was committed (the log append failed as a whole).
		return status.Errorf(codes.ResourceExhausted, "disk full: the leading controller cannot write its Raft log (%v); nothing was written. Free space in its data dir and retry", err)
	}
	return status.Errorf(codes.Internal, "raft: %v", err)
}

// linearize makes the following FSM read linearizable: it must run on the ready
// leader; it notes the commit index, confirms leadership with a quorum, and waits
// until the FSM has applied up to that index.
func (c *Controller) linearize(ctx context.Context) error {
	if !c.IsLeader() {
		return status.Error(codes.Unavailable, "this controller is not the leader; retry")
	}
	idx := c.raft.CommitIndex()
	if err := c.raft.VerifyLeader().Error(); err != nil {
		return raftError(err)
	}
	return c.waitApplied(ctx, idx)
}

func (c *Controller) waitApplied(ctx context.Context, idx uint64) error {
	for c.raft.AppliedIndex() < idx {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-c.fsm.Changed():
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// moving reports whether a live move is in progress anywhere.
func (c *Controller) moving() bool {
	found := false
	c.fsm.read(func(s *state) {
		for _, sf := range s.surfaces {
			if sf.Migration != nil {
				found = true
				return
			}
		}
	})
	return found
}
