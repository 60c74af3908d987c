package node

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/replica"
	"github.com/starlane/starlane/shard"
)

// The node's part of replication: it runs a replica.Source beside each primary
// and a replica.Follower beside each standby, turns a standby into the primary
// (promotion, or the target of a live move) and a frozen primary into a standby in
// place, runs the primary's side of a handoff, and reports to the controller which
// standbys caught up, which to drop, that a standby lost its primary, and hot
// standby desyncs.

const (
	// syncLagTicks is how close to the primary's executed tick a standby must be
	// (and at or past the confirmed tick) to join the synced set.
	syncLagTicks = 30
	// dropLagTicks is how far a synced standby may fall behind before it counts
	// as lagging (two seconds of ticks).
	dropLagTicks = 120
	// unsyncedDropFactor: a standby that is not synced is dropped after this many
	// StandbyDropAfter periods without a connection.
	unsyncedDropFactor = 10
	// staleAck: a lagging standby that acknowledged nothing for this long counts as
	// behind.
	staleAck = 300 * time.Millisecond
	// fencedPlayersAfter: players of a primary fenced this long are sent on.
	fencedPlayersAfter = 2 * time.Second
)

// standbyWatch is a primary's memory of one standby, for drop decisions.
type standbyWatch struct {
	behindSince time.Time // first seen disconnected or lagging, zero while fine
}

// confirmSet is who must hold a tick before the primary confirms it: the synced
// standbys. A node the assignment lists as synced but not as a standby is left out
// (an older controller kept a moved surface's old primary there after cutting its
// standbys to none, and the new primary waited for it forever).
func confirmSet(as *pb.Assignment) []string {
	var out []string
	for _, s := range as.GetSynced() {
		if slices.Contains(as.GetStandbys(), s) {
			out = append(out, s)
		}
	}
	return out
}

// runPrimary serves a primary shard: replication source, confirm set, lease,
// tick loop, bridges.
func (n *Node) runPrimary(h *hosted, a *pb.NodeAssignment, sh *shard.Shard) {
	as := a.Surface.GetAssignment()
	src := n.repl.Add(h.name, sh, as.GetStandbys())
	src.OnDesync(func(node string, d shard.Desync, rep *shard.DesyncReport) { n.reportDesync(h, node, d, rep) })
	var unsyncing atomic.Bool
	src.OnResync(func(node, reason string) {
		if !unsyncing.CompareAndSwap(false, true) {
			return
		}
		go func() {
			defer unsyncing.Store(false)
			n.reportUnsync(h, sh, node, reason)
		}()
	})
	sh.SetStandbys(confirmSet(as))
	n.mu.Lock()
	h.sh, h.src, h.fol = sh, src, nil
	h.role, h.epoch, h.asg, h.err = a.Role, a.Epoch, a, ""
	h.watch = map[string]*standbyWatch{}
	n.mu.Unlock()
	n.grantLeases()
	sh.Start()
	n.kickBridges()
	n.maybeHandoff(h, a)
}

// runStandby follows the primary named by the assignment.
func (n *Node) runStandby(h *hosted, a *pb.NodeAssignment, sh *shard.Shard) {
	fol := replica.NewFollower(replica.FollowerConfig{
		Config:  replica.Config{Node: n.id, Logger: n.log, Metrics: n.replMet, Now: n.cfg.Now, HashEvery: n.cfg.HashEvery},
		Surface: h.name, Shard: sh, Dial: n.dialRepl, LostAfter: n.cfg.StandbyLostAfter,
		OnLost: func(epoch, tick uint64, reason string) bool { return n.primaryLost(h, epoch, tick, reason) },
	})
	n.mu.Lock()
	h.sh, h.fol, h.src = sh, fol, nil
	h.role, h.epoch, h.asg, h.err = a.Role, a.Epoch, a, ""
	n.mu.Unlock()
	p := a.Surface.GetAssignment().GetPrimary()
	fol.Update(p, a.Addresses[p], a.Epoch)
}

// promote turns this node's standby into the primary.
func (n *Node) promote(h *hosted, a *pb.NodeAssignment) {
	n.mu.Lock()
	sh, fol := h.sh, h.fol
	h.fol = nil
	n.mu.Unlock()
	start := n.cfg.Now()
	if fol != nil {
		fol.Stop()
	}
	as := a.Surface.GetAssignment()
	if pos, _, _ := sh.Position(); as.GetStart() == pb.PrimaryStart_PRIMARY_START_HANDOFF && pos != as.GetStartTick() {
		n.log.Warn("handoff target holds a different last tick than agreed", "surface", h.name, "holds", pos, "agreed", as.GetStartTick())
	}
	if err := sh.Promote(a.Epoch); err != nil {
		n.log.Error("cannot promote the standby", "surface", h.name, "err", err)
		n.mu.Lock()
		h.err = "cannot take over: " + err.Error()
		h.role, h.epoch, h.asg = a.Role, a.Epoch, a
		n.mu.Unlock()
		n.teardown(h)
		return
	}
	n.runPrimary(h, a, sh)
	n.log.Info("took over as primary", "surface", h.name, "epoch", a.Epoch, "how", as.GetStart().String(), "tick", sh.Executed(),
		"took", n.cfg.Now().Sub(start).Round(time.Millisecond))
}

// demote turns this node's primary into a standby of the new primary, in place.
func (n *Node) demote(h *hosted, a *pb.NodeAssignment) {
	n.mu.Lock()
	sh, src := h.sh, h.src
	h.src = nil
	h.role, h.epoch, h.asg = a.Role, a.Epoch, a
	n.mu.Unlock()
	n.kickBridges()
	if src != nil {
		n.repl.Remove(src)
	}
	if !sh.Frozen() {
		if _, err := sh.Freeze(); err != nil {
			n.log.Warn("freeze before demotion", "surface", h.name, "err", err)
		}
	}
	if err := sh.Demote(modeOf(a) == pb.StandbyMode_STANDBY_MODE_HOT); err != nil {
		n.log.Error("cannot demote the primary; reopening it as a standby", "surface", h.name, "err", err)
		n.teardown(h)
		n.start(h, a)
		return
	}
	n.runStandby(h, a, sh)
	tick, _, _ := sh.Position()
	n.log.Info("now a standby of the new primary", "surface", h.name, "epoch", a.Epoch, "primary", a.Surface.GetAssignment().GetPrimary(), "tick", tick)
}

// updatePrimary applies a new assignment of the same primary term: epoch, who may
// follow, the confirm set, a handoff request.
func (n *Node) updatePrimary(h *hosted, a *pb.NodeAssignment) {
	n.mu.Lock()
	sh, src := h.sh, h.src
	h.epoch, h.asg = a.Epoch, a
	n.mu.Unlock()
	if err := sh.SetEpoch(a.Epoch); err != nil {
		n.log.Warn("set epoch", "surface", h.name, "err", err)
	}
	as := a.Surface.GetAssignment()
	src.SetStandbys(as.GetStandbys())
	sh.SetStandbys(confirmSet(as))
	n.maybeHandoff(h, a)
}

// maybeHandoff starts the primary's side of a handoff the assignment asks for.
func (n *Node) maybeHandoff(h *hosted, a *pb.NodeAssignment) {
	to := a.Surface.GetAssignment().GetHandoffTo()
	n.mu.Lock()
	start := to != "" && h.handoffEpoch != a.Epoch && h.src != nil
	if start {
		h.handoffEpoch = a.Epoch
	}
	src := h.src
	n.mu.Unlock()
	if start {
		go n.handoff(h, src, a.Epoch, to)
	}
}

// handoff stops the primary, waits until the target holds its last tick, and asks
// the controller to switch. If the target does not acknowledge in time the
// primary resumes and the handoff is aborted; if the controller's answer is
// unknown, the primary stays stopped until it is known (or its lease fences it).
func (n *Node) handoff(h *hosted, src *replica.Source, epoch uint64, to string) {
	ctx := h.ctx
	tick, stopped, err := src.Handoff(ctx, to, n.cfg.HandoffTimeout)
	if err != nil {
		n.log.Warn("handoff failed; sequencing again", "surface", h.name, "to", to, "err", err)
		req := &pb.AbortHandoffRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: epoch, Reason: err.Error()}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = n.ctl.Node(actx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.AbortHandoff(ctx, req)
			return err
		})
		return
	}
	n.log.Info("stopped for the handoff", "surface", h.name, "to", to, "tick", tick, "waited", n.cfg.Now().Sub(stopped).Round(time.Millisecond))
	req := &pb.CompleteHandoffRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: epoch, Tick: tick, StopUnixMs: stopped.UnixMilli()}
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := n.ctl.Node(cctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.CompleteHandoff(ctx, req)
			return err
		})
		cancel()
		switch {
		case err == nil:
			return // the new assignment demotes this primary
		case status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound:
			n.log.Warn("the controller did not switch; sequencing again", "surface", h.name, "err", err)
			n.mu.Lock()
			still := h.sh != nil && h.role == pb.ShardRole_SHARD_ROLE_PRIMARY
			sh := h.sh
			n.mu.Unlock()
			if still {
				sh.Thaw()
			}
			return
		}
		n.log.Warn("handoff outcome unknown; asking again", "surface", h.name, "err", err)
	}
}

// primaryLost is a standby's follower telling that the primary is gone. A synced
// standby reports it to the controller and stops acknowledging that primary;
// anything else keeps trying.
func (n *Node) primaryLost(h *hosted, epoch, tick uint64, reason string) bool {
	n.mu.Lock()
	a := h.asg
	n.mu.Unlock()
	if a == nil || a.Epoch != epoch || !slices.Contains(a.Surface.GetAssignment().GetSynced(), n.id) {
		return false
	}
	n.log.Warn("lost the primary; reporting it", "surface", h.name, "primary", a.Surface.GetAssignment().GetPrimary(), "epoch", epoch, "tick", tick, "reason", reason)
	req := &pb.ReportPrimaryLostRequest{NodeId: n.id, Surface: h.name, Epoch: epoch, Tick: tick, Reason: reason}
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	var res *pb.ReportPrimaryLostResponse
	err := n.ctl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		var err error
		res, err = c.ReportPrimaryLost(ctx, req)
		return err
	})
	switch {
	case status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound:
		return false // the assignment moved on; the new one comes with the watch
	case err != nil:
		// The outcome is unknown: the report may count. Keep the promise.
		n.log.Warn("report a lost primary", "surface", h.name, "err", err)
	case res.Promoted:
		n.log.Info("the controller promoted a standby", "surface", h.name)
	}
	return true
}

// reportDesync records a hot standby desync as a controller event.
func (n *Node) reportDesync(h *hosted, standby string, d shard.Desync, rep *shard.DesyncReport) {
	n.mu.Lock()
	epoch := h.epoch
	n.mu.Unlock()
	req := &pb.ReportStandbyDesyncRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Standby: standby, Epoch: epoch,
		Tick: d.Tick, PrimaryHash: d.Server, StandbyHash: d.ClientHash, ReportPath: rep.Path, DifferingEntities: uint32(len(rep.Entities))}
	go func() {
		ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
		defer cancel()
		err := n.ctl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.ReportStandbyDesync(ctx, req)
			return err
		})
		if err != nil {
			n.log.Warn("report a standby desync", "surface", h.name, "standby", standby, "err", err)
		}
	}()
}

// reportUnsync tells the controller that a synced standby's copy must start over from
// a checkpoint, and once it no longer counts the standby as synced, stops counting its
// acknowledgements here too; the replication source sends the checkpoint after that.
// Until then the standby keeps its copy, so a failover meanwhile can promote it.
func (n *Node) reportUnsync(h *hosted, sh *shard.Shard, node, reason string) {
	n.mu.Lock()
	a, cur := h.asg, h.sh
	n.mu.Unlock()
	if a == nil || cur != sh {
		return
	}
	req := &pb.UpdateReplicasRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: a.Epoch,
		Unsync: []*pb.DroppedStandby{{Node: node, Reason: reason}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := n.ctl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		_, err := c.UpdateReplicas(ctx, req)
		return err
	})
	if err != nil {
		n.log.Warn("report a standby unsynced before its resync", "surface", h.name, "standby", node, "err", err)
		return
	}
	n.log.Info("standby no longer counts as synced: its copy starts over from a checkpoint", "surface", h.name, "standby", node, "reason", reason)
	n.mu.Lock()
	latest := h.asg
	n.mu.Unlock()
	var keep []string
	for _, s := range confirmSet(latest.Surface.GetAssignment()) {
		if s != node {
			keep = append(keep, s)
		}
	}
	sh.SetStandbys(keep)
}

// replicaWatchEvery is how often the replica loop looks at the standbys of
// primaries that have some (and at fenced primaries' players).
const replicaWatchEvery = 100 * time.Millisecond

// replicaLoop watches every primary's standbys and reports to the controller the
// ones that caught up (synced) and the ones to drop (disconnected or lagging for
// StandbyDropAfter): a synced standby that stops acknowledging stalls the
// primary's confirmation, and dropping it through Raft is what lets the primary
// confirm without it, fenced.
//
// It looks every replicaWatchEvery while a primary here has standbys or is
// fenced, and otherwise every housekeepEvery or when the assignments change
// (which is how standbys arrive).
func (n *Node) replicaLoop(ctx context.Context) {
	t := time.NewTimer(housekeepEvery)
	every := housekeepEvery
	for sleep(ctx.Done(), t, every, n.hk.replicas) {
		n.mu.Lock()
		var hs, fenced []*hosted
		now := n.cfg.Now()
		every = housekeepEvery
		for _, h := range n.shards {
			if h.role != pb.ShardRole_SHARD_ROLE_PRIMARY || h.sh == nil {
				continue
			}
			if h.src != nil && !h.reporting {
				hs = append(hs, h)
			}
			if len(h.asg.GetSurface().GetAssignment().GetStandbys()) > 0 || h.sh.Fenced() {
				every = replicaWatchEvery
			}
			// Players of a primary fenced for a while are sent on: the surface may
			// well run elsewhere by now, and they cannot tell from here.
			switch {
			case !h.sh.Fenced():
				h.fencedSince = time.Time{}
			case h.fencedSince.IsZero():
				h.fencedSince = now
			case now.Sub(h.fencedSince) > fencedPlayersAfter:
				fenced = append(fenced, h)
			}
		}
		n.mu.Unlock()
		for _, h := range hs {
			n.checkReplicas(ctx, h)
		}
		for _, h := range fenced {
			if sh := h.sh; sh != nil && sh.Players() > 0 {
				n.log.Warn("fenced for a while: sending the players on", "surface", h.name)
				sh.EndSessions()
			}
		}
	}
}

func (n *Node) checkReplicas(ctx context.Context, h *hosted) {
	n.mu.Lock()
	a, sh, src, watch := h.asg, h.sh, h.src, h.watch
	n.mu.Unlock()
	as := a.Surface.GetAssignment()
	if as.GetHandoffTo() != "" || sh.Frozen() {
		return // a handoff decides its target's fate
	}
	now := n.cfg.Now()
	confirmed, executed := sh.Confirmed(), sh.Executed()
	stats := map[string]*pb.ReplicaStats{}
	for _, r := range src.Stats() {
		stats[r.Node] = r
	}
	var synced []string
	var drop []*pb.DroppedStandby
	// A standby dropped (or gone) is forgotten: if it is added again later, its time
	// behind starts over instead of getting it dropped again at once.
	for s := range watch {
		if !slices.Contains(as.GetStandbys(), s) {
			delete(watch, s)
		}
	}
	for _, s := range as.GetStandbys() {
		r := stats[s]
		if r == nil {
			continue
		}
		w := watch[s]
		if w == nil {
			w = &standbyWatch{}
			watch[s] = w
		}
		isSynced := slices.Contains(as.GetSynced(), s)
		// A synced standby holds up confirmation as soon as it stops acknowledging:
		// it is behind if it lags far, or lags at all without acknowledging anything
		// for a while (a hung process keeps its connection open).
		stale := r.LagTicks > syncLagTicks && now.Sub(time.UnixMilli(r.LastAckUnixMs)) > staleAck
		bad := !r.Connected || isSynced && (r.LagTicks > dropLagTicks || stale)
		switch {
		case !bad:
			w.behindSince = time.Time{}
		case w.behindSince.IsZero():
			w.behindSince = now
		}
		limit := n.cfg.StandbyDropAfter
		if !isSynced {
			limit *= unsyncedDropFactor
		}
		if bad && now.Sub(w.behindSince) >= limit {
			why := fmt.Sprintf("disconnected for %v", now.Sub(w.behindSince).Round(100*time.Millisecond))
			if r.Connected {
				why = fmt.Sprintf("%d ticks behind for %v", r.LagTicks, now.Sub(w.behindSince).Round(100*time.Millisecond))
			}
			drop = append(drop, &pb.DroppedStandby{Node: s, Reason: why})
			continue
		}
		// A failed primary (kept serving on a full disk, see failure.go) reports
		// no new synced standby: it is left by a live move, and a synced standby
		// would stop the scheduler from starting one while nothing promotes it
		// (its stream never ends).
		if !isSynced && r.Connected && !r.CatchingUp && r.AckedTick >= confirmed && r.AckedTick+syncLagTicks >= executed && sh.Stats().Err == nil {
			synced = append(synced, s)
		}
	}
	if len(synced) == 0 && len(drop) == 0 {
		return
	}
	if len(synced) > 0 {
		// Count a standby's acknowledgements before the controller may promote it:
		// the controller's synced set must never hold a standby the primary does not
		// wait for, or a promotion could land below a confirmed tick.
		sh.SetStandbys(append(confirmSet(as), synced...))
	}
	n.mu.Lock()
	h.reporting = true
	n.mu.Unlock()
	go func() {
		defer func() {
			n.mu.Lock()
			h.reporting = false
			n.mu.Unlock()
		}()
		req := &pb.UpdateReplicasRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: a.Epoch, Synced: synced, Drop: drop}
		for _, d := range drop {
			n.log.Warn("dropping a standby", "surface", h.name, "standby", d.Node, "reason", d.Reason)
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := n.ctl.Node(rctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.UpdateReplicas(ctx, req)
			return err
		})
		if err != nil && status.Code(err) != codes.FailedPrecondition && ctx.Err() == nil {
			n.log.Warn("report standbys", "surface", h.name, "err", err)
		}
		if err != nil && len(synced) > 0 {
			// Not recorded (as far as this node knows): confirm as the assignment says.
			// If it was recorded after all, the assignment names them shortly.
			n.mu.Lock()
			cur := h.asg
			n.mu.Unlock()
			sh.SetStandbys(confirmSet(cur.Surface.GetAssignment()))
		}
		// Wait for the assignment to show the change before judging again.
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n.mu.Lock()
			moved := h.asg != a
			n.mu.Unlock()
			if moved {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// dialRepl returns a ReplicationService client for a node, reusing connections.
func (n *Node) dialRepl(addr string) (pb.ReplicationServiceClient, error) {
	n.replConnsMu.Lock()
	defer n.replConnsMu.Unlock()
	c := n.replConns[addr]
	if c == nil {
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(n.creds), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(validate.MaxNodeMessageBytes)))
		if err != nil {
			return nil, err
		}
		n.replConns[addr] = c
	}
	return pb.NewReplicationServiceClient(c), nil
}

func (n *Node) closeReplConns() {
	n.replConnsMu.Lock()
	defer n.replConnsMu.Unlock()
	for _, c := range n.replConns {
		c.Close()
	}
	n.replConns = map[string]*grpc.ClientConn{}
}

// replicaStats fills a heartbeat's replication fields for one hosted surface.
func (n *Node) replicaStats(h *hosted, ss *pb.ShardStats) {
	n.mu.Lock()
	sh, src, fol, a := h.sh, h.src, h.fol, h.asg
	n.mu.Unlock()
	if sh == nil {
		return
	}
	if src != nil {
		synced := a.Surface.GetAssignment().GetSynced()
		for _, r := range src.Stats() {
			r.Synced = slices.Contains(synced, r.Node)
			ss.Replicas = append(ss.Replicas, r)
		}
		start, at := sh.TermStart()
		ss.TermStartTick = start
		n.mu.Lock()
		if h.startTick == start && h.startHash != "" {
			ss.TermStartHash = h.startHash
		}
		n.mu.Unlock()
		if !at.IsZero() {
			ss.TermStartUnixMs = at.UnixMilli()
		}
	}
	if fol != nil || sh.IsStandby() {
		ss.StandbyMode = pb.StandbyMode_STANDBY_MODE_WARM
		if sh.Hot() {
			ss.StandbyMode = pb.StandbyMode_STANDBY_MODE_HOT
		}
		if fol != nil {
			ss.Following, _ = fol.Status()
			if _, e := fol.Status(); e != "" && !ss.Following {
				ss.Error = "not following the primary: " + e
			}
		}
		ss.StandbyDesyncs = sh.StandbyDesyncs()
	}
}

// redirectMsg is a Redirect to send a player, under epoch.
type redirectMsg struct {
	epoch uint64
	msg   *pb.Redirect
}

// primaryElsewhere returns a Redirect to the surface's primary if this node keeps
// only a standby copy of it (the assignment names the primary).
func (n *Node) primaryElsewhere(surface string) *redirectMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.shards[surface]
	if h == nil || h.role != pb.ShardRole_SHARD_ROLE_STANDBY || h.asg == nil {
		return nil
	}
	p := h.asg.Surface.GetAssignment().GetPrimary()
	addr := h.asg.Addresses[p]
	if p == "" || p == n.id || addr == "" {
		return nil
	}
	return &redirectMsg{epoch: h.asg.Epoch, msg: &pb.Redirect{Surface: surface, Node: p, Address: addr,
		Reason: fmt.Sprintf("surface %s runs on node %s; node %s keeps a standby copy", surface, p, n.id)}}
}

// sessionEnded says where a player of sh goes when its session ended because the
// node stopped serving sh as primary: to the new primary if this node knows it,
// else (fenced, or the surface left this node) to its other copies.
func (n *Node) sessionEnded(sh *shard.Shard) *redirectMsg {
	if r := n.primaryElsewhere(sh.Name()); r != nil {
		return r
	}
	n.mu.Lock()
	h := n.shards[sh.Name()]
	still := h != nil && h.sh == sh && h.role == pb.ShardRole_SHARD_ROLE_PRIMARY
	n.mu.Unlock()
	switch {
	case still && sh.Fenced():
		return &redirectMsg{epoch: sh.Epoch(), msg: &pb.Redirect{Surface: sh.Name(),
			Reason: fmt.Sprintf("node %s lost its lease on surface %s; the surface may run elsewhere now", n.id, sh.Name())}}
	case !still:
		return &redirectMsg{epoch: sh.Epoch(), msg: &pb.Redirect{Surface: sh.Name(),
			Reason: fmt.Sprintf("surface %s no longer runs on node %s", sh.Name(), n.id)}}
	}
	return nil
}

// peers returns the addresses of the surface's other copies, for players.
func (n *Node) peers(surface string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.shards[surface]
	if h == nil || h.asg == nil {
		return nil
	}
	var out []string
	for _, s := range h.asg.Surface.GetAssignment().GetStandbys() {
		if addr := h.asg.Addresses[s]; addr != "" && s != n.id {
			out = append(out, addr)
		}
	}
	return out
}
