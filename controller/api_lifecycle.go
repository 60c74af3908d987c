package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Stop, start, rollback and autosave settings (ClusterService), and the
// node's upload of the saves its primaries take (NodeService). See
// fsm_lifecycle.go.

func (a *clusterAPI) StopSurface(ctx context.Context, req *pb.StopSurfaceRequest) (*pb.StopSurfaceResponse, error) {
	if err := a.c.primaryReporting(req.Name); err != nil {
		return nil, err
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_StopSurface{StopSurface: &pb.StopSurfaceCmd{Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	return &pb.StopSurfaceResponse{Index: res.Index}, nil
}

// primaryReporting refuses a stop while the surface's primary's node has gone
// silent but is not marked down yet (its lease runs for seconds after a crash):
// its final save could not be taken, and the stop would wait for it in vain.
func (c *Controller) primaryReporting(surface string) error {
	var node string
	c.fsm.read(func(s *state) {
		if sf := s.surfaces[surface]; sf != nil && !sf.Stopped {
			node = sf.GetAssignment().GetPrimary()
		}
	})
	if node == "" {
		return nil // the FSM says what applies
	}
	c.live.mu.Lock()
	last := c.live.leases[node].lastBeat
	c.live.mu.Unlock()
	silent := c.now().Sub(last)
	if last.IsZero() || silent <= 2*c.cfg.HeartbeatInterval+500*time.Millisecond {
		return nil // reporting, or not heard of since this controller leads
	}
	return status.Errorf(codes.FailedPrecondition, "surface %s: its primary's node %s has not reported for %v, so it cannot take the final save now; wait until it reports again, or until it is marked down (the surface then fails over to a standby, or is restored from its newest autosave)",
		surface, node, silent.Round(100*time.Millisecond))
}

func (a *clusterAPI) StartSurface(ctx context.Context, req *pb.StartSurfaceRequest) (*pb.StartSurfaceResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_StartSurface{StartSurface: &pb.StartSurfaceCmd{Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	out := &pb.StartSurfaceResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) {
		if sf := s.surfaces[req.Name]; sf != nil && sf.SaveSha256 != "" {
			out.Save = s.saveByRef(sf.SaveSha256)
		}
	})
	return out, nil
}

func (a *clusterAPI) RollbackSurface(ctx context.Context, req *pb.RollbackSurfaceRequest) (*pb.RollbackSurfaceResponse, error) {
	ref := req.Save
	if req.Tick != 0 {
		// A tick names one of the surface's own autosaves.
		var have []uint64
		a.c.fsm.read(func(s *state) {
			for _, sv := range s.autosavesOf(req.Name) {
				have = append(have, sv.Tick)
				if sv.Tick == req.Tick {
					ref = sv.Name
				}
			}
		})
		if ref == "" {
			slices.Sort(have)
			ticks := make([]string, 0, len(have))
			for _, t := range have {
				ticks = append(ticks, fmt.Sprint(t))
			}
			list := "none yet"
			if len(ticks) > 0 {
				list = strings.Join(ticks, ", ")
			}
			return nil, status.Errorf(codes.NotFound, "surface %s has no save at tick %d (its saves are at ticks: %s; see: starlane surface saves %s)", req.Name, req.Tick, list, req.Name)
		}
	}
	var why string
	a.c.fsm.read(func(s *state) {
		sv := s.saveByRefOrPrefix(ref)
		if sv != nil {
			ref = sv.Name // the command names the save in full
		}
		if sf := s.surfaces[req.Name]; sf != nil && sv != nil {
			why = RollbackRefusal(sf, sv)
		}
	})
	if why != "" {
		return nil, status.Error(codes.FailedPrecondition, why)
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_RollbackSurface{RollbackSurface: &pb.RollbackSurfaceCmd{Name: req.Name, Save: ref}}})
	if err != nil {
		return nil, err
	}
	out := &pb.RollbackSurfaceResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) { out.Save = s.saveByRef(ref) })
	return out, nil
}

// RollbackRefusal says why surface sf may not roll back to save sv ("" if it
// may): an autosave or final save of another surface, or a save of another
// planet, is not the surface's past. Its state carries that surface's bridge
// outboxes and sequence spaces, so bridging it afterwards could deliver twice.
// Starting another surface from such a save is surface create --save.
func RollbackRefusal(sf *pb.Surface, sv *pb.SaveInfo) string {
	if of := sv.GetAutosaveOf(); of != "" && of != sf.GetName() {
		return fmt.Sprintf("save %s belongs to surface %s, not %s: a rollback goes back to one of the surface's own saves (see: starlane surface saves %s); to run that state, create a surface from it (starlane surface create NAME --save %s)",
			sv.GetName(), of, sf.GetName(), sf.GetName(), sv.GetName())
	}
	if p := sv.GetPlanet(); p != "" && sf.GetPlanet() != "" && p != sf.GetPlanet() {
		return fmt.Sprintf("save %s is a surface of planet %s, and %s is on %s: a rollback stays on the surface's planet (to run that state, create a surface from it: starlane surface create NAME --save %s)",
			sv.GetName(), p, sf.GetName(), sf.GetPlanet(), sv.GetName())
	}
	return ""
}

func (a *clusterAPI) SetSurfaceAutosave(ctx context.Context, req *pb.SetSurfaceAutosaveRequest) (*pb.SetSurfaceAutosaveResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_SetSurfaceAutosave{SetSurfaceAutosave: &pb.SetSurfaceAutosaveCmd{
		Name: req.Name, EveryTicks: req.EveryTicks, Keep: req.Keep}}})
	if err != nil {
		return nil, err
	}
	return &pb.SetSurfaceAutosaveResponse{Index: res.Index}, nil
}

// AutosaveUpload takes a save a primary took: it is stored and checked as an
// operator's upload is, copied to a majority of controllers and recorded
// through the leader.
func (a *nodeAPI) AutosaveUpload(ss pb.NodeService_AutosaveUploadServer) error {
	c := a.c
	m, err := ss.Recv()
	if err != nil {
		return err
	}
	start := m.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first message of an autosave upload must be its start")
	}
	if err := (validate.Checker{}).Request(start); err != nil {
		return err
	}
	var why string
	c.fsm.read(func(s *state) {
		sf := s.surfaces[start.Surface]
		switch {
		case sf == nil:
			why = "surface " + start.Surface + " not found"
		case sf.GetAssignment().GetPrimary() != start.NodeId || sf.GetAssignment().GetEpoch() != start.Epoch:
			why = fmt.Sprintf("node %s is not the primary of %s at epoch %d", start.NodeId, start.Surface, start.Epoch)
		}
	})
	if why != "" {
		return status.Error(codes.FailedPrecondition, why)
	}
	if _, whole := c.blobs.Size(start.Sha256); !whole {
		data := make([]byte, 0, start.Size)
		for {
			m, err := ss.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if uint64(len(data)+len(m.GetChunk())) > start.Size {
				return status.Errorf(codes.InvalidArgument, "the autosave is longer than the %d bytes it announced", start.Size)
			}
			data = append(data, m.GetChunk()...)
		}
		if uint64(len(data)) != start.Size {
			return status.Errorf(codes.InvalidArgument, "the autosave ended after %d of the %d bytes it announced", len(data), start.Size)
		}
		h, err := c.blobs.Put(data)
		if err != nil {
			return status.Errorf(codes.Internal, "store autosave: %v", err)
		}
		if h != start.Sha256 {
			c.blobs.Delete(h)
			return status.Errorf(codes.InvalidArgument, "the autosave's content does not match its sha256 %s", start.Sha256)
		}
	} else {
		for {
			if _, err := ss.Recv(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
		}
	}
	info, err := c.checkSave(start.Sha256)
	if err != nil {
		return err
	}
	info.Tick, info.Surface, info.Planet, info.StateHash = start.Tick, start.Surface, start.Planet, start.StateHash
	info.Name = start.Surface // the FSM names it
	if _, err := c.replicateBlob(ss.Context(), info.Sha256, int64(info.Size)); err != nil {
		return err
	}
	reply := &pb.AutosaveRecordResponse{}
	req := &pb.AutosaveRecordRequest{RequestId: start.RequestId, NodeId: start.NodeId, Surface: start.Surface, Epoch: start.Epoch, Save: info, Final: start.Final}
	if err := c.fwd.call(ss.Context(), pb.NodeService_AutosaveRecord_FullMethodName, req, reply); err != nil {
		return err
	}
	return ss.SendAndClose(&pb.AutosaveUploadResponse{Save: reply.Save, Index: reply.Index})
}

func (a *nodeAPI) AutosaveRecord(ctx context.Context, req *pb.AutosaveRecordRequest) (*pb.AutosaveRecordResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_SurfaceSaved{SurfaceSaved: &pb.SurfaceSavedCmd{
		Surface: req.Surface, Node: req.NodeId, Epoch: req.Epoch, Save: req.Save, Final: req.Final}}})
	if err != nil {
		return nil, err
	}
	out := &pb.AutosaveRecordResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) {
		for _, sv := range s.saves {
			if sv.CreateIndex == res.Index {
				out.Save = sv
			}
		}
	})
	return out, nil
}

// restoreLost restores, from its newest autosave, every surface whose
// primary's node has been down for RestoreAfter with no synced standby up to
// take over: its state is nowhere else, and that node may never return.
// The event counts the lost ticks from the newest confirmed tick the primary
// reported in a heartbeat; it may have confirmed a few more after that.
func (c *Controller) restoreLost(ctx context.Context) {
	after := c.cfg.RestoreAfter
	if after <= 0 {
		after = DefaultRestoreAfter
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.live.mu.Lock()
		lastTicks := maps.Clone(c.live.lastPrimaryTick)
		c.live.mu.Unlock()
		corrupt := map[string]string{}                   // surface -> node whose primary copy is corrupt
		copies := map[string]map[string]*pb.ShardStats{} // surface -> node -> its running standby copy
		for id, l := range c.live.snapshot() {
			for _, sh := range l.shards {
				if sh.Role == pb.ShardRole_SHARD_ROLE_PRIMARY && (strings.HasPrefix(sh.Error, "store corrupt") || strings.HasPrefix(sh.Error, "no copy here")) {
					corrupt[sh.Surface] = id
				}
				// A standby whose primary cannot serve it reports "not following the
				// primary": its copy is still whole, and may be the newest left.
				if sh.Role == pb.ShardRole_SHARD_ROLE_STANDBY && (sh.Error == "" || strings.HasPrefix(sh.Error, "not following the primary")) && sh.Tick > 0 {
					if copies[sh.Surface] == nil {
						copies[sh.Surface] = map[string]*pb.ShardStats{}
					}
					copies[sh.Surface][id] = sh
				}
			}
		}
		now := c.now().UnixMilli()
		var cmds []*pb.Command
		c.fsm.read(func(s *state) {
			for _, name := range sortedKeys(s.surfaces) {
				sf := s.surfaces[name]
				a := sf.GetAssignment()
				p := s.nodes[a.GetPrimary()]
				if sf.Stopped || p == nil {
					continue
				}
				reason := ""
				switch {
				case corrupt[name] == p.Id && p.Status == pb.NodeStatus_NODE_STATUS_UP:
					reason = fmt.Sprintf("its copy on %s is corrupt or gone", p.Id)
				case p.Status == pb.NodeStatus_NODE_STATUS_DOWN && now-p.StatusChangedUnixMs >= after.Milliseconds():
					reason = fmt.Sprintf("node %s has been down for %v", p.Id, (time.Duration(now-p.StatusChangedUnixMs) * time.Millisecond).Round(time.Second))
				default:
					continue
				}
				if slices.ContainsFunc(a.GetSynced(), func(id string) bool {
					n := s.nodes[id]
					return n != nil && n.Status == pb.NodeStatus_NODE_STATUS_UP
				}) {
					continue // the scheduler promotes it
				}
				sv := s.restorePoint(sf)
				last := lastTicks[name].tick
				// A standby that is not synced may still hold a newer copy than any
				// save: the old primary's, say, demoted when a synced standby took
				// over after a restart and then found its own copy damaged.
				if best := newestCopy(s, a, copies[name]); best != nil && (sv == nil || best.Tick > sv.Tick) {
					cmds = append(cmds, &pb.Command{Op: &pb.Command_PromoteStandby{PromoteStandby: &pb.PromoteStandbyCmd{
						Surface: name, Epoch: a.GetEpoch(), Recover: true, LastConfirmed: last,
						Reports: []*pb.StandbyReport{{Node: best.node, Tick: best.Tick, Reason: reason}},
					}}})
					continue
				}
				if sv == nil {
					continue // no save of it anywhere: it waits for its node
				}
				cmds = append(cmds, &pb.Command{Op: &pb.Command_RollbackSurface{RollbackSurface: &pb.RollbackSurfaceCmd{
					Name: name, Save: sv.Name, Restore: true, ExpectedEpoch: a.GetEpoch(), LastTick: last, Reason: reason + " and no standby holds it",
				}}})
			}
		})
		for _, cmd := range cmds {
			if p := cmd.GetPromoteStandby(); p != nil {
				if _, err := c.propose(ctx, cmd); err != nil {
					if ctx.Err() != nil {
						return
					}
					c.log.Warn("recover a lost surface from a standby's copy", "surface", p.Surface, "err", err)
					continue
				}
				c.log.Warn("surface recovered from a standby's copy: its primary's copy is gone (its node down, or the copy corrupt or missing)", "surface", p.Surface, "standby", p.Reports[0].Node, "tick", p.Reports[0].Tick, "reason", p.Reports[0].Reason)
				continue
			}
			name := cmd.GetRollbackSurface().Name
			if _, err := c.propose(ctx, cmd); err != nil {
				if ctx.Err() != nil {
					return
				}
				c.log.Warn("restore a lost surface from its newest save", "surface", name, "err", err)
				continue
			}
			c.log.Warn("surface restored from its newest save: its only copy is gone (its node down, or the copy corrupt or missing)", "surface", name, "save", cmd.GetRollbackSurface().Save, "reason", cmd.GetRollbackSurface().Reason)
		}
	}
}

// standbyCopy is a standby's running copy as its node's heartbeat reports it.
type standbyCopy struct {
	*pb.ShardStats
	node string
}

// newestCopy picks, among a's standbys that are up and report a running copy of
// the surface, the one holding the most ticks (ties: the first in name order).
func newestCopy(s *state, a *pb.Assignment, copies map[string]*pb.ShardStats) *standbyCopy {
	var best *standbyCopy
	for _, n := range sortedKeys(copies) {
		if !slices.Contains(a.GetStandbys(), n) || !s.nodeUp(n) {
			continue
		}
		if sh := copies[n]; best == nil || sh.Tick > best.Tick {
			best = &standbyCopy{ShardStats: sh, node: n}
		}
	}
	return best
}

// DefaultRestoreAfter is how long a surface whose only copy is on a down node
// waits for that node before it is restored from its newest autosave.
const DefaultRestoreAfter = 2 * time.Minute
