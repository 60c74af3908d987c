package node

import (
	"context"
	"errors"
	"time"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// How the node handles a copy that fails on this machine (see shard/DESIGN.md,
// "Damaged storage and full disks"):
//
//   - The failure is reported at once: the heartbeat's error starts with its kind
//     ("disk full: …", "store corrupt: …"), which `surface list` shows as
//     `failed: disk full on n1`, and the leader records a surface.failed event.
//   - A failed primary stops replicating: its standbys see the stream end, report
//     the primary lost, and the controller promotes the synced one holding the
//     most ticks. Nothing unconfirmed ever left the primary, so nothing is lost or
//     sent twice.
//   - The node retries by itself, with backoff: a primary nobody took over is
//     reopened from its store (the log holds every durable tick), a copy that
//     could not open is opened again. A full disk thus heals once there is room.

const (
	// firstRetry and maxRetry bound the backoff of reopening a failed copy.
	firstRetry = time.Second
	maxRetry   = 30 * time.Second
	// takeoverGrace is how long a failed primary with synced standbys waits for
	// the controller to promote one before it reopens its own copy.
	takeoverGrace = 5 * time.Second
	// healthyAfter: a copy running this long without failing resets the backoff.
	healthyAfter = time.Minute
)

// failureText is a shard error as the heartbeat reports it: its kind first.
func failureText(err error) string {
	switch {
	case errors.Is(err, shard.ErrDiskFull):
		return "disk full: " + err.Error()
	case errors.Is(err, shard.ErrStoreCorrupt):
		return "store corrupt: " + err.Error()
	}
	return "failed: " + err.Error()
}

// failureLoop notices primaries whose shard failed, stops their replication so
// that a standby takes over, and schedules reopening them.
func (n *Node) failureLoop(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := n.cfg.Now()
		n.mu.Lock()
		var failed []*hosted
		for _, h := range n.shards {
			if h.sh == nil || h.role != pb.ShardRole_SHARD_ROLE_PRIMARY {
				continue
			}
			if err := h.sh.Stats().Err; err != nil && h.failedEpoch != h.epoch+1 {
				h.failedEpoch = h.epoch + 1
				failed = append(failed, h)
			} else if err == nil && h.retries > 0 && now.Sub(h.startedAt) > healthyAfter {
				h.retries = 0
			}
		}
		n.mu.Unlock()
		for _, h := range failed {
			n.primaryFailed(h)
		}
	}
}

func (n *Node) primaryFailed(h *hosted) {
	n.mu.Lock()
	sh, src, a := h.sh, h.src, h.asg
	h.src = nil
	n.mu.Unlock()
	err := sh.Stats().Err
	if src != nil {
		n.repl.Remove(src) // the standbys see the stream end and report the primary lost
	}
	grace := time.Duration(0)
	if len(confirmSet(a.Surface.GetAssignment())) > 0 {
		grace = takeoverGrace
	}
	n.log.Error("surface failed on this node; replication stopped so a standby can take over",
		"surface", h.name, "err", err, "tick", sh.Executed(), "confirmed", sh.Confirmed(), "synced_standbys", confirmSet(a.Surface.GetAssignment()))
	n.retryLater(h, a, grace)
}

// retryLater reapplies assignment a to h after the backoff (plus extra), unless a
// newer assignment arrived or the surface left this node meanwhile.
func (n *Node) retryLater(h *hosted, a *pb.NodeAssignment, extra time.Duration) {
	n.mu.Lock()
	d := min(firstRetry<<min(h.retries, 5), maxRetry) + extra
	h.retries++
	n.mu.Unlock()
	n.log.Info("will reopen the surface", "surface", h.name, "in", d)
	time.AfterFunc(d, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.shards[h.name] != h || h.asg != a {
			return // gone, or a newer assignment took over
		}
		h.restart = true
		select {
		case h.ops <- a:
		default:
		}
	})
}
