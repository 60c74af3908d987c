package controller

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller/scheduler"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Leader-side replication work: standbys' reports that they lost their primary
// (promotion without waiting for the lease), live migrations (begin the handoff
// once the target has caught up; give up on moves that cannot finish), and the
// API calls nodes and operators make for them.

const (
	// standbyCooldown keeps a dropped standby off its surface for a while.
	standbyCooldown = 30 * time.Second
	// handoffMaxLag is how close the target must be to the primary (ticks) before
	// the primary is asked to stop and hand over.
	handoffMaxLag = 30
	// moveTimeout gives up a move whose target never catches up.
	moveTimeout = 10 * time.Minute
)

// lostReports collects synced standbys' reports of a lost primary, per surface.
type lostReports struct {
	mu   sync.Mutex
	bySf map[string]*surfaceReports
}

type surfaceReports struct {
	epoch   uint64
	reports map[string]*pb.StandbyReport
}

func (l *lostReports) add(surface string, epoch uint64, r *pb.StandbyReport) []*pb.StandbyReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySf == nil {
		l.bySf = map[string]*surfaceReports{}
	}
	sr := l.bySf[surface]
	if sr == nil || sr.epoch != epoch {
		sr = &surfaceReports{epoch: epoch, reports: map[string]*pb.StandbyReport{}}
		l.bySf[surface] = sr
	}
	sr.reports[r.Node] = r
	out := make([]*pb.StandbyReport, 0, len(sr.reports))
	for _, n := range sortedKeys(sr.reports) {
		out = append(out, sr.reports[n])
	}
	return out
}

func (a *nodeAPI) ReportPrimaryLost(ctx context.Context, req *pb.ReportPrimaryLostRequest) (*pb.ReportPrimaryLostResponse, error) {
	c := a.c
	if !c.IsLeader() {
		return nil, status.Error(codes.Unavailable, "this controller is not the leader; retry")
	}
	var sf *pb.Surface
	c.fsm.read(func(s *state) { sf = s.surfaces[req.Surface] })
	if sf == nil {
		return nil, status.Errorf(codes.NotFound, "surface %s not found", req.Surface)
	}
	asg := sf.GetAssignment()
	if asg.GetEpoch() != req.Epoch {
		return nil, status.Errorf(codes.FailedPrecondition, "surface %s is at epoch %d, the report is for %d", req.Surface, asg.GetEpoch(), req.Epoch)
	}
	if !slices.Contains(asg.Synced, req.NodeId) {
		// Only synced standbys' silence keeps the old primary from confirming.
		return &pb.ReportPrimaryLostResponse{}, nil
	}
	reports := c.lost.add(req.Surface, req.Epoch, &pb.StandbyReport{Node: req.NodeId, Tick: req.Tick, Reason: req.Reason})
	c.log.Warn("standby lost its primary", "surface", req.Surface, "standby", req.NodeId, "primary", asg.Primary, "epoch", req.Epoch,
		"tick", req.Tick, "reason", req.Reason, "reports", len(reports), "synced", len(asg.Synced))
	for _, n := range asg.Synced {
		if !slices.ContainsFunc(reports, func(r *pb.StandbyReport) bool { return r.Node == n }) {
			return &pb.ReportPrimaryLostResponse{}, nil
		}
	}
	cmd := &pb.Command{Op: &pb.Command_PromoteStandby{PromoteStandby: &pb.PromoteStandbyCmd{Surface: req.Surface, Epoch: req.Epoch, Reports: reports}}}
	if _, err := c.propose(ctx, cmd); err != nil {
		if status.Code(err) == codes.FailedPrecondition {
			return &pb.ReportPrimaryLostResponse{}, nil
		}
		return nil, err
	}
	return &pb.ReportPrimaryLostResponse{Promoted: true}, nil
}

func (a *nodeAPI) UpdateReplicas(ctx context.Context, req *pb.UpdateReplicasRequest) (*pb.UpdateReplicasResponse, error) {
	if req.NodeId == "" || req.Surface == "" {
		return nil, status.Error(codes.InvalidArgument, "a replica update needs the node and the surface")
	}
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_UpdateReplicas{UpdateReplicas: &pb.UpdateReplicasCmd{
		Surface: req.Surface, Node: req.NodeId, Epoch: req.Epoch, Synced: req.Synced, Drop: req.Drop, Unsync: req.Unsync,
		CooldownUntilMs: a.c.now().Add(standbyCooldown).UnixMilli()}}}
	res, err := a.c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	out := &pb.UpdateReplicasResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) {
		if sf := s.surfaces[req.Surface]; sf != nil {
			out.Epoch = sf.GetAssignment().GetEpoch()
		}
	})
	return out, nil
}

func (a *nodeAPI) CompleteHandoff(ctx context.Context, req *pb.CompleteHandoffRequest) (*pb.CompleteHandoffResponse, error) {
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_CompleteHandoff{CompleteHandoff: &pb.CompleteHandoffCmd{
		Surface: req.Surface, Node: req.NodeId, Epoch: req.Epoch, Tick: req.Tick, StopUnixMs: req.StopUnixMs}}}
	res, err := a.c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &pb.CompleteHandoffResponse{Index: res.Index}, nil
}

func (a *nodeAPI) AbortHandoff(ctx context.Context, req *pb.AbortHandoffRequest) (*pb.AbortHandoffResponse, error) {
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_AbortHandoff{AbortHandoff: &pb.AbortHandoffCmd{
		Surface: req.Surface, Node: req.NodeId, Epoch: req.Epoch, Reason: req.Reason}}}
	res, err := a.c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &pb.AbortHandoffResponse{Index: res.Index}, nil
}

func (a *nodeAPI) ReportStandbyDesync(ctx context.Context, req *pb.ReportStandbyDesyncRequest) (*pb.ReportStandbyDesyncResponse, error) {
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_StandbyDesync{StandbyDesync: &pb.StandbyDesyncCmd{
		Surface: req.Surface, Primary: req.NodeId, Standby: req.Standby, Epoch: req.Epoch, Tick: req.Tick, PrimaryHash: req.PrimaryHash,
		StandbyHash: req.StandbyHash, ReportPath: req.ReportPath, DifferingEntities: req.DifferingEntities}}}
	res, err := a.c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &pb.ReportStandbyDesyncResponse{Index: res.Index}, nil
}

func (a *clusterAPI) SetSurfaceStandbyMode(ctx context.Context, req *pb.SetSurfaceStandbyModeRequest) (*pb.SetSurfaceStandbyModeResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_SetSurfaceStandbyMode{SetSurfaceStandbyMode: &pb.SetSurfaceStandbyModeCmd{Name: req.Name, Mode: req.Mode}}})
	if err != nil {
		return nil, err
	}
	return &pb.SetSurfaceStandbyModeResponse{Index: res.Index}, nil
}

func (a *clusterAPI) MoveSurface(ctx context.Context, req *pb.MoveSurfaceRequest) (*pb.MoveSurfaceResponse, error) {
	c := a.c
	if !c.IsLeader() {
		return nil, status.Error(codes.Unavailable, "this controller is not the leader; retry")
	}
	var sf *pb.Surface
	hostCode, hostMsg := codes.OK, ""
	c.fsm.read(func(s *state) {
		if sf = s.surfaces[req.Name]; sf != nil && req.To != "" && req.To != sf.GetAssignment().GetPrimary() {
			hostCode, hostMsg = s.canHost(sf, req.To, c.now().UnixMilli())
		}
	})
	if sf == nil {
		return nil, status.Errorf(codes.NotFound, "surface %s not found", req.Name)
	}
	if sf.Stopped {
		// Waiting would not give it a primary: only a start does.
		where := "`starlane surface start " + req.Name + "` places it again"
		if req.To != "" {
			where = "`starlane surface pin " + req.Name + " " + req.To + "` and then `starlane surface start " + req.Name + "` start it there"
		}
		return nil, status.Errorf(codes.FailedPrecondition, "surface %s is stopped, so it has no primary to move: %s", req.Name, where)
	}
	if hostCode != codes.OK {
		// Why the target cannot take it at all comes before the pin.
		return nil, status.Error(hostCode, hostMsg)
	}
	from := sf.GetAssignment().GetPrimary()
	target := req.To
	if pin := sf.GetPin(); pin != "" && target != "" && target != pin {
		// The scheduler keeps a pinned primary on its pin: the move would be
		// undone at once, after two handoffs.
		return nil, status.Errorf(codes.FailedPrecondition, "surface %s is pinned to %s, so the scheduler would move it straight back; pin it to %s instead (starlane surface pin %s %s) or unpin it first (starlane surface pin %s --unpin)",
			req.Name, pin, target, req.Name, target, req.Name)
	}
	if m := sf.Migration; target == "" && m != nil {
		target = m.Target
	}
	if target == "" {
		var why string
		target, why = scheduler.MoveTarget(c.schedulerState(nil), req.Name)
		if target == "" {
			return nil, status.Errorf(codes.FailedPrecondition, "no node can take surface %s: %s", req.Name, why)
		}
	}
	res, err := c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_MoveSurface{MoveSurface: &pb.MoveSurfaceCmd{Surface: req.Name, Target: target}}})
	if err != nil {
		return nil, err
	}
	return &pb.MoveSurfaceResponse{Target: target, From: from, Already: res.Message == "already", Index: res.Index}, nil
}

// migrate runs one round of live-move decisions on the leader: ask a primary to
// hand over once its target has caught up, and give up moves that cannot finish.
func (c *Controller) migrate(ctx context.Context) {
	now := c.now()
	live := c.live.snapshot()
	type todo struct {
		cmd  *pb.Command
		what string
	}
	var cmds []todo
	c.fsm.read(func(s *state) {
		for _, name := range sortedKeys(s.surfaces) {
			sf := s.surfaces[name]
			m := sf.Migration
			if m == nil {
				continue
			}
			a := sf.GetAssignment()
			cancel := ""
			tn := s.nodes[m.Target]
			switch {
			case tn == nil || tn.Status != pb.NodeStatus_NODE_STATUS_UP:
				cancel = "the target " + m.Target + " is down"
			case tn.Cordoned:
				cancel = "the target " + m.Target + " was cordoned"
			case !slices.Contains(a.Standbys, m.Target):
				cancel = "the target " + m.Target + " is no longer a standby"
			case now.Sub(time.UnixMilli(m.StartedUnixMs)) > moveTimeout:
				cancel = "the target did not catch up within " + moveTimeout.String()
			}
			if cancel != "" {
				cmds = append(cmds, todo{&pb.Command{Op: &pb.Command_CancelMove{CancelMove: &pb.CancelMoveCmd{Surface: name, Reason: cancel, StartIndex: m.StartIndex}}}, "cancel move"})
				continue
			}
			if a.HandoffTo != "" || !s.nodeUp(a.Primary) {
				continue
			}
			// The primary's own report of the target, under the current epoch.
			l, ok := live[a.Primary]
			if !ok {
				continue
			}
			for _, sh := range l.shards {
				if sh.Surface != name || sh.Epoch != a.Epoch || sh.Role != pb.ShardRole_SHARD_ROLE_PRIMARY {
					continue
				}
				for _, r := range sh.Replicas {
					if r.Node == m.Target && r.Connected && !r.CatchingUp && r.LagTicks <= handoffMaxLag {
						cmds = append(cmds, todo{&pb.Command{Op: &pb.Command_BeginHandoff{BeginHandoff: &pb.BeginHandoffCmd{Surface: name, Epoch: a.Epoch, Target: m.Target}}}, "begin handoff"})
					}
				}
			}
		}
	})
	for _, t := range cmds {
		if _, err := c.propose(ctx, t.cmd); err != nil && ctx.Err() == nil && status.Code(err) != codes.FailedPrecondition {
			c.log.Warn(t.what, "err", err)
		}
	}
}
