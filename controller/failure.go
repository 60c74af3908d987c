package controller

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// applyShardFailed records a node's report that its copy of a surface failed (a
// damaged store, a full disk) as a surface.failed event. It changes no
// assignment: a failed primary stops replicating, so its synced standbys report
// it lost and the usual promotion moves the surface; one on a full disk without
// a synced standby keeps serving its state, and the scheduler moves it live to
// a healthy node (see DESIGN.md, "Damaged storage and full disks").
func (s *state) applyShardFailed(index uint64, now int64, c *pb.ShardFailedCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	msg := fmt.Sprintf("surface %s: its %s on %s failed at tick %d (confirmed %d): %s", c.Surface, c.Role, c.Node, c.Tick, c.ConfirmedTick, c.Error)
	if c.Tick == 0 && c.ConfirmedTick == 0 {
		msg = fmt.Sprintf("surface %s: its %s on %s failed as it opened: %s", c.Surface, c.Role, c.Node, c.Error)
	}
	if a := sf.GetAssignment(); c.Role == "primary" && a.GetPrimary() == c.Node {
		if len(a.GetSynced()) > 0 {
			msg += fmt.Sprintf("; a synced standby (%s) takes over from the last confirmed tick, nothing confirmed is lost", strings.Join(a.GetSynced(), ", "))
		} else if strings.HasPrefix(c.Error, "disk full:") {
			msg += fmt.Sprintf("; no synced standby: it moves live to a healthy node from %s's copy, which keeps serving it (every tick up to %d, the confirmed one, goes along), or resumes on %s once it has room", c.Node, c.ConfirmedTick, c.Node)
		} else if strings.HasPrefix(c.Error, "store corrupt") || strings.HasPrefix(c.Error, "no copy here") {
			// The copy is gone: waiting for the node would be waiting forever.
			if len(a.GetStandbys()) > 0 {
				msg += fmt.Sprintf("; no synced standby: it goes on from the newest copy a standby (%s) runs if that holds more than its saves, or else from its newest save", strings.Join(a.GetStandbys(), ", "))
			} else if sv := s.restorePoint(sf); sv != nil {
				msg += fmt.Sprintf("; no synced standby: it is restored from its newest save %s (tick %d)", sv.Name, sv.Tick)
			} else {
				msg += fmt.Sprintf("; no synced standby and no autosave hold it, so its state is lost: `starlane surface delete %s --yes` and create it again, or start it from a save you keep with `starlane surface create --save`", c.Surface)
			}
		} else {
			msg += fmt.Sprintf("; no synced standby: the surface waits for %s to recover (ticks after %d that were not confirmed are run again)", c.Node, c.ConfirmedTick)
		}
	}
	s.event(index, now, "surface.failed", c.Surface, msg)
	return codes.OK, ""
}

// failureKinds are the shard errors a node reports that are failures worth an
// event (as opposed to "starting" or a refusal, which have their own).
var failureKinds = []string{"disk full", "store corrupt", "no copy here", "failed"}

func isFailure(errText string) bool {
	for _, k := range failureKinds {
		if strings.HasPrefix(errText, k+":") {
			return true
		}
	}
	return false
}

// reportFailures proposes a ShardFailedCmd for every shard whose heartbeat shows
// a failure it did not show in the previous one, and for every notice (a copy the
// node recovered on its own, such as a standby whose damaged store it moved
// aside); a notice's request ID names its text, so a leader elected while the node
// still reports it does not record it twice.
func (c *Controller) reportFailures(node string, prev, cur []*pb.ShardStats) {
	before, noticed := map[string]string{}, map[string]string{}
	for _, sh := range prev {
		before[sh.Surface], noticed[sh.Surface] = sh.Error, sh.Notice
	}
	for _, sh := range cur {
		if sh.Notice != "" && noticed[sh.Surface] != sh.Notice {
			h := fnv.New64a()
			h.Write([]byte(sh.Notice))
			c.proposeShardFailed(fmt.Sprintf("notice-%s-%s-%d-%x", node, sh.Surface, sh.Epoch, h.Sum64()),
				&pb.ShardFailedCmd{Node: node, Surface: sh.Surface, Role: roleName(sh.Role), Error: sh.Notice})
		}
		if !isFailure(sh.Error) || before[sh.Surface] == sh.Error {
			continue
		}
		role := roleName(sh.Role)
		// A copy that failed as it opened reports tick 0: the newest confirmed tick
		// a primary of the surface reported says what it had reached.
		confirmed := sh.ConfirmedTick
		c.live.mu.Lock()
		if last := c.live.lastPrimaryTick[sh.Surface]; role == "primary" && last.tick > confirmed {
			confirmed = last.tick
		}
		c.live.mu.Unlock()
		c.proposeShardFailed(fmt.Sprintf("failed-%s-%s-%d-%d", node, sh.Surface, sh.Epoch, sh.Tick),
			&pb.ShardFailedCmd{Node: node, Surface: sh.Surface, Role: role, Error: sh.Error, Tick: sh.Tick, ConfirmedTick: confirmed})
	}
}

// roleName is a copy's role as a failure event says it.
func roleName(r pb.ShardRole) string {
	if r == pb.ShardRole_SHARD_ROLE_STANDBY {
		return "standby"
	}
	return "primary"
}

// proposeShardFailed records a shard failure in the background.
func (c *Controller) proposeShardFailed(requestID string, f *pb.ShardFailedCmd) {
	cmd := &pb.Command{RequestId: requestID, Op: &pb.Command_ShardFailed{ShardFailed: f}}
	c.goRun(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if _, err := c.propose(ctx, cmd); err != nil {
			c.log.Warn("record a shard failure", "node", f.Node, "surface", f.Surface, "err", err)
		}
	})
}
