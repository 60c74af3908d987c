package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/validate"
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

// apply reconciles the hosted surfaces with one full assignment set: each
// surface's worker gets its new assignment (start, promote, demote, new epoch), and
// surfaces no longer assigned here are stopped.
func (n *Node) apply(ctx context.Context, up *pb.AssignmentsUpdate) {
	n.gate.update(up.PlayerAccess)
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
	stopping, starting := 0, 0
	for name, h := range n.shards {
		if want[name] == nil {
			delete(n.shards, name)
			n.closing[name] = h
			close(h.ops)
			stopping++
		}
	}
	var send []*hosted
	var asg []*pb.NodeAssignment
	for name, a := range want {
		h := n.shards[name]
		if h == nil {
			hctx, cancel := context.WithCancel(ctx)
			h = &hosted{name: name, ctx: hctx, cancel: cancel, ops: make(chan *pb.NodeAssignment, 64), done: make(chan struct{})}
			n.shards[name] = h
			go n.runHosted(h, n.closing[name])
			starting++
		}
		send = append(send, h)
		asg = append(asg, a)
	}
	n.mu.Unlock()
	for i, h := range send {
		h.ops <- asg[i]
	}
	n.setRoutes(up.Bridges)
	if stopping+starting > 0 {
		n.log.Info("assignments changed", "index", up.Index, "starting", starting, "stopping", stopping)
	}
}

// refusal is an assignment this node cannot run, with the exact reason.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

// runHosted applies a surface's assignments in order until they stop, then tears
// the surface down. It starts only after an earlier copy of the surface on this
// node (prev) is gone, since both would use the same store.
func (n *Node) runHosted(h *hosted, prev *hosted) {
	defer close(h.done)
	if prev != nil {
		<-prev.done
	}
	ops := h.ops
	for closed := false; !closed; {
		a, ok := <-ops
		if !ok {
			break
		}
		// Only the newest queued assignment matters.
	drain:
		for {
			select {
			case b, ok := <-ops:
				if !ok {
					closed = true
					break drain
				}
				a = b
			default:
				break drain
			}
		}
		if !closed {
			n.step(h, a)
			n.hk.assignmentsChanged()
		}
	}
	h.cancel()
	n.teardown(h)
	n.mu.Lock()
	if n.closing[h.name] == h {
		delete(n.closing, h.name)
	}
	n.mu.Unlock()
}

// step moves one surface to assignment a.
func (n *Node) step(h *hosted, a *pb.NodeAssignment) {
	n.mu.Lock()
	sh, role, cur, restart := h.sh, h.role, h.asg, h.restart
	h.restart = false
	n.mu.Unlock()
	primary := a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY
	n.mu.Lock()
	serving := sh != nil && !restart && servesFailed(h, a)
	n.mu.Unlock()
	switch {
	case restart && cur != nil && cur.Epoch == a.Epoch, sh != nil && sh.Stats().Err != nil && !serving && (!primary || cur == nil || cur.Epoch != a.Epoch || cur.Role != a.Role):
		// A failed copy's retry (failure.go), or a new assignment (epoch or
		// role) for a failed copy: reopen it from its store in the role asked
		// for. The same assignment sent again (every update carries them all)
		// leaves it to its retry: reopening a failed primary at its last durable
		// tick while its synced standby waits to take over would make that
		// standby's copy, which holds later ticks, start over.
		n.log.Info("reopening the surface after a failure", "surface", h.name, "role", roleWord(a.Role))
		n.teardown(h)
		n.start(h, a)
	case sh != nil && sh.Stats().Err != nil && !serving:
		// The same assignment again for a failed primary: its retry reopens it.
		n.mu.Lock()
		h.asg = a
		n.mu.Unlock()
	case sh == nil:
		if cur != nil && cur.Epoch == a.Epoch && cur.Role == a.Role {
			return // this start already failed or was refused
		}
		n.start(h, a)
	case role == pb.ShardRole_SHARD_ROLE_STANDBY && primary:
		n.promote(h, a)
	case role == pb.ShardRole_SHARD_ROLE_PRIMARY && !primary:
		n.demote(h, a)
	case primary && termOf(cur) != termOf(a) && termOf(cur) != 0:
		// A new term for a primary this node already runs: its copy may not be the
		// one the term continues from. Start over from the store.
		n.log.Warn("new primary term for a running primary; reopening", "surface", h.name, "old_term", termOf(cur), "term", termOf(a))
		n.teardown(h)
		n.start(h, a)
	case primary:
		n.updatePrimary(h, a)
	case modeOf(cur) != modeOf(a):
		n.teardown(h)
		n.start(h, a)
	default:
		n.mu.Lock()
		h.epoch, h.asg = a.Epoch, a
		fol := h.fol
		n.mu.Unlock()
		p := a.Surface.GetAssignment().GetPrimary()
		fol.Update(p, a.Addresses[p], a.Epoch)
	}
}

func termOf(a *pb.NodeAssignment) uint64 { return a.GetSurface().GetAssignment().GetPrimarySince() }

func modeOf(a *pb.NodeAssignment) pb.StandbyMode {
	if m := a.GetSurface().GetStandbyMode(); m == pb.StandbyMode_STANDBY_MODE_WARM {
		return m
	}
	return pb.StandbyMode_STANDBY_MODE_HOT
}

// start opens the surface's copy in the assignment's role.
func (n *Node) start(h *hosted, a *pb.NodeAssignment) {
	n.mu.Lock()
	h.role, h.epoch, h.asg, h.err = a.Role, a.Epoch, a, ""
	n.mu.Unlock()
	var sh *shard.Shard
	var err error
	if a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY {
		sh, err = n.openShard(a)
	} else {
		sh, err = n.openStandby(a)
	}
	if errors.Is(err, shard.ErrStoreCorrupt) {
		// The damaged file was moved aside: a standby starts a new copy from its
		// primary at once; a primary finds no state and waits for a standby to
		// take over. Never from its map, even in a term that began fresh: the
		// file held the surface's history, and a new state would replace the
		// standbys' copies of it.
		n.log.Error("surface store corrupt; moved aside", "surface", h.name, "role", roleWord(a.Role), "err", err)
		corrupt := failureText(err)
		if a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY {
			sh, err = n.openPrimary(a, false)
		} else {
			sh, err = n.openStandby(a)
		}
		if err != nil {
			n.mu.Lock()
			h.err = corrupt
			n.mu.Unlock()
			n.log.Error("cannot start surface after moving its corrupt store aside", "surface", h.name, "err", err)
			return
		}
		if a.Role != pb.ShardRole_SHARD_ROLE_PRIMARY {
			// The standby runs again from a new copy: nothing is wrong now, but
			// the disk damaged a file, which the operator hears of as an event.
			n.mu.Lock()
			h.notice, h.noticeAt = corrupt+"; the damaged store was moved aside and a new copy is taken from the primary", time.Now()
			n.mu.Unlock()
		}
	}
	var rf *refusal
	switch {
	case errors.As(err, &rf) || errors.Is(err, sim.ErrNewerSave):
		n.refuse(h.ctx, h, a.Epoch, err.Error())
		return
	case errors.Is(err, shard.ErrDiskFull):
		n.mu.Lock()
		h.err = failureText(err)
		n.mu.Unlock()
		n.markDiskFull()
		n.log.Error("cannot start surface: disk full; retrying", "surface", h.name, "role", roleWord(a.Role), "err", err)
		n.retryLater(h, a, 0)
		return
	case errors.Is(err, shard.ErrNoState) && a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY:
		// The term continues from a copy this node does not have (its data dir
		// was replaced): reported, so that the controller restores the surface.
		n.mu.Lock()
		h.err = failureText(err)
		n.mu.Unlock()
		n.log.Error("cannot start surface: no copy of it here", "surface", h.name, "err", err)
		return
	case err != nil:
		n.mu.Lock()
		h.err = "cannot start: " + err.Error()
		n.mu.Unlock()
		n.log.Error("cannot start surface", "surface", h.name, "role", roleWord(a.Role), "err", err)
		return
	}
	st := sh.Stats()
	n.mu.Lock()
	h.startedAt, h.failedEpoch = n.cfg.Now(), 0
	h.startTick, h.startHash = st.Tick, hex16(st.Hash)
	n.mu.Unlock()
	if a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY {
		n.runPrimary(h, a, sh)
		n.log.Info("surface running", "surface", h.name, "epoch", a.Epoch, "tick", sh.Executed())
		return
	}
	n.runStandby(h, a, sh)
	tick, _, ok := sh.Position()
	n.log.Info("standby running", "surface", h.name, "epoch", a.Epoch, "tick", tick, "has_copy", ok, "hot", sh.Hot())
}

func roleWord(r pb.ShardRole) string {
	if r == pb.ShardRole_SHARD_ROLE_STANDBY {
		return "standby"
	}
	return "primary"
}

// teardown stops whatever runs for the surface; every executed tick is durable
// when it returns.
func (n *Node) teardown(h *hosted) {
	n.mu.Lock()
	sh, fol, src := h.sh, h.fol, h.src
	h.sh, h.fol, h.src = nil, nil, nil
	n.mu.Unlock()
	if fol != nil {
		fol.Stop()
	}
	if src != nil {
		n.repl.Remove(src)
	}
	if sh != nil {
		if err := sh.Stop(); err != nil {
			n.log.Warn("stop surface", "surface", h.name, "err", err)
		} else {
			n.log.Info("surface stopped here", "surface", h.name, "tick", sh.Executed())
		}
		n.kickBridges()
	}
}

// shardConfig is the shard configuration of a surface on this node, which
// runs with prototype bundle b.
func (n *Node) shardConfig(a *pb.NodeAssignment, b *sim.Bundle) shard.Config {
	sf := a.Surface
	return shard.Config{
		Name: sf.Name, Dir: filepath.Join(n.cfg.DataDir, "shards", sf.Name), Epoch: a.Epoch,
		CheckpointEvery: n.cfg.CheckpointEvery, HashEvery: uint64(n.cfg.HashEvery), Logger: n.log, Metrics: n.shMet, Now: n.cfg.Now,
		NodeLog: n.nlog, IdleBurst: idleBurst, OnFail: n.hk.copyFailed,
		Load: func(r io.Reader) (shard.Simulation, error) {
			s, err := sim.LoadLimited(b, r, n.maxState())
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		New: func() (shard.Simulation, error) { return n.newSurface(sf, b) },
		JoinInput: func(_ uint32, name string) []byte {
			return sim.EncodeAction(sim.Action{Kind: sim.ActJoin, Name: name})
		},
		LeaveInput: func(uint32) []byte { return sim.EncodeAction(sim.Action{Kind: sim.ActLeave}) },
	}
}

// openShard checks that this node can run the surface and opens its shard as
// primary. The assignment says where the state comes from: a fresh term starts
// from the map (discarding any older copy here); any other term continues from
// this node's copy.
func (n *Node) openShard(a *pb.NodeAssignment) (*shard.Shard, error) {
	return n.openPrimary(a, a.Surface.GetAssignment().GetStart() == pb.PrimaryStart_PRIMARY_START_FRESH)
}

// openPrimary opens the primary; fresh allows starting from the map.
func (n *Node) openPrimary(a *pb.NodeAssignment, fresh bool) (*shard.Shard, error) {
	b, err := n.bundleFor(a.Surface)
	if err != nil {
		return nil, err
	}
	cfg := n.shardConfig(a, b)
	cfg.Term, cfg.Fresh = a.Surface.GetAssignment().GetPrimarySince(), fresh
	cfg.Restored = fresh && a.Surface.GetTimelineIndex() != 0 && a.Surface.GetSaveSha256() != ""
	return shard.Open(cfg)
}

// openStandby checks that this node can keep a copy of the surface and opens it.
func (n *Node) openStandby(a *pb.NodeAssignment) (*shard.Shard, error) {
	b, err := n.bundleFor(a.Surface)
	if err != nil {
		return nil, err
	}
	cfg := n.shardConfig(a, b)
	cfg.New = func() (shard.Simulation, error) { return nil, shard.ErrNoState }
	if at := n.cfg.TamperStandbyAt; at != 0 {
		load := cfg.Load
		cfg.Load = func(r io.Reader) (shard.Simulation, error) {
			s, err := load(r)
			if err != nil {
				return nil, err
			}
			return &tampered{Surface: s.(*sim.Surface), at: at, once: &n.tamperedOnce}, nil
		}
	}
	return shard.OpenStandby(cfg, modeOf(a) == pb.StandbyMode_STANDBY_MODE_HOT)
}

// newSurface creates a surface's first state from its map: a built-in map, or a
// save the controllers keep by hash. A node never opens a path a request named.
func (n *Node) newSurface(sf *pb.Surface, b *sim.Bundle) (shard.Simulation, error) {
	if sf.SaveSha256 == "" {
		for _, m := range sim.Maps() {
			if m.Name == sf.Map {
				return sim.NewMap(b, sf.Map, sf.Seed, sf.Name)
			}
		}
		return nil, &refusal{fmt.Sprintf("surface %s names map %s, which is not a built-in map of node %s (saves are sent as content: re-create it with starlane surface create --map FILE)",
			sf.Name, validate.Quote(sf.Map), n.id)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data, err := n.fetchSave(ctx, sf.SaveSha256)
	if err != nil {
		return nil, err
	}
	info, err := sim.ReadSaveInfo(bytes.NewReader(data))
	if err != nil {
		return nil, &refusal{fmt.Sprintf("node %s cannot load the save %s: %v", n.id, sf.Map, err)}
	}
	if info.BundleHash != b.Hash() {
		return nil, &refusal{fmt.Sprintf("bundle mismatch: the save %s was made with bundle (%s…), surface %s runs %s", sf.Map, short(info.BundleHash), sf.Name, bundleLabel(b))}
	}
	s, err := sim.LoadLimited(b, bytes.NewReader(data), n.maxState())
	if err != nil {
		return nil, &refusal{fmt.Sprintf("node %s cannot load the save %s: %v", n.id, sf.Map, err)}
	}
	return s, nil
}

func (n *Node) maxState() int64 {
	if n.cfg.MaxStateBytes > 0 {
		return n.cfg.MaxStateBytes
	}
	return sim.DefaultMaxStateBytes
}

// fetchSave downloads a save from the controllers by its hash into this
// node's blob cache (resuming an interrupted download; the hash is checked)
// and returns its content.
func (n *Node) fetchSave(ctx context.Context, hash string) ([]byte, error) {
	if _, ok := n.blobs.Size(hash); !ok {
		err := n.ctl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
			err := blobstore.Fetch(ctx, pb.NewBlobServiceClient(cc), n.blobs, hash, validate.MaxSaveBytes)
			if blobstore.Elsewhere(err) {
				// This controller has not fetched it yet, or its copy is
				// damaged (and dropped here); another has a good one.
				return status.Error(codes.Unavailable, err.Error())
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("fetch save %s from the controllers: %w", hash[:12], err)
		}
	}
	return n.blobs.ReadAll(hash)
}

// refuse tells the controller this node will not run the assignment, and why.
func (n *Node) refuse(ctx context.Context, h *hosted, epoch uint64, reason string) {
	n.mu.Lock()
	h.err = "refused: " + reason
	n.mu.Unlock()
	n.log.Error("refusing assignment", "surface", h.name, "epoch", epoch, "reason", reason)
	req := &pb.RefuseAssignmentRequest{RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: h.name, Epoch: epoch, Reason: reason}
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

// tampered is a simulation that builds a chest nobody asked for after tick at
// (Config.TamperStandbyAt): a hot standby running it falls out of step with its
// primary, which the hash check must catch.
type tampered struct {
	*sim.Surface
	at   uint64
	once *atomic.Bool // one desync per node process: the resync must then hold
}

func (t *tampered) Step(in []shard.Input) {
	t.Surface.Step(in)
	if t.Surface.Tick() == t.at && t.once.CompareAndSwap(false, true) {
		t.Surface.Build(sim.BuildSpec{Name: "wooden-chest", X: 900, Y: 900})
	}
}
