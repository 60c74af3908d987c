package controller

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// applyRefusal records that a node cannot run a surface it was assigned under
// c.Epoch, takes the node out of the assignment (a new epoch), and leaves the
// scheduler to place the surface elsewhere, never again on that node until it
// registers anew.
func (s *state) applyRefusal(index uint64, now int64, c *pb.RefuseAssignmentCmd) (codes.Code, string) {
	old := s.surfaces[c.Surface]
	if old == nil {
		return fail(codes.NotFound, "surface %s not found", c.Surface)
	}
	a := old.GetAssignment()
	if a.GetEpoch() != c.Epoch {
		return fail(codes.FailedPrecondition, "surface %s is at epoch %d, the refusal is for epoch %d", c.Surface, a.GetEpoch(), c.Epoch)
	}
	if a.GetPrimary() != c.Node && !slices.Contains(a.GetStandbys(), c.Node) {
		return fail(codes.FailedPrecondition, "node %s does not run surface %s", c.Node, c.Surface)
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.ModifyIndex = index
	sf.Refusals = slices.DeleteFunc(sf.Refusals, func(r *pb.Refusal) bool { return r.Node == c.Node })
	sf.Refusals = append(sf.Refusals, &pb.Refusal{Node: c.Node, Reason: c.Reason, Epoch: c.Epoch, UnixMs: now})
	na := nextAssignment(a, a.GetPrimary(), without(a.GetStandbys(), c.Node), index)
	if na.Primary == c.Node {
		na = &pb.Assignment{Epoch: index} // standbys without a primary are re-planned with it
		sf.Migration = nil
	} else if m := sf.Migration; m != nil && m.Target == c.Node {
		sf.Migration = nil
	}
	sf.Assignment = na
	s.surfaces[c.Surface] = sf
	s.event(index, now, "surface.refused", c.Surface, fmt.Sprintf("node %s refused surface %s: %s", c.Node, c.Surface, c.Reason))
	return codes.OK, ""
}

// clearRefusals forgets a node's refusals when it registers again: it may have
// been upgraded or given the missing bundle.
func (s *state) clearRefusals(node string, index uint64) {
	for _, name := range sortedKeys(s.surfaces) {
		old := s.surfaces[name]
		if !slices.ContainsFunc(old.Refusals, func(r *pb.Refusal) bool { return r.Node == node }) {
			continue
		}
		sf := proto.Clone(old).(*pb.Surface)
		sf.Refusals = slices.DeleteFunc(sf.Refusals, func(r *pb.Refusal) bool { return r.Node == node })
		sf.ModifyIndex = index
		s.surfaces[name] = sf
	}
}

// refusalsOf maps refusing nodes to their reasons, for the scheduler; refusals
// that expired by nowMS (dropped standbys' cool-down) are left out.
func refusalsOf(sf *pb.Surface, nowMS int64) map[string]string {
	if len(sf.Refusals) == 0 {
		return nil
	}
	out := make(map[string]string, len(sf.Refusals))
	for _, r := range sf.Refusals {
		switch {
		case r.UntilUnixMs == 0:
			out[r.Node] = r.Reason
		case r.UntilUnixMs > nowMS:
			// A cool-down: said with when it ends, a fixed time (the text is the
			// placement error, which is written only when it changes).
			out[r.Node] = fmt.Sprintf("%s; tried again from %s", r.Reason, time.UnixMilli(r.UntilUnixMs).UTC().Format("15:04:05Z"))
		}
	}
	return out
}
