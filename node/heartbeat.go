package node

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// heartbeatLoop renews the lease and reports shard stats. The lease the node grants
// its primaries ends FenceAfter x TTL after the *send* time of the last heartbeat the
// leader acknowledged: the leader's own timer started later than that, when the
// heartbeat arrived, so the primaries stop sequencing before the leader can give
// their surfaces to another node.
//
// A heartbeat that failed is tried again soon (100 ms, doubling up to the
// interval) rather than a whole interval later: after a leader change the next
// try usually reaches the new leader, well before the primaries would fence.
// noticeFor is how long a copy's notice rides in heartbeats: long enough for a
// leader elected meanwhile to hear it (the event's request ID keeps it to one).
const noticeFor = time.Minute

func (n *Node) heartbeatLoop(ctx context.Context) {
	failing := false
	var retry time.Duration
	for {
		n.mu.Lock()
		every := n.heartbeatEvery
		n.mu.Unlock()
		wait := every
		if failing {
			retry = min(max(2*retry, 100*time.Millisecond), every)
			wait = retry
		} else {
			retry = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		sent := n.cfg.Now()
		req := &pb.HeartbeatRequest{NodeId: n.id, Shards: n.shardStats(), Bridges: n.bridgeStats(), Health: n.health()}
		actx, cancel := context.WithTimeout(ctx, every)
		var res *pb.HeartbeatResponse
		err := n.ctl.Node(actx, func(ctx context.Context, c pb.NodeServiceClient) error {
			var err error
			res, err = c.Heartbeat(ctx, req)
			return err
		})
		cancel()
		switch code := status.Code(err); {
		case err == nil:
			if failing {
				n.log.Info("heartbeats acknowledged again")
				failing = false
			}
			n.mu.Lock()
			if res.LeaseTtlMs > 0 {
				n.leaseTTL = time.Duration(res.LeaseTtlMs) * time.Millisecond
			}
			n.leaseUntil = sent.Add(time.Duration(float64(n.leaseTTL) * n.cfg.FenceAfter))
			n.mu.Unlock()
			n.grantLeases()
		case ctx.Err() != nil:
			return
		case code == codes.NotFound || code == codes.FailedPrecondition:
			n.log.Warn("the controller no longer has this node up; registering again (primaries stay fenced until the assignments are re-read)", "reason", status.Convert(err).Message())
			rctx, cancel := context.WithTimeout(ctx, 5*every)
			if err := n.register(rctx); err != nil {
				n.log.Warn("register again", "err", err)
			}
			cancel()
			n.mu.Lock()
			n.leaseUntil = time.Time{} // re-granted when the watch delivers assignments
			n.needSync = true
			n.mu.Unlock()
			n.grantLeases()
		default:
			if !failing {
				n.log.Warn("heartbeat failed; primaries fence themselves if this lasts", "err", err, "fence_at", n.leaseDeadline())
				failing = true
			}
		}
	}
}

func (n *Node) leaseDeadline() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leaseUntil
}

// grantLeases passes the node's lease to every running primary. While the node has
// re-registered but not yet re-read its assignments, the lease is withheld.
func (n *Node) grantLeases() {
	n.mu.Lock()
	until := n.leaseUntil
	if n.needSync || until.IsZero() {
		until = time.Unix(0, 1) // long past: fenced
	}
	var shs []*shard.Shard
	for _, h := range n.shards {
		if h.sh != nil {
			shs = append(shs, h.sh)
		}
	}
	n.mu.Unlock()
	for _, sh := range shs {
		sh.SetLease(until)
	}
}

// shardStats builds the heartbeat's per-shard report.
func (n *Node) shardStats() []*pb.ShardStats {
	n.mu.Lock()
	hs := make([]*hosted, 0, len(n.shards))
	for _, h := range n.shards {
		hs = append(hs, h)
	}
	n.mu.Unlock()
	slices.SortFunc(hs, func(a, b *hosted) int { return cmpStr(a.name, b.name) })
	out := make([]*pb.ShardStats, 0, len(hs))
	for _, h := range hs {
		n.mu.Lock()
		sh, errText, epoch, role := h.sh, h.err, h.epoch, h.role
		notice := ""
		if h.notice != "" && time.Since(h.noticeAt) < noticeFor {
			notice = h.notice
		}
		n.mu.Unlock()
		ss := &pb.ShardStats{Surface: h.name, Epoch: epoch, Role: role, Error: errText, Notice: notice}
		if sh == nil {
			if ss.Error == "" {
				ss.Error = "starting"
			}
			out = append(out, ss)
			continue
		}
		st := sh.Stats()
		ss.Epoch, ss.Tick, ss.ConfirmedTick, ss.StateHash = st.Epoch, st.Tick, st.Confirmed, hex16(st.Hash)
		ss.UpsMilli, ss.TickCostUs, ss.EntityCount = uint64(st.UPS*1000), uint64(st.TickCost.Microseconds()), uint64(st.Entities)
		ss.Players, ss.Fenced = uint32(st.Players), st.Fenced
		if role == pb.ShardRole_SHARD_ROLE_STANDBY {
			ss.Epoch, ss.UpsMilli, ss.TickCostUs, ss.Players, ss.Fenced = epoch, 0, 0, 0, false
		}
		if st.Err != nil {
			ss.Error = failureText(st.Err)
		}
		if !sh.IsStandby() {
			_ = sh.Inspect(func(s shard.Simulation) {
				if surf, ok := s.(*sim.Surface); ok {
					ss.Production = productionStats(surf.Production())
				}
			})
		}
		n.replicaStats(h, ss)
		out = append(out, ss)
	}
	return out
}

func productionStats(p sim.Production) *pb.ProductionStats {
	out := &pb.ProductionStats{Spm: p.SPM}
	names := map[string]bool{}
	for k := range p.Produced {
		names[k] = true
	}
	for k := range p.Consumed {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		out.Items = append(out.Items, &pb.ItemProduction{Item: k, Produced: p.Produced[k], Consumed: p.Consumed[k],
			ProducedPerMinute: p.ProducedPerMinute[k], ConsumedPerMinute: p.ConsumedPerMinute[k]})
	}
	return out
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
