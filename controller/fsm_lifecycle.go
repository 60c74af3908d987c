package controller

import (
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// A surface's life beyond placement: stop and start, autosaves, rollback and
// the restore of a surface whose only copy is lost. All of them rest on one
// fact: a surface with no state anywhere starts fresh from save_sha256 (or its
// map). Stop makes its final state a save and clears the assignment; start
// lets the scheduler place it again, fresh, from that save; a rollback or a
// restore points save_sha256 at an older save and clears the assignment, so
// the next placement is a new epoch from that save.

// Autosave defaults: every five minutes of game time, the newest five kept.
const (
	DefaultAutosaveEveryTicks = 5 * 60 * 60
	DefaultAutosaveKeep       = 5
)

// AutosaveEvery is a surface's autosave interval in ticks.
func AutosaveEvery(sf *pb.Surface) uint64 {
	if sf.GetAutosaveEveryTicks() > 0 {
		return sf.AutosaveEveryTicks
	}
	return DefaultAutosaveEveryTicks
}

// AutosaveKeep is how many of a surface's autosaves are kept.
func AutosaveKeep(sf *pb.Surface) int {
	if sf.GetAutosaveKeep() > 0 {
		return int(sf.AutosaveKeep)
	}
	return DefaultAutosaveKeep
}

func (s *state) applyStopSurface(index uint64, now int64, c *pb.StopSurfaceCmd) (codes.Code, string) {
	old := s.surfaces[c.Name]
	switch {
	case old == nil:
		return fail(codes.NotFound, "surface %s not found (see: starlane surface list)", c.Name)
	case old.Stopped:
		return fail(codes.FailedPrecondition, "surface %s is already stopped; start it with: starlane surface start %s", c.Name, c.Name)
	case old.StopRequested:
		return fail(codes.FailedPrecondition, "surface %s is already stopping: its primary is taking its final save", c.Name)
	case old.Migration != nil:
		return fail(codes.FailedPrecondition, "surface %s is moving to %s; stop it once the move is done (see: starlane surface get %s)", c.Name, old.Migration.Target, c.Name)
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.ModifyIndex = index
	p := old.GetAssignment().GetPrimary()
	if p == "" {
		// It runs nowhere: its state is save_sha256 (or its map) already.
		sf.Stopped, sf.Assignment, sf.Migration, sf.PlacementError = true, &pb.Assignment{Epoch: index}, nil, ""
		s.surfaces[c.Name] = sf
		s.event(index, now, "surface.stopped", c.Name, fmt.Sprintf("surface %s stopped (it ran nowhere; it starts again from %s)", c.Name, sf.Map))
		return codes.OK, ""
	}
	if n := s.nodes[p]; n == nil || n.Status != pb.NodeStatus_NODE_STATUS_UP {
		return fail(codes.FailedPrecondition, "surface %s: its primary's node %s is down and its state is there; wait until it runs again (see: starlane surface get %s)", c.Name, p, c.Name)
	}
	sf.StopRequested = true
	s.surfaces[c.Name] = sf
	s.event(index, now, "surface.stopping", c.Name, fmt.Sprintf("surface %s stopping: %s takes a final save", c.Name, p))
	return codes.OK, ""
}

func (s *state) applyStartSurface(index uint64, now int64, c *pb.StartSurfaceCmd) (codes.Code, string) {
	old := s.surfaces[c.Name]
	switch {
	case old == nil:
		return fail(codes.NotFound, "surface %s not found (see: starlane surface list)", c.Name)
	case old.StopRequested:
		return fail(codes.FailedPrecondition, "surface %s is still stopping (its final save is on its way); wait until `starlane surface list` shows it stopped", c.Name)
	case !old.Stopped:
		return fail(codes.FailedPrecondition, "surface %s is already running (primary %s); nothing to start", c.Name, orNone(old.GetAssignment().GetPrimary()))
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.Stopped, sf.ModifyIndex = false, index
	s.surfaces[c.Name] = sf
	s.event(index, now, "surface.started", c.Name, fmt.Sprintf("surface %s started; it continues from %s", c.Name, sf.Map))
	return codes.OK, ""
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

func (s *state) applySurfaceSaved(index uint64, now int64, c *pb.SurfaceSavedCmd) (codes.Code, string) {
	old := s.surfaces[c.Surface]
	if old == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := old.GetAssignment()
	if a.GetPrimary() != c.Node || a.GetEpoch() != c.Epoch {
		return fail(codes.FailedPrecondition, "surface %s: node %s is not its primary at epoch %d (now %q at %d)", c.Surface, c.Node, c.Epoch, a.GetPrimary(), a.GetEpoch())
	}
	if c.Final && !old.StopRequested {
		return fail(codes.FailedPrecondition, "surface %s: no stop was asked for", c.Surface)
	}
	in := c.GetSave()
	if in == nil || in.Sha256 == "" || in.Size == 0 {
		return fail(codes.InvalidArgument, "a surface save needs its hash and size")
	}
	kind := "auto"
	if c.Final {
		kind = "stop"
	}
	sv := proto.Clone(in).(*pb.SaveInfo)
	sv.Name = autosaveName(c.Surface, kind, sv.Tick, sv.Sha256, s.saves)
	sv.AutosaveOf, sv.Kind, sv.Surface = c.Surface, kind, c.Surface
	sv.CreatedUnixMs, sv.CreateIndex = now, index
	s.saves[sv.Name] = sv
	s.contentGen++
	sf := proto.Clone(old).(*pb.Surface)
	sf.ModifyIndex = index
	if sv.Tick > sf.LastAutosaveTick || c.Final {
		sf.LastAutosaveTick = sv.Tick
	}
	if c.Final {
		sf.Stopped, sf.StopRequested = true, false
		sf.SaveSha256, sf.Map = sv.Sha256, sv.Name
		sf.Assignment, sf.Migration, sf.PlacementError = &pb.Assignment{Epoch: index}, nil, ""
		s.surfaces[c.Surface] = sf
		s.event(index, now, "surface.stopped", c.Surface, fmt.Sprintf("surface %s stopped at tick %d (hash %s) on %s; its state is save %s; start it with: starlane surface start %s",
			c.Surface, sv.Tick, sv.StateHash, c.Node, sv.Name, c.Surface))
	} else {
		s.surfaces[c.Surface] = sf
		s.event(index, now, "surface.autosaved", c.Surface, fmt.Sprintf("surface %s autosaved at tick %d as %s (%d bytes)", c.Surface, sv.Tick, sv.Name, sv.Size))
	}
	s.pruneAutosaves(index, now, sf)
	return codes.OK, ""
}

// autosaveName names a surface's save by its tick; a rolled-back surface can
// reach the same tick again with another state, which gets the hash appended.
func autosaveName(surface, kind string, tick uint64, hash string, saves map[string]*pb.SaveInfo) string {
	base := surface[:min(len(surface), 36)]
	name := fmt.Sprintf("%s.%s.%d", base, kind, tick)
	if old := saves[name]; old != nil && old.Sha256 != hash {
		name += "." + hash[:8]
	}
	return name
}

// autosavesOf lists a surface's autosaves, oldest first.
func (s *state) autosavesOf(surface string) []*pb.SaveInfo {
	var out []*pb.SaveInfo
	for _, n := range sortedKeys(s.saves) {
		if sv := s.saves[n]; sv.AutosaveOf == surface {
			out = append(out, sv)
		}
	}
	slices.SortStableFunc(out, func(a, b *pb.SaveInfo) int {
		return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// pruneAutosaves forgets a surface's autosaves beyond the newest keep, except
// one a surface starts from; blobsync drops their content once no save names it.
func (s *state) pruneAutosaves(index uint64, now int64, sf *pb.Surface) {
	all := s.autosavesOf(sf.Name)
	extra := len(all) - AutosaveKeep(sf)
	for _, sv := range all {
		if extra <= 0 {
			break
		}
		if len(s.surfacesUsing(sv.Sha256)) > 0 {
			continue
		}
		delete(s.saves, sv.Name)
		s.contentGen++
		extra--
	}
}

func (s *state) applyRollback(index uint64, now int64, c *pb.RollbackSurfaceCmd) (codes.Code, string) {
	old := s.surfaces[c.Name]
	if old == nil {
		return fail(codes.NotFound, "surface %s not found (see: starlane surface list)", c.Name)
	}
	sv := s.saveByRef(c.Save)
	if sv == nil {
		return fail(codes.NotFound, "surface %s: there is no save %s%s (see: starlane surface saves %s)", c.Name, c.Save, shortPrefixHint(c.Save), c.Name)
	}
	if old.StopRequested && !c.Restore {
		return fail(codes.FailedPrecondition, "surface %s is stopping; roll it back once it is stopped", c.Name)
	}
	if c.Restore && old.GetAssignment().GetEpoch() != c.ExpectedEpoch {
		return fail(codes.FailedPrecondition, "surface %s changed since the restore was decided", c.Name)
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.ModifyIndex = index
	sf.SaveSha256, sf.Map = sv.Sha256, sv.Name
	sf.Assignment, sf.Migration, sf.PlacementError = &pb.Assignment{Epoch: index}, nil, ""
	sf.TimelineIndex, sf.LastAutosaveTick = index, sv.Tick
	if old.StopRequested {
		// Its primary was lost before its final save: the stop ends with the
		// restored save as its state.
		sf.Stopped, sf.StopRequested = true, false
	}
	s.surfaces[c.Name] = sf
	if c.Restore {
		// The controller knows the copy's confirmed tick only from heartbeats:
		// it may have run further before it went silent, so the count is a floor.
		var lost string
		switch {
		case c.LastTick > sv.Tick:
			lost = fmt.Sprintf("%d ticks or more are lost (its only copy last reported confirmed tick %d, and may have run further before it went silent)", c.LastTick-sv.Tick, c.LastTick)
		case c.LastTick == 0:
			lost = "the ticks it ran after the autosave, if any, are lost (no report of its confirmed tick reached the leader since it took over)"
		default:
			lost = fmt.Sprintf("the ticks it ran after the autosave, if any, are lost (its last report, tick %d, was not later than the autosave)", c.LastTick)
		}
		s.event(index, now, "surface.restored", c.Name, fmt.Sprintf("surface %s restored from its save %s: it resumes at tick %d; %s; %s",
			c.Name, sv.Name, sv.Tick, lost, c.Reason))
		return codes.OK, ""
	}
	how := "it restarts from it at a new epoch"
	if sf.Stopped {
		how = "it stays stopped and starts from it"
	}
	s.event(index, now, "surface.rolled_back", c.Name, fmt.Sprintf("surface %s rolled back to save %s (tick %d); %s", c.Name, sv.Name, sv.Tick, how))
	return codes.OK, ""
}

func (s *state) applySetAutosave(index uint64, now int64, c *pb.SetSurfaceAutosaveCmd) (codes.Code, string) {
	old := s.surfaces[c.Name]
	if old == nil {
		return fail(codes.NotFound, "surface %s not found (see: starlane surface list)", c.Name)
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.AutosaveEveryTicks, sf.AutosaveKeep, sf.ModifyIndex = c.EveryTicks, c.Keep, index
	s.surfaces[c.Name] = sf
	s.event(index, now, "surface.autosave", c.Name, fmt.Sprintf("surface %s autosaves every %d ticks and keeps %d", c.Name, AutosaveEvery(sf), AutosaveKeep(sf)))
	s.pruneAutosaves(index, now, sf)
	return codes.OK, ""
}

// restorePoint is the save a surface whose only copy is lost restarts from: the
// newest (by tick) of the saves of its current history the cluster keeps — its
// autosaves, its stop saves, the console's saves, all made after its timeline
// began — and the save it started from. A surface stopped and started again
// has its stop save as the newest: restoring an autosave from before the stop
// would lose what ran between them.
func (s *state) restorePoint(sf *pb.Surface) *pb.SaveInfo {
	var best *pb.SaveInfo
	newer := func(sv *pb.SaveInfo) bool {
		return best == nil || sv.Tick > best.Tick || sv.Tick == best.Tick && sv.CreateIndex > best.CreateIndex
	}
	for _, sv := range s.autosavesOf(sf.Name) {
		if sv.CreateIndex > sf.TimelineIndex && newer(sv) {
			best = sv
		}
	}
	if sf.SaveSha256 != "" {
		if sv := s.saveByRef(sf.SaveSha256); sv != nil && newer(sv) {
			best = sv
		}
	}
	return best
}
