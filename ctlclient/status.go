package ctlclient

import (
	"fmt"
	"strings"
	"time"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// SurfaceStatus is the one-line state of a surface that `surface list` shows in its
// STATUS column and the dashboard shows beside the surface: placed, stopped,
// stopping, failed: KIND on NODE, stale: …, problem: …, placed, not reporting yet,
// waiting for placement, moving to NODE, placed, under-replicated. s carries the
// leader's live stats (ListSurfaces, GetSurface, WatchStats).
func SurfaceStatus(s *pb.Surface) string {
	a := s.GetAssignment()
	primary, st := a.GetPrimary(), s.GetStats()
	switch {
	case s.GetStopped():
		return "stopped"
	case s.GetStopRequested():
		return "stopping"
	case failedStatus(primary, st) != "":
		return failedStatus(primary, st)
	case st != nil && st.Stale:
		return fmt.Sprintf("stale: %s silent for %s", primary, (time.Duration(st.AgeMs) * time.Millisecond).Round(time.Second))
	case s.GetPlacementError() != "":
		// Before "not reporting": a primary whose node is down reports nothing,
		// and the problem says why and what happens next.
		return "problem: " + s.GetPlacementError()
	case primary != "" && st == nil:
		return "placed, not reporting yet"
	case primary == "":
		return "waiting for placement"
	case s.GetMigration() != nil:
		return "moving to " + s.GetMigration().GetTarget()
	case len(a.GetSynced()) < int(max(s.GetReplicas(), 1))-1:
		return "placed, under-replicated"
	}
	return "placed"
}

// SurfaceHealthy reports whether a SurfaceStatus is one an operator need not look
// at: placed and fully replicated, or moving.
func SurfaceHealthy(status string) bool {
	return status == "placed" || strings.HasPrefix(status, "moving to ")
}

// failedStatus is "failed: KIND on NODE" when the primary's node reports its copy
// failed (a full disk, a corrupt store, a start that failed), else "".
func failedStatus(primary string, st *pb.SurfaceStats) string {
	if st == nil || primary == "" {
		return ""
	}
	for _, sh := range st.GetShards() {
		ss := sh.GetStats()
		if sh.GetNode() != primary || ss.GetRole() != pb.ShardRole_SHARD_ROLE_PRIMARY || ss.GetError() == "" || ss.GetError() == "starting" {
			continue
		}
		kind, _, _ := strings.Cut(ss.GetError(), ":")
		return "failed: " + kind + " on " + sh.GetNode()
	}
	return ""
}
