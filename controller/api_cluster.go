package controller

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// SnapshotFormat names the backup encoding of SaveSnapshot/RestoreSnapshot.
const SnapshotFormat = "starlane-controller-state-v1"

const snapshotChunk = 1 << 20

// eventsPerSurface is how many recent events GetSurface returns.
const eventsPerSurface = 20

type clusterAPI struct {
	pb.UnimplementedClusterServiceServer
	c *Controller
}

func (a *clusterAPI) GetStatus(ctx context.Context, _ *pb.GetStatusRequest) (*pb.GetStatusResponse, error) {
	c := a.c
	lid, laddr := c.leaderAPIAddr()
	peers, err := c.peers()
	if err != nil {
		return nil, err
	}
	c.fillHealth(ctx, peers)
	return &pb.GetStatusResponse{
		Id: c.id, State: stateName(c.raft.State()), LeaderId: lid, LeaderApiAddress: laddr,
		Term: c.raft.CurrentTerm(), CommitIndex: c.raft.CommitIndex(), AppliedIndex: c.raft.AppliedIndex(),
		LastIndex: c.raft.LastIndex(), Peers: peers,
	}, nil
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	}
	return "shutdown"
}

// peers merges the Raft configuration with the API addresses in the FSM.
func (c *Controller) peers() ([]*pb.ControllerPeer, error) {
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	_, lid := c.raft.LeaderWithID()
	var out []*pb.ControllerPeer
	c.fsm.read(func(s *state) {
		for _, srv := range f.Configuration().Servers {
			p := &pb.ControllerPeer{Id: string(srv.ID), RaftAddress: string(srv.Address), Leader: srv.ID == lid}
			switch srv.Suffrage {
			case raft.Voter:
				p.Suffrage = "voter"
			case raft.Nonvoter:
				p.Suffrage = "nonvoter"
			default:
				p.Suffrage = "staging"
			}
			if ci := s.controllers[p.Id]; ci != nil {
				p.ApiAddress = ci.ApiAddress
			}
			out = append(out, p)
		}
	})
	slices.SortFunc(out, func(a, b *pb.ControllerPeer) int { return cmpStr(a.Id, b.Id) })
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (a *clusterAPI) ListControllers(ctx context.Context, _ *pb.ListControllersRequest) (*pb.ListControllersResponse, error) {
	peers, err := a.c.peers()
	if err != nil {
		return nil, err
	}
	a.c.fillHealth(ctx, peers)
	return &pb.ListControllersResponse{Peers: peers, Index: a.c.fsm.Index()}, nil
}

func (a *clusterAPI) JoinController(ctx context.Context, req *pb.JoinControllerRequest) (*pb.JoinControllerResponse, error) {
	c := a.c
	if !nameRE.MatchString(req.Id) || req.RaftAddress == "" || req.ApiAddress == "" {
		return nil, status.Error(codes.InvalidArgument, "join needs a valid controller id, raft address and API address")
	}
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	id, addr := raft.ServerID(req.Id), raft.ServerAddress(req.RaftAddress)
	var current *raft.Server
	for _, srv := range f.Configuration().Servers {
		if srv.ID == id {
			current = &srv
		} else if srv.Address == addr {
			return nil, status.Errorf(codes.AlreadyExists, "raft address %s is already used by controller %s", addr, srv.ID)
		}
	}
	if current != nil && current.Address != addr {
		// The same controller came back on a new address: replace the old entry.
		if err := c.raft.RemoveServer(id, 0, applyTimeout).Error(); err != nil {
			return nil, raftError(err)
		}
		current = nil
	}
	switch {
	case current == nil && !req.Voter:
		if err := c.raft.AddNonvoter(id, addr, 0, applyTimeout).Error(); err != nil {
			return nil, raftError(err)
		}
		c.log.Info("controller joined as non-voter", "id", req.Id, "raft", req.RaftAddress)
	case req.Voter && (current == nil || current.Suffrage != raft.Voter):
		if err := c.raft.AddVoter(id, addr, 0, applyTimeout).Error(); err != nil {
			return nil, raftError(err)
		}
		c.log.Info("controller promoted to voter", "id", req.Id)
	}
	cmd := &pb.Command{RequestId: req.RequestId, Op: &pb.Command_RegisterController{RegisterController: &pb.RegisterControllerCmd{Id: req.Id, RaftAddress: req.RaftAddress, ApiAddress: req.ApiAddress}}}
	res, err := c.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &pb.JoinControllerResponse{Index: res.Index}, nil
}

func (a *clusterAPI) RemoveController(ctx context.Context, req *pb.RemoveControllerRequest) (*pb.RemoveControllerResponse, error) {
	c := a.c
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	found := false
	for _, srv := range f.Configuration().Servers {
		found = found || string(srv.ID) == req.Id
	}
	if !found {
		var known bool
		c.fsm.read(func(s *state) { known = s.controllers[req.Id] != nil })
		if !known {
			return nil, status.Errorf(codes.NotFound, "controller %s is not a member", req.Id)
		}
	}
	if req.Id == c.id {
		// A leader leaves only after handing over, so the cluster never waits out
		// an election for it.
		if err := c.transferLeadership(); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "cannot remove the leader: leadership transfer failed: %v", err)
		}
		return nil, status.Error(codes.Unavailable, "leadership transferred away from the controller being removed; retry")
	}
	if found {
		if err := c.raft.RemoveServer(raft.ServerID(req.Id), 0, applyTimeout).Error(); err != nil {
			return nil, raftError(err)
		}
	}
	res, err := c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_RemoveController{RemoveController: &pb.RemoveControllerCmd{Id: req.Id}}})
	if err != nil {
		return nil, err
	}
	return &pb.RemoveControllerResponse{Index: res.Index}, nil
}

func (a *clusterAPI) TransferLeadership(ctx context.Context, req *pb.TransferLeadershipRequest) (*pb.TransferLeadershipResponse, error) {
	c := a.c
	var f raft.Future
	if req.ToId == "" {
		if err := c.transferLeadership(); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "leadership transfer: %v", err)
		}
		f = nil
	} else {
		cf := c.raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			return nil, raftError(err)
		}
		var target *raft.Server
		for _, srv := range cf.Configuration().Servers {
			if string(srv.ID) == req.ToId {
				target = &srv
			}
		}
		if target == nil {
			return nil, status.Errorf(codes.NotFound, "controller %s is not a member", req.ToId)
		}
		if target.Suffrage != raft.Voter {
			return nil, status.Errorf(codes.FailedPrecondition, "controller %s is not a voter", req.ToId)
		}
		if req.ToId == c.id {
			return &pb.TransferLeadershipResponse{LeaderId: c.id}, nil
		}
		f = c.raft.LeadershipTransferToServer(target.ID, target.Address)
	}
	if f != nil {
		if err := f.Error(); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "leadership transfer: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, id := c.raft.LeaderWithID(); id != "" && string(id) != c.id {
			return &pb.TransferLeadershipResponse{LeaderId: string(id)}, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &pb.TransferLeadershipResponse{}, nil
}

func (a *clusterAPI) GetJoinToken(ctx context.Context, _ *pb.GetJoinTokenRequest) (*pb.GetJoinTokenResponse, error) {
	if err := a.c.linearize(ctx); err != nil {
		return nil, err
	}
	out := &pb.GetJoinTokenResponse{}
	a.c.fsm.read(func(s *state) { out.Token, out.Index = s.joinToken, s.index })
	if out.Token == "" {
		return nil, status.Error(codes.Unavailable, "the join token is not installed yet; retry")
	}
	return out, nil
}

// liveNode returns a copy of n with the leader's lease data filled in.
func (c *Controller) liveNode(n *pb.Node, live map[string]lease) *pb.Node {
	out := proto.Clone(n).(*pb.Node)
	if l, ok := live[n.Id]; ok {
		if !l.lastBeat.IsZero() {
			out.LastHeartbeatUnixMs = l.lastBeat.UnixMilli()
			out.HeartbeatAgeMs = c.now().Sub(l.lastBeat).Milliseconds()
			out.Stale = n.Status == pb.NodeStatus_NODE_STATUS_UP && c.staleAfter(l.lastBeat)
		}
		for _, sh := range l.shards {
			out.Shards = append(out.Shards, proto.Clone(sh).(*pb.ShardStats))
		}
		out.Health = l.nodeHealth()
	}
	return out
}

// nodeHealth is what makes a node unhealthy in its last heartbeat, or "": its
// disk is full, as the node itself reports (it keeps reporting it after the
// copies that failed moved away, until a probe write fits), or a copy that
// cannot write because the disk is full. Such a node takes no new copies, and
// its primaries without a synced standby move off it (scheduler).
func (l lease) nodeHealth() string {
	if l.health != "" {
		return l.health
	}
	for _, sh := range l.shards {
		if strings.HasPrefix(sh.Error, "disk full:") {
			return "disk full"
		}
	}
	return ""
}

// liveShard is one node's report of one shard, for liveSurface.
type liveShard struct {
	node string
	l    lease
	sh   *pb.ShardStats
}

// shardsBySurface indexes the leader's heartbeat stats by surface (each
// surface's reports in node order), once per read: looking every surface up in
// every node's report made a list of all surfaces O(surfaces × shards), most of
// the leader's CPU with thousands of surfaces.
func shardsBySurface(live map[string]lease) map[string][]liveShard {
	out := map[string][]liveShard{}
	for _, nodeID := range sortedKeys(live) {
		l := live[nodeID]
		for _, sh := range l.shards {
			out[sh.Surface] = append(out[sh.Surface], liveShard{node: nodeID, l: l, sh: sh})
		}
	}
	return out
}

// liveSurface returns a copy of sf with the leader's heartbeat stats (indexed by
// shardsBySurface) filled in.
func (c *Controller) liveSurface(sf *pb.Surface, shards map[string][]liveShard) *pb.Surface {
	out := proto.Clone(sf).(*pb.Surface)
	var st *pb.SurfaceStats
	for _, ls := range shards[sf.Name] {
		nodeID, l, sh := ls.node, ls.l, ls.sh
		if st == nil {
			st = &pb.SurfaceStats{}
		}
		st.Shards = append(st.Shards, &pb.NodeShardStats{Node: nodeID, Stats: proto.Clone(sh).(*pb.ShardStats)})
		if nodeID == sf.GetAssignment().GetPrimary() && sh.Epoch == sf.GetAssignment().GetEpoch() {
			st.Tick, st.ConfirmedTick, st.StateHash = sh.Tick, sh.ConfirmedTick, sh.StateHash
			st.UpsMilli, st.TickCostUs, st.EntityCount = sh.UpsMilli, sh.TickCostUs, sh.EntityCount
			st.Production = proto.Clone(sh.Production).(*pb.ProductionStats)
			st.ReportedUnixMs = l.lastBeat.UnixMilli()
			st.AgeMs, st.Stale = c.now().Sub(l.lastBeat).Milliseconds(), c.staleAfter(l.lastBeat)
		}
	}
	out.Stats = st
	return out
}

// staleAfter reports whether a heartbeat received at t is too old to show its
// stats as live: more than two heartbeat intervals ago.
func (c *Controller) staleAfter(t time.Time) bool {
	return c.now().Sub(t) > 2*c.cfg.HeartbeatInterval+c.cfg.HeartbeatInterval/2
}

// readLinearizable runs fn on the state after making the read linearizable (see
// linearize), with the leader's live lease data.
func (c *Controller) readLinearizable(ctx context.Context, fn func(s *state, live map[string]lease)) error {
	if err := c.linearize(ctx); err != nil {
		return err
	}
	live := c.live.snapshot()
	c.fsm.read(func(s *state) { fn(s, live) })
	return nil
}

func (a *clusterAPI) ListNodes(ctx context.Context, req *pb.ListNodesRequest) (*pb.ListNodesResponse, error) {
	out := &pb.ListNodesResponse{}
	var perr error
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		out.Index = s.index
		out.Nodes, out.NextPageToken, perr = pageOf("nodes", sortedKeys(s.nodes), func(id string) *pb.Node { return a.c.liveNode(s.nodes[id], live) },
			req.PageSize, req.PageToken)
	})
	return out, cmp.Or(err, perr)
}

func (a *clusterAPI) GetNode(ctx context.Context, req *pb.GetNodeRequest) (*pb.GetNodeResponse, error) {
	var out *pb.GetNodeResponse
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		n := s.nodes[req.Id]
		if n == nil {
			return
		}
		out = &pb.GetNodeResponse{Node: a.c.liveNode(n, live), Surfaces: assignmentsOf(s, req.Id), Index: s.index}
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, status.Errorf(codes.NotFound, "node %s not found", req.Id)
	}
	return out, nil
}

// assignmentsOf lists the surfaces assigned to a node, in name order.
func assignmentsOf(s *state, node string) []*pb.NodeAssignment {
	var out []*pb.NodeAssignment
	// One pass over the map and a sort of the node's own few: every node's
	// watcher runs this after every commit, so sorting all surfaces' names
	// each time cost the leader most of its CPU at cluster scale.
	for _, sf := range s.surfaces {
		a := sf.GetAssignment()
		role := pb.ShardRole_SHARD_ROLE_UNSPECIFIED
		if a.GetPrimary() == node {
			role = pb.ShardRole_SHARD_ROLE_PRIMARY
		} else if slices.Contains(a.GetStandbys(), node) {
			role = pb.ShardRole_SHARD_ROLE_STANDBY
		}
		if role != pb.ShardRole_SHARD_ROLE_UNSPECIFIED {
			addrs := map[string]string{}
			for _, id := range append([]string{a.GetPrimary()}, a.GetStandbys()...) {
				if n := s.nodes[id]; n != nil {
					addrs[id] = n.Address
				}
			}
			out = append(out, &pb.NodeAssignment{Surface: sf, Role: role, Epoch: a.Epoch, Addresses: addrs})
		}
	}
	slices.SortFunc(out, func(x, y *pb.NodeAssignment) int { return strings.Compare(x.Surface.Name, y.Surface.Name) })
	return out
}

func (a *clusterAPI) CordonNode(ctx context.Context, req *pb.CordonNodeRequest) (*pb.CordonNodeResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_SetNodeCordon{SetNodeCordon: &pb.SetNodeCordonCmd{Id: req.Id, Cordoned: req.Cordoned}}})
	if err != nil {
		return nil, err
	}
	return &pb.CordonNodeResponse{Index: res.Index}, nil
}

func (a *clusterAPI) CreateSurface(ctx context.Context, req *pb.CreateSurfaceRequest) (*pb.CreateSurfaceResponse, error) {
	if req.Name == "" {
		return nil, status.Error(codes.InvalidArgument, "surface name is required")
	}
	replicas := req.Replicas
	if replicas == 0 {
		// The default: one standby once the cluster has a second node to put it on.
		up := 0
		a.c.fsm.read(func(s *state) {
			for _, n := range s.nodes {
				if n.Status == pb.NodeStatus_NODE_STATUS_UP {
					up++
				}
			}
		})
		replicas = 1
		if up >= 2 {
			replicas = 2
		}
	}
	bundle, err := a.c.resolveSurfaceBundle(req)
	if err != nil {
		return nil, err
	}
	if err := a.c.checkMapBundle(req, bundle); err != nil {
		return nil, err
	}
	sf := &pb.Surface{Name: req.Name, Planet: req.Planet, Seed: req.Seed, Map: req.Map, BundleHash: bundle, Replicas: replicas, Pin: req.Pin,
		StandbyMode: req.StandbyMode, AutosaveEveryTicks: req.AutosaveEveryTicks, AutosaveKeep: req.AutosaveKeep}
	switch {
	case req.FromSave != "":
		// The FSM resolves the name or hash, so the surface names the save
		// recorded when the command applies; a save whose bundle was deleted
		// since is refused here, as a file of it would be (no node could run it).
		var bundle string
		sf.SaveSha256 = req.FromSave
		a.c.fsm.read(func(s *state) {
			if sv := s.saveByRefOrPrefix(req.FromSave); sv != nil {
				sf.SaveSha256 = sv.Sha256 // a prefix, as the lists print it, names it in full
				if !a.c.knownBundle(s, sv.BundleHash) {
					bundle = sv.BundleHash
				}
			}
		})
		if bundle != "" {
			return nil, a.c.unknownBundle("save "+req.FromSave+" was", bundle)
		}
	case len(req.Save) > 0:
		// Content sent inline is stored as an upload would be; the log carries
		// only its hash.
		info, err := a.c.storeInlineSave(ctx, req)
		if err != nil {
			return nil, err
		}
		sf.SaveSha256 = info.Sha256
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_CreateSurface{CreateSurface: &pb.CreateSurfaceCmd{Surface: sf}}})
	if err != nil {
		return nil, err
	}
	out := &pb.CreateSurfaceResponse{Index: res.Index}
	// Stored records are immutable (Apply replaces, never modifies), so the
	// response may share the record: gRPC only reads it to encode the reply.
	a.c.fsm.read(func(s *state) { out.Surface = s.surfaces[req.Name] })
	return out, nil
}

func (a *clusterAPI) ListSurfaces(ctx context.Context, req *pb.ListSurfacesRequest) (*pb.ListSurfacesResponse, error) {
	out := &pb.ListSurfacesResponse{}
	var perr error
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		out.Index = s.index
		shards := shardsBySurface(live)
		out.Surfaces, out.NextPageToken, perr = pageOf("surfaces", sortedKeys(s.surfaces), func(name string) *pb.Surface { return a.c.liveSurface(s.surfaces[name], shards) },
			req.PageSize, req.PageToken)
	})
	return out, cmp.Or(err, perr)
}

func (a *clusterAPI) GetSurface(ctx context.Context, req *pb.GetSurfaceRequest) (*pb.GetSurfaceResponse, error) {
	var out *pb.GetSurfaceResponse
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		sf := s.surfaces[req.Name]
		if sf == nil {
			return
		}
		out = &pb.GetSurfaceResponse{Surface: a.c.liveSurface(sf, shardsBySurface(live)), Index: s.index}
		for i := len(s.events) - 1; i >= 0 && len(out.Events) < eventsPerSurface; i-- {
			if e := s.events[i]; e.Subject == req.Name && e.Index >= sf.CreateIndex {
				out.Events = append(out.Events, e)
			}
		}
		slices.Reverse(out.Events)
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, status.Errorf(codes.NotFound, "surface %s not found", req.Name)
	}
	return out, nil
}

func (a *clusterAPI) DeleteSurface(ctx context.Context, req *pb.DeleteSurfaceRequest) (*pb.DeleteSurfaceResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_DeleteSurface{DeleteSurface: &pb.DeleteSurfaceCmd{Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	return &pb.DeleteSurfaceResponse{Index: res.Index}, nil
}

func (a *clusterAPI) PinSurface(ctx context.Context, req *pb.PinSurfaceRequest) (*pb.PinSurfaceResponse, error) {
	// A pin to a node that cannot run the surface (cordoned, without its
	// bundle) would leave it nowhere to go: refused now, with the fix. A node
	// that is down may come back, and the surface waits for it.
	var why error
	a.c.fsm.read(func(s *state) {
		sf, n := s.surfaces[req.Name], s.nodes[req.Node]
		switch {
		case sf == nil || n == nil || req.Node == "":
		case n.Cordoned:
			why = status.Errorf(codes.FailedPrecondition, "node %s is cordoned: surface %s pinned there could not run; uncordon it first (starlane node uncordon %s)", req.Node, req.Name, req.Node)
		case !s.nodeCanGet(n, sf.BundleHash):
			why = status.Error(codes.FailedPrecondition, bundleMismatch(sf.Name, sf.BundleHash, req.Node, n.Bundles, s.bundleNames()))
		}
	})
	if why != nil {
		return nil, why
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_PinSurface{PinSurface: &pb.PinSurfaceCmd{Name: req.Name, Node: req.Node}}})
	if err != nil {
		return nil, err
	}
	return &pb.PinSurfaceResponse{Index: res.Index}, nil
}

func (a *clusterAPI) SetSurfaceReplicas(ctx context.Context, req *pb.SetSurfaceReplicasRequest) (*pb.SetSurfaceReplicasResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_SetSurfaceReplicas{SetSurfaceReplicas: &pb.SetSurfaceReplicasCmd{Name: req.Name, Replicas: req.Replicas}}})
	if err != nil {
		return nil, err
	}
	return &pb.SetSurfaceReplicasResponse{Index: res.Index}, nil
}

// view builds the public full state from s.
func (c *Controller) view(s *state) *pb.ClusterView {
	v := &pb.ClusterView{Index: s.index}
	for _, id := range sortedKeys(s.controllers) {
		ci := s.controllers[id]
		v.Controllers = append(v.Controllers, &pb.ControllerPeer{Id: ci.Id, RaftAddress: ci.RaftAddress, ApiAddress: ci.ApiAddress})
	}
	for _, id := range sortedKeys(s.nodes) {
		v.Nodes = append(v.Nodes, s.nodes[id])
	}
	for _, id := range sortedKeys(s.surfaces) {
		v.Surfaces = append(v.Surfaces, s.surfaces[id])
	}
	for _, id := range sortedKeys(s.bridges) {
		v.Bridges = append(v.Bridges, s.bridges[id])
	}
	return v
}

func (a *clusterAPI) Watch(req *pb.WatchRequest, ss pb.ClusterService_WatchServer) error {
	c := a.c
	from := req.FromIndex
	needFull := from == 0
	for {
		ch := c.fsm.Changed()
		var batch []*pb.WatchResponse
		c.fsm.read(func(s *state) {
			if needFull || from < s.droppedUpTo {
				v := c.view(s)
				batch = append(batch, &pb.WatchResponse{Index: s.index, Payload: &pb.WatchResponse_FullState{FullState: v}})
				from, needFull = s.index, false
				return
			}
			i, _ := slices.BinarySearchFunc(s.events, from+1, func(e *pb.Event, idx uint64) int {
				return cmpU64(e.Index, idx)
			})
			for _, e := range s.events[i:] {
				batch = append(batch, &pb.WatchResponse{Index: e.Index, Payload: &pb.WatchResponse_Event{Event: e}})
			}
			if len(s.events) > i {
				from = s.events[len(s.events)-1].Index
			}
		})
		for _, m := range batch {
			if err := ss.Send(m); err != nil {
				return err
			}
		}
		select {
		case <-ss.Context().Done():
			return status.FromContextError(ss.Context().Err()).Err()
		case <-c.ctx.Done():
			return status.Error(codes.Unavailable, "controller shutting down; watch again from the last index")
		case <-ch:
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (a *clusterAPI) SaveSnapshot(_ *pb.SaveSnapshotRequest, ss pb.ClusterService_SaveSnapshotServer) error {
	c := a.c
	if !c.IsLeader() {
		return c.notLeaderStream(ss)
	}
	if err := c.linearize(ss.Context()); err != nil {
		return err
	}
	var data []byte
	var index uint64
	var err error
	c.fsm.read(func(s *state) {
		index = s.index
		data, err = encodeState(s)
	})
	if err != nil {
		return status.Errorf(codes.Internal, "encode state: %v", err)
	}
	sum := sha256.Sum256(data)
	first := &pb.SnapshotChunk{Format: SnapshotFormat, Index: index, Sha256: hex.EncodeToString(sum[:])}
	for off := 0; off < len(data) || first != nil; off += snapshotChunk {
		msg := first
		if msg == nil {
			msg = &pb.SnapshotChunk{}
		}
		first = nil
		msg.Data = data[off:min(off+snapshotChunk, len(data))]
		if err := ss.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

func (a *clusterAPI) RestoreSnapshot(ss pb.ClusterService_RestoreSnapshotServer) error {
	c := a.c
	if !c.IsLeader() {
		return c.notLeaderStream(ss)
	}
	var hdr *pb.SnapshotChunk
	var buf bytes.Buffer
	for {
		m, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if hdr == nil {
			hdr = m
		}
		buf.Write(m.Data)
	}
	if hdr == nil || hdr.Format != SnapshotFormat {
		return status.Errorf(codes.InvalidArgument, "not a controller backup (format %q, want %q)", hdr.GetFormat(), SnapshotFormat)
	}
	sum := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(sum[:]) != hdr.Sha256 {
		return status.Error(codes.InvalidArgument, "backup is corrupt: sha256 does not match")
	}
	if _, err := decodeState(buf.Bytes()); err != nil {
		return status.Errorf(codes.InvalidArgument, "backup: %v", err)
	}
	cf := c.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raftError(err)
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(buf.Len()), Configuration: cf.Configuration()}
	if err := c.raft.Restore(meta, bytes.NewReader(buf.Bytes()), time.Minute); err != nil {
		return raftError(err)
	}
	// Epochs must keep growing across a restore: give every assigned surface a new
	// one (the restored epochs are older than what nodes may have seen).
	var changes []*pb.PlanChange
	c.fsm.read(func(s *state) {
		for _, name := range sortedKeys(s.surfaces) {
			sf := s.surfaces[name]
			if a := sf.GetAssignment(); a.GetPrimary() != "" {
				changes = append(changes, &pb.PlanChange{Surface: name, ExpectedEpoch: a.Epoch, Assignment: &pb.Assignment{Primary: a.Primary, Standbys: a.Standbys}, PlacementError: sf.PlacementError, Reason: "new epoch after a backup restore"})
			}
		}
	})
	res, err := c.propose(ss.Context(), &pb.Command{Op: &pb.Command_ApplyPlan{ApplyPlan: &pb.ApplyPlanCmd{Changes: changes}}})
	if err != nil {
		return fmt.Errorf("restored, but re-stamping epochs failed (they are re-stamped on the next placement change): %w", err)
	}
	c.log.Warn("cluster state restored from a backup", "backup_index", hdr.Index, "index", res.Index)
	return ss.SendAndClose(&pb.RestoreSnapshotResponse{Index: res.Index})
}
