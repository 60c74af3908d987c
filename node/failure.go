package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
//   - Except on a full disk with no synced standby: then the failed primary keeps
//     serving replication (its state stays readable), the node reports itself
//     "disk full", and the leader moves the surface live to a healthy node.
//   - The node retries by itself, with backoff: a primary nobody took over is
//     reopened from its store (the log holds every durable tick), a copy that
//     could not open is opened again — after a full disk, only once a probe write
//     fits. A full disk thus heals once there is room.

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
// noCopyPrefix starts the failure a node reports for a primary whose state is
// not on the node (its data dir was replaced): the controller restores such a
// surface from its newest autosave at once, as one whose store is corrupt.
const noCopyPrefix = "no copy here: "

func failureText(err error) string {
	switch {
	case errors.Is(err, shard.ErrDiskFull):
		return "disk full: " + err.Error()
	case errors.Is(err, shard.ErrStoreCorrupt):
		// The error usually starts with the kind already ("store corrupt: …").
		return "store corrupt: " + strings.TrimPrefix(err.Error(), shard.ErrStoreCorrupt.Error()+": ")
	case errors.Is(err, shard.ErrNoState):
		return noCopyPrefix + err.Error()
	}
	return "failed: " + err.Error()
}

// failureLoop notices primaries whose shard failed, stops their replication so
// that a standby takes over, and schedules reopening them. It also keeps the
// node's disk health: set when a copy fails to write for want of space, cleared
// once a probe write in the data dir succeeds.
//
// A copy that fails wakes it (shard.Config.OnFail); otherwise it looks every
// housekeepEvery, which is also how often a full disk is probed.
func (n *Node) failureLoop(ctx context.Context) {
	t := time.NewTimer(housekeepEvery)
	var probed time.Time
	for sleep(ctx.Done(), t, housekeepEvery, n.hk.failures) {
		now := n.cfg.Now()
		n.mu.Lock()
		var failed []*hosted
		full := false
		for _, h := range n.shards {
			if h.sh == nil {
				continue
			}
			err := h.sh.Stats().Err
			if err != nil && h.failedEpoch != h.epoch+1 {
				// A new failure (once per copy and epoch): a copy that failed
				// earlier and still reports it does not mark the disk full again
				// after a probe found room.
				h.failedEpoch = h.epoch + 1
				full = full || errors.Is(err, shard.ErrDiskFull)
				if h.role == pb.ShardRole_SHARD_ROLE_PRIMARY {
					failed = append(failed, h)
				}
			} else if err == nil && h.retries > 0 && now.Sub(h.startedAt) > healthyAfter {
				h.retries = 0
			}
		}
		wasFull := n.diskFull
		n.mu.Unlock()
		if full {
			n.markDiskFull()
		} else if wasFull && now.Sub(probed) >= spaceProbeEvery {
			probed = now
			if n.hasRoom() {
				n.mu.Lock()
				n.diskFull = false
				n.mu.Unlock()
				n.log.Info("the data dir has room again: the node takes new copies", "data_dir", n.cfg.DataDir)
			}
		}
		for _, h := range failed {
			n.primaryFailed(h)
		}
	}
}

const (
	// spaceProbeBytes is what a probe write in the data dir must fit for a node
	// whose disk was full to count as having room again.
	spaceProbeBytes = 1 << 20
	// spaceProbeEvery is how often a node whose disk is full probes for room,
	// and how often a copy that failed on it checks whether it can reopen.
	spaceProbeEvery = time.Second
)

// health is the node's own health for the heartbeat: "" or "disk full".
func (n *Node) health() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.diskFull {
		return "disk full"
	}
	return ""
}

func (n *Node) markDiskFull() {
	n.mu.Lock()
	was := n.diskFull
	n.diskFull = true
	n.mu.Unlock()
	if !was {
		n.log.Error("the data dir is full: the node reports itself unhealthy and takes no new copies until a write fits again", "data_dir", n.cfg.DataDir)
	}
}

// hasRoom reports whether spaceProbeBytes can be written (and synced) in the
// data dir; the probe file is removed either way.
func (n *Node) hasRoom() bool {
	path := filepath.Join(n.cfg.DataDir, ".space-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return false
	}
	_, err = f.Write(make([]byte, spaceProbeBytes))
	if err == nil {
		err = f.Sync()
	}
	_ = f.Close()
	_ = os.Remove(path)
	return err == nil
}

// servesFailed reports whether h is a primary whose shard failed on a full disk
// with no synced standby to take over: it keeps its shard (the state at its last
// executed tick, in memory, and its readable store) and its replication source,
// so that a copy on a healthy node can catch up from it and take over in a live
// move (the leader starts one, see controller/DESIGN.md). Assignments of the
// same term then update it in place instead of reopening it.
func servesFailed(h *hosted, a *pb.NodeAssignment) bool {
	return h.sh != nil && h.src != nil && h.role == pb.ShardRole_SHARD_ROLE_PRIMARY &&
		a.Role == pb.ShardRole_SHARD_ROLE_PRIMARY && termOf(h.asg) == termOf(a) &&
		errors.Is(h.sh.Stats().Err, shard.ErrDiskFull)
}

func (n *Node) primaryFailed(h *hosted) {
	n.mu.Lock()
	sh, src, a := h.sh, h.src, h.asg
	n.mu.Unlock()
	err := sh.Stats().Err
	synced := confirmSet(a.Surface.GetAssignment())
	if errors.Is(err, shard.ErrDiskFull) {
		n.markDiskFull()
		if len(synced) == 0 && src != nil {
			// Nothing else holds every confirmed tick: this copy is the surface's
			// state. It stops sequencing but keeps serving replication, so the
			// leader can move it to a healthy node from here.
			n.log.Error("surface failed on this node's full disk; it keeps serving its state so that a copy on a healthy node can take over",
				"surface", h.name, "err", err, "tick", sh.Executed(), "confirmed", sh.Confirmed())
			n.retryLater(h, a, 0)
			return
		}
	}
	n.mu.Lock()
	if h.src == src {
		h.src = nil
	}
	n.mu.Unlock()
	if src != nil {
		n.repl.Remove(src) // the standbys see the stream end and report the primary lost
	}
	grace := time.Duration(0)
	if len(synced) > 0 {
		grace = takeoverGrace
	}
	n.log.Error("surface failed on this node; replication stopped so a standby can take over",
		"surface", h.name, "err", err, "tick", sh.Executed(), "confirmed", sh.Confirmed(), "synced_standbys", synced)
	n.retryLater(h, a, grace)
}

// retryLater reopens h after the backoff (plus extra) under assignment a's epoch,
// unless the surface left this node or a newer epoch arrived meanwhile (which
// schedules its own retry if it fails too).
func (n *Node) retryLater(h *hosted, a *pb.NodeAssignment, extra time.Duration) {
	n.mu.Lock()
	d := min(firstRetry<<min(h.retries, 5), maxRetry) + extra
	h.retries++
	n.mu.Unlock()
	n.log.Info("will reopen the surface", "surface", h.name, "in", d)
	time.AfterFunc(d, func() { n.retry(h, a.Epoch) })
}

// retry reopens a failed copy. One that failed for want of space is reopened
// only once the node's probe write fits (failureLoop, every spaceProbeEvery;
// retry looks every spaceProbeEvery whether it did): until then a
// failed primary keeps serving its state for a move, and reopening could only
// fail again. A frozen primary (a handoff in progress) is left alone.
func (n *Node) retry(h *hosted, epoch uint64) {
	n.mu.Lock()
	cur, sh, errText := h.asg, h.sh, h.err
	gone := n.shards[h.name] != h || cur == nil || cur.Epoch != epoch
	n.mu.Unlock()
	if gone || sh != nil && sh.Stats().Err == nil {
		return
	}
	full := sh != nil && errors.Is(sh.Stats().Err, shard.ErrDiskFull) || sh == nil && strings.HasPrefix(errText, "disk full:")
	if full && n.health() != "" || sh != nil && sh.Frozen() {
		time.AfterFunc(spaceProbeEvery, func() { n.retry(h, epoch) })
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.shards[h.name] != h || h.asg != cur {
		return
	}
	h.restart = true
	select {
	case h.ops <- cur:
	default:
	}
}
