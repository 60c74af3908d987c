package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/starlane/starlane/bridge"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// The node runs the ends of the bridges its primaries take part in: a sender beside the
// source surface's shard, a receiver (served by this node's BridgeService) beside the
// destination's. The controller's routes say where the other end runs and under which
// epochs; an end only runs while the local shard is primary under the route's epoch.

type bridgeEnd struct {
	sh *shard.Shard
	// term is the shard's term when the end started: a primary demoted and promoted
	// again in place is the same shard, but demoting removed the end's outlet.
	term     uint64
	sender   *bridge.Sender
	receiver *bridge.Receiver
}

// bridgeSet holds the bridge ends this node runs.
type bridgeSet struct {
	server *bridge.Server
	cfg    bridge.Config
	kick   chan struct{}

	mu      sync.Mutex
	routes  []*pb.BridgeRoute
	ends    map[string]*bridgeEnd // by bridge id + side
	errs    map[string]string     // why an end cannot run, by bridge id + side
	connsMu sync.Mutex
	conns   map[string]*grpc.ClientConn
}

func newBridgeSet(cfg bridge.Config) *bridgeSet {
	return &bridgeSet{server: bridge.NewServer(), cfg: cfg, kick: make(chan struct{}, 1),
		ends: map[string]*bridgeEnd{}, errs: map[string]string{}, conns: map[string]*grpc.ClientConn{}}
}

// setRoutes takes the controller's routes from an assignment update.
func (n *Node) setRoutes(routes []*pb.BridgeRoute) {
	b := n.bridges
	b.mu.Lock()
	b.routes = routes
	b.mu.Unlock()
	n.kickBridges()
}

func (n *Node) kickBridges() {
	select {
	case n.bridges.kick <- struct{}{}:
	default:
	}
}

// bridgeLoop reconciles the running bridge ends with the routes whenever they or the
// shards change, and retries ends that could not start.
func (n *Node) bridgeLoop(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		n.reconcileBridges()
		select {
		case <-ctx.Done():
			n.stopBridges()
			return
		case <-n.bridges.kick:
		case <-t.C:
		}
	}
}

// localPrimary returns the running shard of a surface if this node runs it as primary
// under epoch.
func (n *Node) localPrimary(surface string, epoch uint64) *shard.Shard {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.shards[surface]
	if h == nil || h.sh == nil || h.role != pb.ShardRole_SHARD_ROLE_PRIMARY || h.epoch != epoch {
		return nil
	}
	return h.sh
}

func (n *Node) reconcileBridges() {
	b := n.bridges
	b.mu.Lock()
	routes := b.routes
	b.mu.Unlock()
	want := map[string]bool{}
	for _, pr := range routes {
		r := bridge.RouteFromProto(pr)
		if pr.FromNode == n.id {
			key := r.Bridge + "/sender"
			if sh := n.localPrimary(r.FromSurface, r.FromEpoch); sh != nil {
				want[key] = true
				n.ensureEnd(key, sh, r, true)
			}
		}
		if pr.ToNode == n.id {
			key := r.Bridge + "/receiver"
			if sh := n.localPrimary(r.ToSurface, r.ToEpoch); sh != nil {
				want[key] = true
				n.ensureEnd(key, sh, r, false)
			}
		}
	}
	b.mu.Lock()
	var stop []*bridgeEnd
	var stopKeys []string
	for key, e := range b.ends {
		if !want[key] {
			stop = append(stop, e)
			stopKeys = append(stopKeys, key)
			delete(b.ends, key)
		}
	}
	for key := range b.errs {
		if !want[key] {
			delete(b.errs, key)
		}
	}
	b.mu.Unlock()
	for i, e := range stop {
		n.stopEnd(stopKeys[i], e)
	}
}

// ensureEnd starts one end, or gives a running one the new route and has it resolve
// its port again (a rebuilt port, a moved label); an end whose shard was replaced
// (restart, new epoch, a demoted primary promoted again) or whose bridge was re-created
// starts over.
func (n *Node) ensureEnd(key string, sh *shard.Shard, r bridge.Route, sender bool) {
	b := n.bridges
	b.mu.Lock()
	e := b.ends[key]
	b.mu.Unlock()
	if e != nil && e.sh == sh && e.term == sh.TermEpoch() {
		if e.sender != nil {
			e.sender.Update(r)
			e.sender.Recheck()
		} else {
			e.receiver.Update(r)
			e.receiver.Recheck()
		}
		why := ""
		if e.sender != nil {
			why = e.sender.Stale()
		}
		if why == "" {
			return
		}
		n.log.Info("bridge end starts again", "bridge", r.Bridge, "end", key, "why", why)
	}
	if e != nil {
		b.mu.Lock()
		delete(b.ends, key)
		b.mu.Unlock()
		n.stopEnd(key, e)
	}
	ne := &bridgeEnd{sh: sh, term: sh.TermEpoch()}
	var err error
	if sender {
		ne.sender, err = bridge.NewSender(b.cfg, sh, r, n.dialBridge)
	} else if ne.receiver, err = bridge.NewReceiver(b.cfg, sh, r); err == nil {
		b.server.Add(r.Bridge, ne.receiver)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if b.errs[key] != err.Error() {
			n.log.Warn("bridge end cannot start", "bridge", r.Bridge, "end", key, "err", err)
		}
		b.errs[key] = err.Error()
		return
	}
	delete(b.errs, key)
	b.ends[key] = ne
	n.log.Info("bridge end running", "bridge", r.Bridge, "end", key)
}

func (n *Node) stopEnd(key string, e *bridgeEnd) {
	if e.sender != nil {
		e.sender.Stop()
	}
	if e.receiver != nil {
		n.bridges.server.Remove(key[:len(key)-len("/receiver")], e.receiver)
		e.receiver.Stop()
	}
}

func (n *Node) stopBridges() {
	b := n.bridges
	b.mu.Lock()
	ends := b.ends
	b.ends = map[string]*bridgeEnd{}
	b.mu.Unlock()
	for key, e := range ends {
		n.stopEnd(key, e)
	}
	b.connsMu.Lock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = map[string]*grpc.ClientConn{}
	b.connsMu.Unlock()
}

// dialBridge returns a BridgeService client for a node, reusing connections.
func (n *Node) dialBridge(addr string) (pb.BridgeServiceClient, error) {
	b := n.bridges
	b.connsMu.Lock()
	defer b.connsMu.Unlock()
	c := b.conns[addr]
	if c == nil {
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(n.creds), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(validate.MaxNodeMessageBytes)))
		if err != nil {
			return nil, err
		}
		b.conns[addr] = c
	}
	return pb.NewBridgeServiceClient(c), nil
}

// bridgeStats reports every bridge end this node runs or cannot run.
func (n *Node) bridgeStats() []*pb.BridgeEndStats {
	b := n.bridges
	b.mu.Lock()
	keys := make([]string, 0, len(b.ends))
	ends := make(map[string]*bridgeEnd, len(b.ends))
	for k, e := range b.ends {
		keys = append(keys, k)
		ends[k] = e
	}
	errs := make(map[string]string, len(b.errs))
	for k, e := range b.errs {
		errs[k] = e
	}
	routes := b.routes
	b.mu.Unlock()
	sort.Strings(keys)
	var out []*pb.BridgeEndStats
	for _, k := range keys {
		e := ends[k]
		if e.sender != nil {
			out = append(out, e.sender.Stats())
		} else {
			out = append(out, e.receiver.Stats())
		}
	}
	for _, pr := range routes {
		id := pr.GetBridge().GetId()
		if msg, ok := errs[id+"/sender"]; ok {
			out = append(out, &pb.BridgeEndStats{Bridge: id, Side: "sender", Surface: pr.GetBridge().GetFromSurface(), Epoch: pr.FromEpoch, Error: msg})
		}
		if msg, ok := errs[id+"/receiver"]; ok {
			out = append(out, &pb.BridgeEndStats{Bridge: id, Side: "receiver", Surface: pr.GetBridge().GetToSurface(), Epoch: pr.ToEpoch, Error: msg})
		}
	}
	return out
}
