package controller

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type nodeAPI struct {
	pb.UnimplementedNodeServiceServer
	c *Controller
}

func (a *nodeAPI) Register(ctx context.Context, req *pb.RegisterRequest) (*pb.RegisterResponse, error) {
	c := a.c
	if !c.IsLeader() {
		return nil, status.Error(codes.Unavailable, "this controller is not the leader; retry")
	}
	var tok string
	c.fsm.read(func(s *state) { tok = s.joinToken })
	if tok == "" {
		return nil, status.Error(codes.Unavailable, "the cluster has no join token yet; retry")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(req.JoinToken)) != 1 {
		return nil, status.Error(codes.Unauthenticated, "wrong join token; get it with `starlane cluster join-token`")
	}
	if req.Node == nil {
		return nil, status.Error(codes.InvalidArgument, "register needs a node")
	}
	// A node that is up keeps its name: a second process registering it from
	// another address would take over its address while the first still runs its
	// surfaces. A restart at the same address, or after the lease ran out, is fine.
	var upAt string
	c.fsm.read(func(s *state) {
		if n := s.nodes[req.Node.Id]; n != nil && n.Status == pb.NodeStatus_NODE_STATUS_UP && n.Address != req.Node.Address {
			upAt = n.Address
		}
	})
	if upAt != "" {
		c.live.mu.Lock()
		l, ok := c.live.leases[req.Node.Id]
		c.live.mu.Unlock()
		if ok && c.now().Before(l.deadline) {
			return nil, status.Errorf(codes.AlreadyExists,
				"node %s is up at %s and heartbeating: another process already uses this name; pick another --name, or stop that node (its lease runs out %v after its last heartbeat)",
				req.Node.Id, upAt, c.cfg.LeaseTTL)
		}
	}
	res, err := c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_RegisterNode{RegisterNode: &pb.RegisterNodeCmd{Node: req.Node}}})
	if err != nil {
		return nil, err
	}
	var reg int64
	c.fsm.read(func(s *state) {
		if n := s.nodes[req.Node.Id]; n != nil {
			reg = n.RegisteredUnixMs
		}
	})
	c.live.mu.Lock()
	c.live.leases[req.Node.Id] = lease{deadline: c.now().Add(c.cfg.LeaseTTL), registeredMS: reg}
	c.live.mu.Unlock()
	return &pb.RegisterResponse{
		NodeId: req.Node.Id, HeartbeatIntervalMs: uint32(c.cfg.HeartbeatInterval.Milliseconds()),
		LeaseTtlMs: uint32(c.cfg.LeaseTTL.Milliseconds()), Index: res.Index,
	}, nil
}

func (a *nodeAPI) Heartbeat(ctx context.Context, req *pb.HeartbeatRequest) (*pb.HeartbeatResponse, error) {
	c := a.c
	if !c.IsLeader() {
		return nil, status.Error(codes.Unavailable, "this controller is not the leader; retry")
	}
	var n *pb.Node
	created := make([]uint64, len(req.Bridges)) // each bridge end's bridge's create index
	c.fsm.read(func(s *state) {
		n = s.nodes[req.NodeId]
		for i, b := range req.Bridges {
			created[i] = s.bridges[b.Bridge].GetCreateIndex()
		}
	})
	if n == nil {
		return nil, status.Errorf(codes.NotFound, "node %s is not registered; register it", req.NodeId)
	}
	if n.Status != pb.NodeStatus_NODE_STATUS_UP {
		return nil, status.Errorf(codes.FailedPrecondition, "node %s was marked down; register again before hosting shards", req.NodeId)
	}
	now := c.now()
	shards := make([]*pb.ShardStats, len(req.Shards))
	for i, sh := range req.Shards {
		shards[i] = proto.Clone(sh).(*pb.ShardStats)
	}
	bridges := make([]*pb.BridgeEndStats, len(req.Bridges))
	for i, b := range req.Bridges {
		bridges[i] = proto.Clone(b).(*pb.BridgeEndStats)
		bridges[i].ReportedUnixMs = now.UnixMilli()
	}
	c.live.mu.Lock()
	prev := c.live.leases[req.NodeId]
	c.live.leases[req.NodeId] = lease{deadline: now.Add(c.cfg.LeaseTTL), registeredMS: n.RegisteredUnixMs, lastBeat: now, shards: shards, bridges: bridges, health: validHealth(req.Health)}
	for i, b := range bridges {
		c.live.noteSenderLocked(b, created[i])
	}
	for _, sh := range shards {
		if sh.Role != pb.ShardRole_SHARD_ROLE_PRIMARY || sh.Error != "" {
			continue
		}
		if old := c.live.lastPrimaryTick[sh.Surface]; sh.Epoch > old.epoch || sh.Epoch == old.epoch && sh.ConfirmedTick > old.tick {
			c.live.lastPrimaryTick[sh.Surface] = primaryTick{sh.Epoch, sh.ConfirmedTick}
		}
	}
	c.live.touchLocked()
	c.live.mu.Unlock()
	c.reportFailures(req.NodeId, prev.shards, shards)
	return &pb.HeartbeatResponse{LeaseTtlMs: uint32(c.cfg.LeaseTTL.Milliseconds()), Index: c.raft.AppliedIndex()}, nil
}

func (a *nodeAPI) WatchAssignments(req *pb.WatchAssignmentsRequest, ss pb.NodeService_WatchAssignmentsServer) error {
	c := a.c
	var last []*pb.NodeAssignment
	var lastRoutes []*pb.BridgeRoute
	var lastAccess *pb.PlayerAccess
	first := true
	same := func(x, y proto.Message) bool { return proto.Equal(x, y) }
	for {
		ch := c.fsm.Changed()
		var cur []*pb.NodeAssignment
		var routes []*pb.BridgeRoute
		var access *pb.PlayerAccess
		var index uint64
		exists := false
		c.fsm.read(func(s *state) {
			_, exists = s.nodes[req.NodeId]
			cur, index = assignmentsOf(s, req.NodeId), s.index
			routes = bridgeRoutesOf(s, req.NodeId)
			access = s.access.playerAccess()
		})
		if !exists {
			return status.Errorf(codes.NotFound, "node %s is not registered", req.NodeId)
		}
		if first || !slices.EqualFunc(cur, last, func(x, y *pb.NodeAssignment) bool { return same(x, y) }) ||
			!slices.EqualFunc(routes, lastRoutes, func(x, y *pb.BridgeRoute) bool { return same(x, y) }) || !same(access, lastAccess) {
			if err := ss.Send(&pb.AssignmentsUpdate{Index: index, Assignments: cur, Bridges: routes, PlayerAccess: access}); err != nil {
				return err
			}
			last, lastRoutes, lastAccess, first = cur, routes, access, false
		}
		select {
		case <-ss.Context().Done():
			return status.FromContextError(ss.Context().Err()).Err()
		case <-c.ctx.Done():
			return status.Error(codes.Unavailable, "controller shutting down; watch again")
		case <-ch:
		}
	}
}

func (a *nodeAPI) RefuseAssignment(ctx context.Context, req *pb.RefuseAssignmentRequest) (*pb.RefuseAssignmentResponse, error) {
	if req.NodeId == "" || req.Surface == "" || req.Reason == "" {
		return nil, status.Error(codes.InvalidArgument, "a refusal needs the node, the surface and the reason")
	}
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_RefuseAssignment{RefuseAssignment: &pb.RefuseAssignmentCmd{
		Surface: req.Surface, Node: req.NodeId, Epoch: req.Epoch, Reason: req.Reason}}}
	res, err := a.c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &pb.RefuseAssignmentResponse{Index: res.Index}, nil
}

// validHealth is a node's reported health as the leader keeps it: short, one line.
func validHealth(h string) string {
	h = strings.TrimSpace(h)
	if i := strings.IndexAny(h, "\r\n"); i >= 0 {
		h = h[:i]
	}
	if len(h) > 100 {
		h = h[:100]
	}
	return h
}
