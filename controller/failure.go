package controller

import (
	"context"
	"fmt"
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
	if a := sf.GetAssignment(); c.Role == "primary" && a.GetPrimary() == c.Node {
		if len(a.GetSynced()) > 0 {
			msg += fmt.Sprintf("; a synced standby (%s) takes over from the last confirmed tick, nothing confirmed is lost", strings.Join(a.GetSynced(), ", "))
		} else if strings.HasPrefix(c.Error, "disk full:") {
			msg += fmt.Sprintf("; no synced standby: it moves live to a healthy node from %s's copy, which keeps serving it (every tick up to %d, the confirmed one, goes along), or resumes on %s once it has room", c.Node, c.ConfirmedTick, c.Node)
		} else if strings.HasPrefix(c.Error, "store corrupt") || strings.HasPrefix(c.Error, "no copy here") {
			// The copy is gone: waiting for the node would be waiting forever.
			if sv := s.restorePoint(sf); sv != nil {
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
// a failure it did not show in the previous one.
func (c *Controller) reportFailures(node string, prev, cur []*pb.ShardStats) {
	before := map[string]string{}
	for _, sh := range prev {
		before[sh.Surface] = sh.Error
	}
	for _, sh := range cur {
		if !isFailure(sh.Error) || before[sh.Surface] == sh.Error {
			continue
		}
		role := "primary"
		if sh.Role == pb.ShardRole_SHARD_ROLE_STANDBY {
			role = "standby"
		}
		// A copy that failed as it opened reports tick 0: the newest confirmed tick
		// a primary of the surface reported says what it had reached.
		confirmed := sh.ConfirmedTick
		c.live.mu.Lock()
		if last := c.live.lastPrimaryTick[sh.Surface]; role == "primary" && last.tick > confirmed {
			confirmed = last.tick
		}
		c.live.mu.Unlock()
		cmd := &pb.Command{RequestId: fmt.Sprintf("failed-%s-%s-%d-%d", node, sh.Surface, sh.Epoch, sh.Tick), Op: &pb.Command_ShardFailed{ShardFailed: &pb.ShardFailedCmd{
			Node: node, Surface: sh.Surface, Role: role, Error: sh.Error, Tick: sh.Tick, ConfirmedTick: confirmed}}}
		c.goRun(func() {
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			defer cancel()
			if _, err := c.propose(ctx, cmd); err != nil {
				c.log.Warn("record a shard failure", "node", node, "surface", cmd.GetShardFailed().Surface, "err", err)
			}
		})
	}
}
