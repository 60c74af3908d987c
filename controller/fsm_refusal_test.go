package controller

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/starlane/starlane/controller/scheduler"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func TestRefusalIsAnEventAndKeepsTheSurfaceOffThatNode(t *testing.T) {
	f := NewFSM(nil)
	for _, n := range []string{"n1", "n2"} {
		applyCmd(t, f, c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: n}}))
	}
	applyCmd(t, f, c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "gleba", Map: "/saves/new.save"}}))
	applyCmd(t, f, c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "gleba", Assignment: &pb.Assignment{Primary: "n1"}}}}))
	var epoch uint64
	f.read(func(s *state) { epoch = s.surfaces["gleba"].Assignment.Epoch })

	refuse := func(epoch uint64) *pb.CommandResult {
		return applyCmd(t, f, &pb.Command{RequestId: "refuse-" + string(rune('a'+epoch%26)), UnixMs: 1_800_000_000_000,
			Op: &pb.Command_RefuseAssignment{RefuseAssignment: &pb.RefuseAssignmentCmd{Surface: "gleba", Node: "n1", Epoch: epoch,
				Reason: "its save has format version 3; this node reads versions 1 to 2: upgrade node n1"}}})
	}
	if res := refuse(epoch - 1); codes.Code(res.Code) != codes.FailedPrecondition {
		t.Fatalf("a refusal for an old epoch applied: %v", res)
	}
	if res := refuse(epoch); res.Code != 0 {
		t.Fatal(res.Message)
	}
	g := roundTrip(t, f)
	g.read(func(s *state) {
		sf := s.surfaces["gleba"]
		if sf.Assignment.Primary != "" || sf.Assignment.Epoch <= epoch {
			t.Fatalf("refused assignment still stands: %v", sf.Assignment)
		}
		if len(sf.Refusals) != 1 || sf.Refusals[0].Node != "n1" {
			t.Fatalf("refusals %v", sf.Refusals)
		}
		last := s.events[len(s.events)-1]
		if last.Kind != "surface.refused" || !strings.Contains(last.Message, "node n1 refused surface gleba: its save has format version 3") {
			t.Fatalf("event %v", last)
		}
	})

	// The scheduler places it on the other node, and says why not on n1.
	var st scheduler.State
	g.read(func(s *state) {
		for _, id := range sortedKeys(s.nodes) {
			st.Nodes = append(st.Nodes, scheduler.Node{ID: id, Up: true, Cores: 1})
		}
		sf := s.surfaces["gleba"]
		st.Surfaces = append(st.Surfaces, scheduler.Surface{Name: sf.Name, Replicas: 1, Epoch: sf.Assignment.Epoch, Refused: refusalsOf(sf, 0)})
	})
	plan := scheduler.Schedule(st)
	if len(plan.Changes) != 1 || plan.Changes[0].Primary != "n2" {
		t.Fatalf("plan %+v", plan)
	}
	st.Nodes = st.Nodes[:1]
	plan = scheduler.Schedule(st)
	if len(plan.Changes) != 1 || !strings.Contains(plan.Changes[0].PlacementError, "n1 refused it: its save has format version 3") {
		t.Fatalf("with only the refusing node left: %+v", plan)
	}

	// Registering again (an upgraded node) clears its refusals.
	applyCmd(t, g, c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: "n1"}}))
	g.read(func(s *state) {
		if n := len(s.surfaces["gleba"].Refusals); n != 0 {
			t.Fatalf("%d refusals kept after n1 registered again", n)
		}
	})
}
