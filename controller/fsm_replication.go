package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Replication, failover and live migration in the FSM. The invariant every command
// keeps: the primary moves to another node only to a standby that holds every
// confirmed tick (a synced standby, promoted; or a handoff target that
// acknowledged the old primary's last tick), or to a fresh placement when the
// surface has no primary at all. A surface whose primary is lost without such a
// standby waits for its node instead of starting over from its map.

// withAssignment stores a clone of sf with assignment a (epoch stamped) and returns it.
func (s *state) setAssignment(sf *pb.Surface, a *pb.Assignment, index uint64) *pb.Surface {
	out := proto.Clone(sf).(*pb.Surface)
	a.Epoch = index
	out.Assignment = a
	out.ModifyIndex = index
	s.surfaces[out.Name] = out
	return out
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, x := range list {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersect(list, keep []string) []string {
	var out []string
	for _, x := range list {
		if slices.Contains(keep, x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *state) nodeUp(id string) bool {
	n := s.nodes[id]
	return n != nil && n.Status == pb.NodeStatus_NODE_STATUS_UP
}

// activeRefusal returns the reason node may not hold a copy of sf at time now.
func activeRefusal(sf *pb.Surface, node string, now int64) string {
	for _, r := range sf.Refusals {
		if r.Node == node && (r.UntilUnixMs == 0 || r.UntilUnixMs > now) {
			return r.Reason
		}
	}
	return ""
}

func (s *state) applyUpdateReplicas(index uint64, now int64, c *pb.UpdateReplicasCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	if a.GetEpoch() != c.Epoch || a.GetPrimary() != c.Node {
		return fail(codes.FailedPrecondition, "surface %s is at epoch %d with primary %q; the report is for epoch %d from %s", c.Surface, a.GetEpoch(), a.GetPrimary(), c.Epoch, c.Node)
	}
	var added []string
	for _, n := range c.Synced {
		if slices.Contains(a.Standbys, n) && !slices.Contains(a.Synced, n) && !slices.Contains(added, n) {
			added = append(added, n)
		}
	}
	var dropped []string
	var why []string
	for _, d := range c.Drop {
		if slices.Contains(a.Standbys, d.Node) && !slices.Contains(dropped, d.Node) {
			dropped = append(dropped, d.Node)
			why = append(why, d.Node+": "+d.Reason)
		}
	}
	added = without(added, dropped...)
	var unsynced, unsyncWhy []string
	for _, u := range c.Unsync {
		if slices.Contains(a.Synced, u.Node) && !slices.Contains(dropped, u.Node) && !slices.Contains(unsynced, u.Node) {
			unsynced = append(unsynced, u.Node)
			unsyncWhy = append(unsyncWhy, u.Node+": "+u.Reason)
		}
	}
	added = without(added, unsynced...)
	if len(added) == 0 && len(dropped) == 0 && len(unsynced) == 0 {
		return codes.OK, "nothing changed"
	}
	na := proto.Clone(a).(*pb.Assignment)
	na.Synced = append(without(na.Synced, append(dropped, unsynced...)...), added...)
	if len(unsynced) > 0 {
		s.event(index, now, "surface.standby_unsynced", c.Surface, fmt.Sprintf("surface %s: standby %s no longer holds every confirmed tick (%s); synced: %v",
			c.Surface, strings.Join(unsynced, ", "), strings.Join(unsyncWhy, "; "), na.Synced))
	}
	if len(added) > 0 {
		s.event(index, now, "surface.standby_synced", c.Surface, fmt.Sprintf("surface %s: standby %s holds every confirmed tick (synced: %v)",
			c.Surface, strings.Join(added, ", "), na.Synced))
	}
	if len(dropped) == 0 {
		out := proto.Clone(sf).(*pb.Surface)
		out.Assignment, out.ModifyIndex = na, index
		s.surfaces[c.Surface] = out
		return codes.OK, ""
	}
	na.Standbys = without(na.Standbys, dropped...)
	na.HandoffTo = ""
	out := s.setAssignment(sf, na, index)
	for _, d := range c.Drop {
		if !slices.Contains(dropped, d.Node) {
			continue
		}
		out.Refusals = slices.DeleteFunc(out.Refusals, func(r *pb.Refusal) bool { return r.Node == d.Node })
		out.Refusals = append(out.Refusals, &pb.Refusal{Node: d.Node, Reason: "standby dropped: " + d.Reason, Epoch: c.Epoch, UnixMs: now, UntilUnixMs: c.CooldownUntilMs})
	}
	s.event(index, now, "surface.standby_dropped", c.Surface, fmt.Sprintf("surface %s epoch %d: dropped standby %s; synced %v",
		c.Surface, index, strings.Join(why, "; "), na.Synced))
	if m := out.Migration; m != nil && slices.Contains(dropped, m.Target) {
		out.Migration = nil
		s.event(index, now, "surface.move_failed", c.Surface, fmt.Sprintf("surface %s: the move to %s failed: the target was dropped as a standby", c.Surface, m.Target))
	}
	return codes.OK, ""
}

func (s *state) applyPromoteStandby(index uint64, now int64, c *pb.PromoteStandbyCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	if a.GetEpoch() != c.Epoch {
		return fail(codes.FailedPrecondition, "surface %s moved to epoch %d since the reports (epoch %d)", c.Surface, a.GetEpoch(), c.Epoch)
	}
	if c.Recover {
		return s.recoverFromStandby(index, now, sf, c)
	}
	if len(a.Synced) == 0 {
		return fail(codes.FailedPrecondition, "surface %s has no synced standby to promote", c.Surface)
	}
	reports := map[string]*pb.StandbyReport{}
	for _, r := range c.Reports {
		reports[r.Node] = r
	}
	var best *pb.StandbyReport
	for _, n := range a.Synced {
		r := reports[n]
		if r == nil {
			return fail(codes.FailedPrecondition, "synced standby %s of surface %s has not reported losing the primary", n, c.Surface)
		}
		if !s.nodeUp(n) {
			continue
		}
		if best == nil || r.Tick > best.Tick || r.Tick == best.Tick && r.Node < best.Node {
			best = r
		}
	}
	if best == nil {
		return fail(codes.FailedPrecondition, "no synced standby of surface %s is up", c.Surface)
	}
	old := a.Primary
	s.promoteTo(sf, best.Node, old, index)
	s.event(index, now, "surface.promoted", c.Surface, fmt.Sprintf("surface %s epoch %d: every synced standby lost primary %s (%s); promoted %s at tick %d",
		c.Surface, index, old, best.Reason, best.Node, best.Tick))
	return codes.OK, ""
}

// promoteTo makes standby to sf's primary in a new epoch (index), dropping the
// old primary and any move under way.
func (s *state) promoteTo(sf *pb.Surface, to, old string, index uint64) {
	a := sf.GetAssignment()
	na := &pb.Assignment{Primary: to, Standbys: without(a.Standbys, to, old), Synced: without(a.Synced, to, old),
		PrimarySince: index, Start: pb.PrimaryStart_PRIMARY_START_PROMOTED}
	s.setAssignment(sf, na, index).Migration = nil
}

// recoverFromStandby promotes a standby that is not synced, when the primary's
// copy is corrupt or gone (or its node long down) and no synced standby is up:
// its copy is the newest state of the surface left anywhere, newer than its
// saves (restoreLost decides that). Typically the old primary, whose intact copy
// became a standby when a synced standby was promoted after a restart and then
// found its own copy damaged. The event says how far the copy reaches against
// the newest confirmed tick a primary reported.
func (s *state) recoverFromStandby(index uint64, now int64, sf *pb.Surface, c *pb.PromoteStandbyCmd) (codes.Code, string) {
	a := sf.GetAssignment()
	if len(c.Reports) != 1 {
		return fail(codes.InvalidArgument, "recovering surface %s takes one standby, not %d", c.Surface, len(c.Reports))
	}
	r := c.Reports[0]
	if !slices.Contains(a.Standbys, r.Node) || !s.nodeUp(r.Node) {
		return fail(codes.FailedPrecondition, "%s is not an up standby of surface %s", r.Node, c.Surface)
	}
	if slices.ContainsFunc(a.Synced, s.nodeUp) {
		return fail(codes.FailedPrecondition, "surface %s has a synced standby up: it is promoted instead", c.Surface)
	}
	s.promoteTo(sf, r.Node, a.Primary, index)
	reach := fmt.Sprintf("every tick a primary reported confirmed (%d)", c.LastConfirmed)
	if r.Tick < c.LastConfirmed {
		reach = fmt.Sprintf("%d ticks short of the newest tick a primary reported confirmed (%d): those are lost", c.LastConfirmed-r.Tick, c.LastConfirmed)
	}
	s.event(index, now, "surface.promoted", c.Surface, fmt.Sprintf("surface %s epoch %d: %s and no synced standby is up; promoted standby %s, whose copy reaches tick %d, %s",
		c.Surface, index, r.Reason, r.Node, r.Tick, reach))
	return codes.OK, ""
}

// promoteAfterRestart hands every surface whose primary was node's previous process
// to a synced standby that is up. A new process registering under the node's name
// means the old one ended (it held the address until then), and with it the
// primary's memory: a synced standby holds every confirmed tick and is hot, while
// the restarted process would have to replay its log first. The old process can
// confirm nothing more, so no standby reports are needed. Surfaces are taken in
// name order and standbys in their synced order, so every replica decides alike.
func (s *state) promoteAfterRestart(index uint64, now int64, node string) {
	for _, name := range slices.Sorted(maps.Keys(s.surfaces)) {
		sf := s.surfaces[name]
		a := sf.GetAssignment()
		if a.GetPrimary() != node {
			continue
		}
		next := ""
		for _, n := range a.Synced {
			if n != node && s.nodeUp(n) {
				next = n
				break
			}
		}
		if next == "" {
			continue
		}
		s.promoteTo(sf, next, node, index)
		s.event(index, now, "surface.promoted", name, fmt.Sprintf("surface %s epoch %d: primary %s restarted (a new process registered); promoted synced standby %s",
			name, index, node, next))
	}
}

// forgetCopies handles a node that registered again on a data dir it created:
// whatever copies it held are gone (a replaced disk, a wiped dir). It no longer
// counts as synced anywhere, so it is never promoted on the strength of a copy
// it lost; and a surface whose primary it still is (no synced standby was up to
// take over) continues its term instead of starting it again: the node finds no
// copy and says so, and the surface is restored from its newest autosave or
// waits. Before, such a surface's first term was still marked fresh, and the node
// started it again from its map at tick 0 under the same epoch, with no word.
func (s *state) forgetCopies(index uint64, now int64, node string) {
	for _, name := range slices.Sorted(maps.Keys(s.surfaces)) {
		sf := s.surfaces[name]
		a := sf.GetAssignment()
		primary := a.GetPrimary() == node
		if !primary && !slices.Contains(a.GetSynced(), node) {
			continue
		}
		na := proto.Clone(a).(*pb.Assignment)
		na.Synced = without(na.Synced, node)
		if primary && na.Start == pb.PrimaryStart_PRIMARY_START_FRESH {
			na.Start = pb.PrimaryStart_PRIMARY_START_UNSPECIFIED
		}
		s.surfaces[name] = s.setAssignment(sf, na, index)
		if primary {
			s.event(index, now, "surface.copy_lost", name, fmt.Sprintf("surface %s: node %s registered on a new data dir, and its copy there was the primary's; the surface is restored from its newest autosave, or waits for a copy",
				name, node))
		} else {
			s.event(index, now, "surface.copy_lost", name, fmt.Sprintf("surface %s: node %s registered on a new data dir; its standby copy there starts again from the primary", name, node))
		}
	}
}

func (s *state) applyMoveSurface(index uint64, now int64, c *pb.MoveSurfaceCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	switch {
	case a.GetPrimary() == "":
		why := sf.PlacementError
		if why == "" {
			why = "it is not placed yet (or stopped); try again once 'starlane surface get " + c.Surface + "' shows a primary"
		}
		return fail(codes.FailedPrecondition, "surface %s has no primary to move: %s", c.Surface, why)
	case !s.nodeUp(a.Primary):
		return fail(codes.FailedPrecondition, "surface %s's primary %s is down: the surface fails over to a standby instead of moving", c.Surface, a.Primary)
	case c.Target == a.Primary:
		return codes.OK, "already"
	}
	if code, msg := s.canHost(sf, c.Target, now); code != codes.OK {
		return code, msg
	}
	if m := sf.Migration; m != nil {
		if m.Target == c.Target {
			return codes.OK, "in progress"
		}
		return fail(codes.FailedPrecondition, "surface %s is already moving to %s; wait for it or for it to fail", c.Surface, m.Target)
	}
	out := proto.Clone(sf).(*pb.Surface)
	out.ModifyIndex = index
	if !slices.Contains(a.Standbys, c.Target) {
		na := proto.Clone(a).(*pb.Assignment)
		na.Standbys = append(na.Standbys, c.Target)
		na.HandoffTo = ""
		out = s.setAssignment(out, na, index)
	}
	reason := c.Reason
	if reason == "" {
		reason = "operator request"
	}
	out.Migration = &pb.Migration{Target: c.Target, StartedUnixMs: now, StartIndex: index, Reason: reason}
	s.surfaces[c.Surface] = out
	s.event(index, now, "surface.move_started", c.Surface, fmt.Sprintf("surface %s: moving from %s to %s (%s); the target catches up as a standby first",
		c.Surface, a.Primary, c.Target, reason))
	return codes.OK, ""
}

// canHost checks that node may take a copy of sf.
func (s *state) canHost(sf *pb.Surface, node string, now int64) (codes.Code, string) {
	n := s.nodes[node]
	switch {
	case n == nil:
		return fail(codes.NotFound, "node %s not found", node)
	case n.Status != pb.NodeStatus_NODE_STATUS_UP:
		return fail(codes.InvalidArgument, "node %s is down", node)
	case n.Cordoned:
		return fail(codes.InvalidArgument, "node %s is cordoned", node)
	case !s.nodeCanGet(n, sf.BundleHash):
		return fail(codes.InvalidArgument, "%s", bundleMismatch(sf.Name, sf.BundleHash, node, n.Bundles, s.bundleNames()))
	}
	if r := activeRefusal(sf, node, now); r != "" {
		return fail(codes.InvalidArgument, "node %s cannot take surface %s: %s", node, sf.Name, r)
	}
	return codes.OK, ""
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (s *state) applyBeginHandoff(index uint64, now int64, c *pb.BeginHandoffCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	m := sf.Migration
	switch {
	case a.GetEpoch() != c.Epoch:
		return fail(codes.FailedPrecondition, "surface %s moved to epoch %d", c.Surface, a.GetEpoch())
	case m == nil || m.Target != c.Target:
		return fail(codes.FailedPrecondition, "surface %s is not moving to %s", c.Surface, c.Target)
	case !slices.Contains(a.Standbys, c.Target) || !s.nodeUp(c.Target) || !s.nodeUp(a.Primary):
		return fail(codes.FailedPrecondition, "surface %s: the target %s is not a running standby, or the primary is down", c.Surface, c.Target)
	case a.HandoffTo == c.Target:
		return codes.OK, "already"
	}
	out := proto.Clone(sf).(*pb.Surface)
	out.ModifyIndex = index
	out.Assignment.HandoffTo = c.Target
	out.Migration.HandoffUnixMs = now
	s.surfaces[c.Surface] = out
	s.event(index, now, "surface.handoff", c.Surface, fmt.Sprintf("surface %s: %s caught up; asked %s to stop and hand over", c.Surface, c.Target, a.Primary))
	return codes.OK, ""
}

func (s *state) applyCompleteHandoff(index uint64, now int64, c *pb.CompleteHandoffCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	if a.GetEpoch() != c.Epoch || a.GetPrimary() != c.Node || a.GetHandoffTo() == "" {
		return fail(codes.FailedPrecondition, "surface %s has no handoff from %s under epoch %d (epoch %d, primary %s, handoff to %q)",
			c.Surface, c.Node, c.Epoch, a.GetEpoch(), a.GetPrimary(), a.GetHandoffTo())
	}
	target, old := a.HandoffTo, a.Primary
	if !s.nodeUp(target) {
		return fail(codes.FailedPrecondition, "handoff target %s of surface %s is down", target, c.Surface)
	}
	// The old primary holds the whole history up to the switch tick: it stays as a
	// synced standby (first), unless its node is being drained.
	// A surface without standbys (replicas 1) keeps none: the old primary is then
	// neither a standby nor in the set that confirms the new primary's ticks.
	// Nor does it when the move left a full disk: it could not write a tick there.
	why := moveWhy(sf.GetMigration().GetReason(), target)
	leftFull := strings.HasPrefix(why, "disk full")
	var standbys, synced []string
	if n := s.nodes[old]; n != nil && !n.Cordoned && !leftFull && activeRefusal(sf, old, now) == "" {
		standbys = []string{old}
	}
	for _, x := range a.Standbys {
		if x != target && x != old {
			standbys = append(standbys, x)
		}
	}
	if want := max(int(sf.Replicas), 1) - 1; len(standbys) > want {
		standbys = standbys[:want]
	}
	if slices.Contains(standbys, old) {
		synced = []string{old}
	}
	for _, x := range a.Synced {
		if x != target && slices.Contains(standbys, x) && !slices.Contains(synced, x) {
			synced = append(synced, x)
		}
	}
	na := &pb.Assignment{Primary: target, Standbys: standbys, Synced: synced, PrimarySince: index,
		Start: pb.PrimaryStart_PRIMARY_START_HANDOFF, StartTick: c.Tick}
	out := s.setAssignment(sf, na, index)
	mv := &pb.Move{From: old, To: target, Tick: c.Tick, StopUnixMs: c.StopUnixMs, DoneUnixMs: now, Epoch: index}
	if m := sf.Migration; m != nil {
		mv.StartedUnixMs = m.StartedUnixMs
	}
	out.LastMove, out.Migration = mv, nil
	if why != "" {
		why = " (" + why + ")"
	}
	s.event(index, now, "surface.moved", c.Surface, fmt.Sprintf("surface %s epoch %d: moved from %s to %s%s; %s stopped after tick %d and %s continues after it",
		c.Surface, index, old, target, why, old, c.Tick, target))
	return codes.OK, ""
}

func (s *state) applyAbortHandoff(index uint64, now int64, c *pb.AbortHandoffCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := sf.GetAssignment()
	if a.GetEpoch() != c.Epoch || a.GetPrimary() != c.Node || a.GetHandoffTo() == "" {
		return fail(codes.FailedPrecondition, "surface %s has no handoff from %s under epoch %d", c.Surface, c.Node, c.Epoch)
	}
	out := proto.Clone(sf).(*pb.Surface)
	out.ModifyIndex = index
	out.Assignment.HandoffTo = ""
	if m := out.Migration; m != nil {
		m.Attempts++
		m.LastError = c.Reason
		if m.Attempts >= maxHandoffAttempts {
			out.Migration = nil
			s.event(index, now, "surface.move_failed", c.Surface, fmt.Sprintf("surface %s: the move to %s failed after %d attempts: %s", c.Surface, m.Target, m.Attempts, c.Reason))
			s.surfaces[c.Surface] = out
			return codes.OK, ""
		}
	}
	s.surfaces[c.Surface] = out
	s.event(index, now, "surface.handoff_aborted", c.Surface, fmt.Sprintf("surface %s: %s resumed; the handoff failed: %s", c.Surface, c.Node, c.Reason))
	return codes.OK, ""
}

// maxHandoffAttempts is how many aborted handoffs end a move.
const maxHandoffAttempts = 3

func (s *state) applyCancelMove(index uint64, now int64, c *pb.CancelMoveCmd) (codes.Code, string) {
	sf := s.surfaces[c.Surface]
	if sf == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	m := sf.Migration
	if m == nil || m.StartIndex != c.StartIndex {
		return fail(codes.FailedPrecondition, "surface %s has no move started at index %d", c.Surface, c.StartIndex)
	}
	out := proto.Clone(sf).(*pb.Surface)
	out.ModifyIndex = index
	out.Migration = nil
	out.Assignment.HandoffTo = ""
	s.surfaces[c.Surface] = out
	s.event(index, now, "surface.move_failed", c.Surface, fmt.Sprintf("surface %s: the move to %s was given up: %s", c.Surface, m.Target, c.Reason))
	return codes.OK, ""
}

func (s *state) applyStandbyDesync(index uint64, now int64, c *pb.StandbyDesyncCmd) (codes.Code, string) {
	if s.surfaces[c.Surface] == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	s.event(index, now, "surface.desync", c.Surface, fmt.Sprintf("surface %s: hot standby %s desynced from primary %s after tick %d (primary hash %016x, standby %016x); %d entities differ; report %s on %s",
		c.Surface, c.Standby, c.Primary, c.Tick, c.PrimaryHash, c.StandbyHash, c.DifferingEntities, c.ReportPath, c.Primary))
	return codes.OK, ""
}

func (s *state) applySetStandbyMode(index uint64, now int64, c *pb.SetSurfaceStandbyModeCmd) (codes.Code, string) {
	old := s.surfaces[c.Name]
	if old == nil {
		return fail(codes.NotFound, "surface %s not found", c.Name)
	}
	if c.Mode != pb.StandbyMode_STANDBY_MODE_HOT && c.Mode != pb.StandbyMode_STANDBY_MODE_WARM {
		return fail(codes.InvalidArgument, "standby mode must be hot or warm")
	}
	if old.StandbyMode == c.Mode {
		return codes.OK, ""
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.StandbyMode, sf.ModifyIndex = c.Mode, index
	s.surfaces[c.Name] = sf
	s.event(index, now, "surface.standby_mode", c.Name, fmt.Sprintf("surface %s: standbys are %s", c.Name, modeName(c.Mode)))
	return codes.OK, ""
}

func modeName(m pb.StandbyMode) string {
	if m == pb.StandbyMode_STANDBY_MODE_WARM {
		return "warm"
	}
	return "hot"
}

// nextAssignment builds the assignment a plan change makes from the current one:
// the term of a primary that stays carries over, a primary placed where none was
// starts fresh, and a standby that becomes primary was promoted.
func nextAssignment(old *pb.Assignment, primary string, standbys []string, index uint64) *pb.Assignment {
	na := &pb.Assignment{Primary: primary, Standbys: slices.Clone(standbys), Epoch: index, PrimarySince: index}
	switch {
	case primary == "":
		na.PrimarySince = 0
	case old.GetPrimary() == primary:
		na.PrimarySince, na.Start, na.StartTick = old.PrimarySince, old.Start, old.StartTick
		na.Synced = intersect(old.GetSynced(), standbys)
	case old.GetPrimary() == "":
		na.Start = pb.PrimaryStart_PRIMARY_START_FRESH
	default:
		na.Start = pb.PrimaryStart_PRIMARY_START_PROMOTED
		na.Synced = without(intersect(old.GetSynced(), standbys), primary)
	}
	return na
}

// underReplicated reports whether a placed surface has fewer synced standbys than
// its replicas setting asks for.
func underReplicated(sf *pb.Surface) bool {
	a := sf.GetAssignment()
	return a.GetPrimary() != "" && len(a.GetSynced()) < int(max(sf.Replicas, 1))-1
}

// moveWhy is why a move was started, from its recorded reason: the scheduler's
// "moving to N (WHY)" gives WHY ("disk full on n1", "n1 is cordoned").
func moveWhy(reason, target string) string {
	if in, ok := strings.CutPrefix(reason, "moving to "+target+" ("); ok && strings.HasSuffix(in, ")") {
		return strings.TrimSuffix(in, ")")
	}
	return reason
}
