package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Bridges: declared in Raft; their live status comes from the two ends' heartbeats.

func (a *clusterAPI) CreateBridge(ctx context.Context, req *pb.CreateBridgeRequest) (*pb.CreateBridgeResponse, error) {
	b := req.GetBridge()
	if b == nil || b.Id == "" {
		return nil, status.Error(codes.InvalidArgument, "a bridge needs an id")
	}
	base, err := a.c.checkBridgePorts(ctx, b)
	if err != nil {
		return nil, err
	}
	b = proto.Clone(b).(*pb.Bridge)
	b.Base = base
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_CreateBridge{CreateBridge: &pb.CreateBridgeCmd{Bridge: b}}})
	if err != nil {
		return nil, err
	}
	out := &pb.CreateBridgeResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) {
		if cur := s.bridges[b.Id]; cur != nil {
			out.Bridge = proto.Clone(cur).(*pb.Bridge)
		}
	})
	return out, nil
}

func (a *clusterAPI) ListBridges(ctx context.Context, req *pb.ListBridgesRequest) (*pb.ListBridgesResponse, error) {
	out := &pb.ListBridgesResponse{}
	var perr error
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		out.Index = s.index
		ends := bridgeEndsByID(live, a.c.live.lastSenders())
		out.Bridges, out.NextPageToken, perr = pageOf("bridges", sortedKeys(s.bridges), func(id string) *pb.Bridge { return liveBridge(s, s.bridges[id], ends) },
			req.PageSize, req.PageToken)
	})
	return out, cmp.Or(err, perr)
}

func (a *clusterAPI) GetBridge(ctx context.Context, req *pb.GetBridgeRequest) (*pb.GetBridgeResponse, error) {
	var out *pb.GetBridgeResponse
	err := a.c.readLinearizable(ctx, func(s *state, live map[string]lease) {
		if b := s.bridges[req.Id]; b != nil {
			out = &pb.GetBridgeResponse{Bridge: liveBridge(s, b, bridgeEndsByID(live, a.c.live.lastSenders())), Index: s.index}
		}
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, status.Errorf(codes.NotFound, "bridge %s not found", req.Id)
	}
	return out, nil
}

func (a *clusterAPI) DeleteBridge(ctx context.Context, req *pb.DeleteBridgeRequest) (*pb.DeleteBridgeResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_DeleteBridge{DeleteBridge: &pb.DeleteBridgeCmd{Id: req.Id}}})
	if err != nil {
		return nil, err
	}
	return &pb.DeleteBridgeResponse{Index: res.Index}, nil
}

// liveBridge adds the status the two ends last reported: the sender from the node
// running the source's primary under its current epoch, the receiver likewise.
// liveEnd is one node's report of one bridge end, for liveBridge.
type liveEnd struct {
	node string
	e    *pb.BridgeEndStats
}

// bridgeEnds are the heartbeats' bridge ends by bridge, indexed once per read
// (see shardsBySurface), and the last sender reports kept (liveState.lastSender).
type bridgeEnds struct {
	byID map[string][]liveEnd
	last map[string]senderReport
}

func bridgeEndsByID(live map[string]lease, last map[string]senderReport) bridgeEnds {
	out := bridgeEnds{byID: map[string][]liveEnd{}, last: last}
	for _, nodeID := range sortedKeys(live) {
		for _, e := range live[nodeID].bridges {
			out.byID[e.Bridge] = append(out.byID[e.Bridge], liveEnd{node: nodeID, e: e})
		}
	}
	return out
}

func liveBridge(s *state, b *pb.Bridge, ends bridgeEnds) *pb.Bridge {
	out := proto.Clone(b).(*pb.Bridge)
	from, to := s.surfaces[b.FromSurface].GetAssignment(), s.surfaces[b.ToSurface].GetAssignment()
	st := &pb.BridgeStatus{}
	for _, le := range ends.byID[b.Id] {
		nodeID, e := le.node, le.e
		switch {
		case e.Side == "sender" && nodeID == from.GetPrimary() && e.Epoch == from.GetEpoch():
			st.Sender = proto.Clone(e).(*pb.BridgeEndStats)
		case e.Side == "receiver" && nodeID == to.GetPrimary() && e.Epoch == to.GetEpoch():
			st.Receiver = proto.Clone(e).(*pb.BridgeEndStats)
		}
	}
	if st.Sender != nil {
		st.Items = bridgeItems(st.Sender, b.Base)
	} else if last, ok := ends.last[b.Id]; ok && last.createIndex == b.CreateIndex {
		// The sender is not reporting now: its last report, said as such, rather
		// than counters that drop to zero and come back.
		st.Items = bridgeItems(last.e, b.Base)
		st.ItemsAsOfUnixMs = last.e.ReportedUnixMs
	}
	st.Paused = bridgePaused(s, b)
	if st.Sender != nil || st.Receiver != nil || st.Paused != "" || len(st.Items) > 0 {
		out.Status = st
	}
	return out
}

// bridgePaused says why b cannot move items now when one of its ends cannot run:
// stopped, stopping or not placed, with what resumes it; "" otherwise. Both ends
// are named when both cannot run, so starting one is not taken for the cure.
func bridgePaused(s *state, b *pb.Bridge) string {
	var why []string
	for _, end := range [2][2]string{{"source", b.FromSurface}, {"destination", b.ToSurface}} {
		if w := bridgeEndPaused(s, end[0], end[1]); w != "" {
			why = append(why, w)
		}
	}
	return strings.Join(why, "; ")
}

// bridgeEndPaused says why a bridge's end (role "source" or "destination") cannot
// run, or "".
func bridgeEndPaused(s *state, role, name string) string {
	sf := s.surfaces[name]
	switch {
	case sf == nil:
		return fmt.Sprintf("%s surface %s does not exist", role, name)
	case sf.Stopped:
		return fmt.Sprintf("%s %s is stopped (starlane surface start %s)", role, name, name)
	case sf.StopRequested:
		return fmt.Sprintf("%s %s is stopping", role, name)
	case sf.GetAssignment().GetPrimary() == "":
		why := sf.PlacementError
		if why == "" {
			why = "waiting for a node"
		}
		return fmt.Sprintf("%s %s is not placed: %s", role, name, why)
	}
	return ""
}

// bridgeItems are a bridge's per-item counters, all read from the sender's one
// report: exported (left the source's state) and delivered (what the
// destination confirmed it applied, as acknowledged into the source's state)
// come from the same tick of the same state, so delivered never exceeds
// exported, and inflight is exactly what the outbox holds. Pairing the
// sender's exported with the receiver's own count would compare two
// heartbeats taken at different instants on two nodes: a fresh receiver
// report beside a stale sender one showed more delivered than exported. The
// receiver's own count stays in its end's stats. Without a sender report there
// is no consistent pair, and no items.
//
// The port's counters include what earlier bridges on the same port moved: the
// bridge's own figures count from base, the port's counts at its creation. Both
// count from what the port had moved by then: stacks an earlier bridge left in
// flight are acknowledged (in order, before this bridge's) after it was
// created, and counting them as delivered but not as exported showed more
// delivered than exported for good.
func bridgeItems(sender *pb.BridgeEndStats, base []*pb.BridgeItemCount) []*pb.BridgeItemStatus {
	from := map[string]*pb.BridgeItemCount{}
	for _, it := range base {
		from[it.Item] = it
	}
	var out []*pb.BridgeItemStatus
	for _, it := range sender.GetItems() {
		moved, acked := it.Moved-from[it.Item].GetMoved(), it.Acked-from[it.Item].GetMoved()
		moved, acked = max(moved, 0), max(acked, 0)
		if moved == 0 && acked == 0 {
			continue // an earlier bridge's item
		}
		out = append(out, &pb.BridgeItemStatus{Item: it.Item, Exported: moved, Delivered: acked, Acked: acked, Inflight: max(moved-acked, 0)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Item < out[j].Item })
	return out
}

// bridgeRoutesOf lists the bridges with an end on one of node's primaries.
func bridgeRoutesOf(s *state, node string) []*pb.BridgeRoute {
	var out []*pb.BridgeRoute
	// One pass and a sort of the node's own routes (see assignmentsOf).
	for _, b := range s.bridges {
		from, to := s.surfaces[b.FromSurface].GetAssignment(), s.surfaces[b.ToSurface].GetAssignment()
		if from.GetPrimary() != node && to.GetPrimary() != node {
			continue
		}
		r := &pb.BridgeRoute{Bridge: proto.Clone(b).(*pb.Bridge),
			FromNode: from.GetPrimary(), FromEpoch: from.GetEpoch(), ToNode: to.GetPrimary(), ToEpoch: to.GetEpoch()}
		if n := s.nodes[r.FromNode]; n != nil {
			r.FromAddress = n.Address
		}
		if n := s.nodes[r.ToNode]; n != nil {
			r.ToAddress = n.Address
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *pb.BridgeRoute) int { return strings.Compare(x.Bridge.Id, y.Bridge.Id) })
	return out
}

// checkBridgePorts asks the nodes running a new bridge's surfaces whether its
// ports exist with the right direction, so a misnamed or reversed port fails
// now rather than later in a status column. A surface that is not running, or
// whose node does not answer within a second, is not checked (its bridge end
// then reports the problem).
func (c *Controller) checkBridgePorts(ctx context.Context, b *pb.Bridge) ([]*pb.BridgeItemCount, error) {
	type end struct {
		surface, port, addr string
		export              bool
	}
	var ends []end
	c.fsm.read(func(s *state) {
		for _, e := range []end{{surface: b.FromSurface, port: b.FromPort, export: true}, {surface: b.ToSurface, port: b.ToPort}} {
			sf := s.surfaces[e.surface]
			if sf == nil || e.port == "" {
				continue
			}
			if n := s.nodes[sf.GetAssignment().GetPrimary()]; n != nil && n.Address != "" {
				e.addr = n.Address
				ends = append(ends, e)
			}
		}
	})
	creds, err := ctlclient.Credentials(c.cfg.TLS)
	if err != nil {
		return nil, nil
	}
	var base []*pb.BridgeItemCount
	for _, e := range ends {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		cc, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			cancel()
			continue
		}
		q := &pb.PortQuery{Name: e.port, Export: e.export}
		if e.export {
			q.Items = b.Items
		}
		r, err := pb.NewShardServiceClient(cc).GetShard(qctx, &pb.GetShardRequest{Surface: e.surface, Ports: []*pb.PortQuery{q}})
		cc.Close()
		cancel()
		if err != nil || len(r.PortErrors) == 0 {
			continue
		}
		if r.PortErrors[0] == "" {
			if e.export && len(r.PortCounts) > 0 {
				base = r.PortCounts[0].Items
			}
			continue
		}
		side := "source port"
		if !e.export {
			side = "destination port"
		}
		return nil, status.Errorf(codes.FailedPrecondition, "bridge %s: %s %s:%s: %s", b.Id, side, e.surface, e.port, r.PortErrors[0])
	}
	return base, nil
}
