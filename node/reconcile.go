package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// watchLoop follows the node's assignment stream, reconnecting (to any
// controller) when it breaks, and reconciles every update.
func (n *Node) watchLoop(ctx context.Context) {
	for ctx.Err() == nil {
		err := n.ctl.Do(ctx, func(_ context.Context, cc *grpc.ClientConn) error {
			stream, err := pb.NewNodeServiceClient(cc).WatchAssignments(ctx, &pb.WatchAssignmentsRequest{NodeId: n.id})
			if err != nil {
				return err
			}
			for {
				up, err := stream.Recv()
				if err != nil {
					return err
				}
				n.apply(ctx, up)
			}
		})
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.NotFound {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if rerr := n.register(rctx); rerr != nil {
				n.log.Warn("register again", "err", rerr)
			}
			cancel()
		} else if err != nil {
			n.log.Warn("assignment stream broke; watching again", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// apply reconciles the running shards with one full assignment set: it starts new
// primaries, stops shards no longer assigned here, moves a running primary to a
// newer epoch of its term, and refuses standby roles (not supported yet).
func (n *Node) apply(ctx context.Context, up *pb.AssignmentsUpdate) {
	n.mu.Lock()
	if up.Index < n.lastIndex {
		n.mu.Unlock()
		return // an older view from a lagging controller
	}
	n.lastIndex = up.Index
	n.needSync = false
	want := map[string]*pb.NodeAssignment{}
	for _, a := range up.Assignments {
		want[a.Surface.GetName()] = a
	}
	var stop []*hosted
	var start []*hosted
	for name, h := range n.shards {
		a := want[name]
		switch {
		case a == nil || a.Role != h.role || a.Epoch < h.epoch:
			delete(n.shards, name)
			stop = append(stop, h)
		case a.Epoch > h.epoch && h.sh != nil:
			if err := h.sh.SetEpoch(a.Epoch); err == nil {
				h.epoch, h.sf = a.Epoch, a.Surface
			}
		case a.Epoch > h.epoch:
			// Not running (still loading, refused or failed): start over under the new epoch.
			delete(n.shards, name)
			stop = append(stop, h)
		}
	}
	for name, a := range want {
		if _, ok := n.shards[name]; ok {
			continue
		}
		var prev *hosted
		for _, h := range stop {
			if h.name == name {
				prev = h
			}
		}
		hctx, cancel := context.WithCancel(ctx)
		h := &hosted{name: name, epoch: a.Epoch, role: a.Role, sf: a.Surface, cancel: cancel, started: make(chan struct{}), stopped: make(chan struct{})}
		n.shards[name] = h
		start = append(start, h)
		go n.startHosted(hctx, h, prev)
	}
	n.mu.Unlock()
	for _, h := range stop {
		go n.stopHosted(h)
	}
	n.grantLeases()
	n.setRoutes(up.Bridges)
	if len(stop)+len(start) > 0 {
		n.log.Info("assignments changed", "index", up.Index, "starting", len(start), "stopping", len(stop))
	}
}

// refusal is an assignment this node cannot run, with the exact reason.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

// startHosted opens and starts the shard of one assignment, after the previous
// shard of the same surface (if any) has stopped.
func (n *Node) startHosted(ctx context.Context, h *hosted, prev *hosted) {
	defer close(h.started)
	if prev != nil {
		<-prev.stopped
	}
	if h.role != pb.ShardRole_SHARD_ROLE_PRIMARY {
		n.refuse(ctx, h, "this node cannot run standbys yet: standby replication is not part of this version")
		return
	}
	sh, err := n.openShard(h)
	var rf *refusal
	switch {
	case errors.As(err, &rf) || errors.Is(err, sim.ErrNewerSave):
		n.refuse(ctx, h, err.Error())
		return
	case err != nil:
		n.mu.Lock()
		h.err = "cannot start: " + err.Error()
		n.mu.Unlock()
		n.log.Error("cannot start surface", "surface", h.name, "err", err)
		return
	}
	n.mu.Lock()
	if ctx.Err() != nil {
		n.mu.Unlock()
		sh.Stop()
		return
	}
	h.sh = sh
	n.mu.Unlock()
	n.grantLeases()
	sh.Start()
	n.kickBridges()
	n.log.Info("surface running", "surface", h.name, "epoch", h.epoch, "tick", sh.Executed())
}

// openShard checks that this node can run the surface and opens its shard.
func (n *Node) openShard(h *hosted) (*shard.Shard, error) {
	sf := h.sf
	if want := sf.GetBundleHash(); want != "" && want != n.bundle.Hash() {
		return nil, &refusal{fmt.Sprintf("node %s lacks prototype bundle %s (it has %s); give the node that bundle or let the surface run elsewhere",
			n.id, short(want), n.bundle.ShortHash())}
	}
	b := n.bundle
	cfg := shard.Config{
		Name: sf.Name, Dir: filepath.Join(n.cfg.DataDir, "shards", sf.Name), Epoch: h.epoch,
		CheckpointEvery: n.cfg.CheckpointEvery, Logger: n.log, Metrics: n.shMet, Now: n.cfg.Now,
		Load: func(r io.Reader) (shard.Simulation, error) {
			s, err := sim.Load(b, r)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		New: func() (shard.Simulation, error) { return n.newSurface(sf) },
		JoinInput: func(_ uint32, name string) []byte {
			return sim.EncodeAction(sim.Action{Kind: sim.ActJoin, Name: name})
		},
		LeaveInput: func(uint32) []byte { return sim.EncodeAction(sim.Action{Kind: sim.ActLeave}) },
	}
	return shard.Open(cfg)
}

// newSurface creates a surface's first state from its map: a built-in map, or a
// save file on this node.
func (n *Node) newSurface(sf *pb.Surface) (shard.Simulation, error) {
	for _, m := range sim.Maps() {
		if m.Name == sf.Map {
			return sim.NewMap(n.bundle, sf.Map, sf.Seed, sf.Name)
		}
	}
	data, err := os.ReadFile(sf.Map)
	if err != nil {
		return nil, &refusal{fmt.Sprintf("node %s cannot read the save %s: %v", n.id, sf.Map, errors.Unwrap(err))}
	}
	info, err := sim.ReadSaveInfo(bytes.NewReader(data))
	if err != nil {
		return nil, &refusal{fmt.Sprintf("node %s cannot load the save %s: %v", n.id, sf.Map, err)}
	}
	if info.BundleHash != n.bundle.Hash() {
		return nil, &refusal{fmt.Sprintf("the save %s was made with prototype bundle %s, node %s has %s", sf.Map, short(info.BundleHash), n.id, n.bundle.ShortHash())}
	}
	s, err := sim.Load(n.bundle, bytes.NewReader(data))
	if err != nil {
		return nil, &refusal{fmt.Sprintf("node %s cannot load the save %s: %v", n.id, sf.Map, err)}
	}
	return s, nil
}

// refuse tells the controller this node will not run the assignment, and why.
func (n *Node) refuse(ctx context.Context, h *hosted, reason string) {
	n.mu.Lock()
	h.err = "refused: " + reason
	n.mu.Unlock()
	n.log.Error("refusing assignment", "surface", h.name, "epoch", h.epoch, "reason", reason)
	req := &pb.RefuseAssignmentRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: h.epoch, Reason: reason}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := n.ctl.Node(rctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		_, err := c.RefuseAssignment(ctx, req)
		return err
	})
	if err != nil && status.Code(err) != codes.FailedPrecondition && ctx.Err() == nil {
		n.log.Warn("report refusal", "surface", h.name, "err", err)
	}
}

// stopHosted stops a shard once its start finished; every executed tick is
// durable when it returns.
func (n *Node) stopHosted(h *hosted) {
	h.cancel()
	<-h.started
	n.mu.Lock()
	sh := h.sh
	n.mu.Unlock()
	if sh != nil {
		if err := sh.Stop(); err != nil {
			n.log.Warn("stop surface", "surface", h.name, "err", err)
		} else {
			n.log.Info("surface stopped here", "surface", h.name, "tick", sh.Executed())
		}
	}
	close(h.stopped)
}

// primary returns the running primary shard of a surface on this node.
func (n *Node) primary(name string) *shard.Shard {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.shards[name]; h != nil && h.role == pb.ShardRole_SHARD_ROLE_PRIMARY {
		return h.sh
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func hex16(v uint64) string { return fmt.Sprintf("%016x", v) }
