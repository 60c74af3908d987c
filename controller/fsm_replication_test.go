package controller

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// replBase is nauvis on n1 with a synced standby on n2 (epoch 8), and n3 free.
func replBase() []*pb.Command {
	return []*pb.Command{
		c(&pb.RegisterControllerCmd{Id: "c1", RaftAddress: "127.0.0.1:7001", ApiAddress: "127.0.0.1:7000"}),
		c(&pb.SetJoinTokenCmd{Token: "tok"}),
		regNode("n1"), regNode("n2"), regNode("n3"),
		newSurface("nauvis"), newSurface("gleba"),
		c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2"}}}}}),
		c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Synced: []string{"n2"}}),
	}
}

func nauvis(s *pb.ClusterState) *pb.Surface {
	for _, sf := range s.Surfaces {
		if sf.Name == "nauvis" {
			return sf
		}
	}
	return nil
}

func lastEvent(s *pb.ClusterState) *pb.Event { return s.Events[len(s.Events)-1] }

// TestFSMReplicationCommands: every replication, failover and migration command's
// outcome, and that snapshot -> restore keeps it.
func TestFSMReplicationCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cmds  []*pb.Command // applied before the one under test
		cmd   *pb.Command
		code  codes.Code
		check func(t *testing.T, s *pb.ClusterState)
	}{
		{name: "base: the standby is synced without a new epoch", cmd: c(&pb.SetSurfaceStandbyModeCmd{Name: "nauvis", Mode: pb.StandbyMode_STANDBY_MODE_HOT}),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "epoch", a.Epoch, uint64(8))
				wantEq(t, "synced", strings.Join(a.Synced, ","), "n2")
				wantEq(t, "start", a.Start, pb.PrimaryStart_PRIMARY_START_FRESH)
				wantEq(t, "since", a.PrimarySince, uint64(8))
			}},
		{name: "a node's new process hands its primaries to a synced standby", cmds: []*pb.Command{regProc("n1", "p1")}, cmd: regProc("n1", "p2"),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "primary", a.Primary, "n2")
				wantEq(t, "epoch", a.Epoch, s.Index)
				wantEq(t, "start", a.Start, pb.PrimaryStart_PRIMARY_START_PROMOTED)
				wantLen(t, "standbys", len(a.Standbys), 0)
				wantEq(t, "event", lastEvent(s).Kind, "surface.promoted")
			}},
		{name: "the same process registering again keeps its primaries", cmds: []*pb.Command{regProc("n1", "p1")}, cmd: regProc("n1", "p1"),
			check: func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "primary", nauvis(s).Assignment.Primary, "n1")
				wantEq(t, "epoch", nauvis(s).Assignment.Epoch, uint64(8))
			}},
		{name: "a restart with no synced standby up keeps the primary", cmds: []*pb.Command{regProc("n1", "p1"), c(&pb.MarkNodeDownCmd{Id: "n2", Reason: "lease expired"})},
			cmd: regProc("n1", "p2"),
			check: func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "primary", nauvis(s).Assignment.Primary, "n1")
			}},
		{name: "update replicas from a node that is not the primary", cmd: c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n2", Epoch: 8, Synced: []string{"n2"}}),
			code: codes.FailedPrecondition},
		{name: "update replicas for an old epoch", cmd: c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 7, Synced: []string{"n2"}}),
			code: codes.FailedPrecondition},
		{name: "only standbys can be synced", cmd: c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Synced: []string{"n3"}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "synced", strings.Join(nauvis(s).Assignment.Synced, ","), "n2")
			}},
		{name: "drop a lagging standby: new epoch, cool-down, event",
			cmd: c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Drop: []*pb.DroppedStandby{{Node: "n2", Reason: "lag 400 ticks"}}, CooldownUntilMs: 1_800_000_000_000}),
			check: func(t *testing.T, s *pb.ClusterState) {
				sf := nauvis(s)
				wantEq(t, "epoch", sf.Assignment.Epoch, s.Index)
				wantLen(t, "standbys", len(sf.Assignment.Standbys), 0)
				wantLen(t, "synced", len(sf.Assignment.Synced), 0)
				wantEq(t, "cool-down", sf.Refusals[0].UntilUnixMs, int64(1_800_000_000_000))
				wantEq(t, "event", lastEvent(s).Kind, "surface.standby_dropped")
				wantEq(t, "under-replicated", underReplicated(sf), true)
			}},
		{name: "unsync a standby about to take a checkpoint: it stays a standby, same epoch, event",
			cmd: c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Unsync: []*pb.DroppedStandby{{Node: "n2", Reason: "resync after a desync"}}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "epoch", a.Epoch, uint64(8))
				wantEq(t, "standbys", strings.Join(a.Standbys, ","), "n2")
				wantLen(t, "synced", len(a.Synced), 0)
				wantEq(t, "event", lastEvent(s).Kind, "surface.standby_unsynced")
			}},
		{name: "an unsynced standby is not promoted",
			cmds: []*pb.Command{c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Unsync: []*pb.DroppedStandby{{Node: "n2", Reason: "resync"}}})},
			cmd:  c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Reports: []*pb.StandbyReport{{Node: "n2", Tick: 900}}}),
			code: codes.FailedPrecondition},
		{name: "promotion once every synced standby lost the primary",
			cmd: c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Reports: []*pb.StandbyReport{{Node: "n2", Tick: 900, Reason: "stream broke"}}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "primary", a.Primary, "n2")
				wantEq(t, "start", a.Start, pb.PrimaryStart_PRIMARY_START_PROMOTED)
				wantEq(t, "since", a.PrimarySince, s.Index)
				wantLen(t, "standbys", len(a.Standbys), 0)
				wantEq(t, "event", lastEvent(s).Kind, "surface.promoted")
			}},
		{name: "recovery from a standby that is not synced, the primary's copy gone",
			cmds: []*pb.Command{c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Unsync: []*pb.DroppedStandby{{Node: "n2", Reason: "resync"}}})},
			cmd: c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Recover: true, LastConfirmed: 950,
				Reports: []*pb.StandbyReport{{Node: "n2", Tick: 900, Reason: "its copy on n1 is corrupt or gone"}}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "primary", a.Primary, "n2")
				wantEq(t, "start", a.Start, pb.PrimaryStart_PRIMARY_START_PROMOTED)
				wantLen(t, "standbys", len(a.Standbys), 0)
				wantEq(t, "event", lastEvent(s).Kind, "surface.promoted")
				if m := lastEvent(s).Message; !strings.Contains(m, "its copy on n1 is corrupt or gone and no synced standby is up; promoted standby n2, whose copy reaches tick 900, 50 ticks short of the newest tick a primary reported confirmed (950): those are lost") {
					t.Errorf("event %q", m)
				}
			}},
		{name: "no recovery from an unsynced standby while a synced one is up",
			cmd:  c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Recover: true, Reports: []*pb.StandbyReport{{Node: "n2", Tick: 900}}}),
			code: codes.FailedPrecondition},
		{name: "no recovery from a node that is not a standby",
			cmds: []*pb.Command{c(&pb.UpdateReplicasCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Unsync: []*pb.DroppedStandby{{Node: "n2", Reason: "resync"}}})},
			cmd:  c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Recover: true, Reports: []*pb.StandbyReport{{Node: "n3", Tick: 900}}}),
			code: codes.FailedPrecondition},
		{name: "no promotion while a synced standby has not reported",
			cmd:  c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 8, Reports: []*pb.StandbyReport{{Node: "n3", Tick: 900}}}),
			code: codes.FailedPrecondition},
		{name: "no promotion for an old epoch",
			cmd:  c(&pb.PromoteStandbyCmd{Surface: "nauvis", Epoch: 7, Reports: []*pb.StandbyReport{{Node: "n2", Tick: 900}}}),
			code: codes.FailedPrecondition},
		{name: "a plan cannot put the primary on a standby that is not synced",
			cmds: []*pb.Command{c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: 8, Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2", "n3"}}}}})},
			cmd:  c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: 10, Assignment: &pb.Assignment{Primary: "n3", Standbys: []string{"n2"}}}}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "primary", nauvis(s).Assignment.Primary, "n1")
				wantEq(t, "synced kept", strings.Join(nauvis(s).Assignment.Synced, ","), "n2")
			}},
		{name: "a plan promoting a synced standby records the promotion",
			cmd: c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: 8, Assignment: &pb.Assignment{Primary: "n2", Standbys: []string{"n3"}}}}}),
			check: func(t *testing.T, s *pb.ClusterState) {
				a := nauvis(s).Assignment
				wantEq(t, "primary", a.Primary, "n2")
				wantEq(t, "start", a.Start, pb.PrimaryStart_PRIMARY_START_PROMOTED)
				wantLen(t, "synced", len(a.Synced), 0)
			}},
		{name: "move starts: the target becomes a standby under a new epoch", cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"}),
			check: func(t *testing.T, s *pb.ClusterState) {
				sf := nauvis(s)
				wantEq(t, "target", sf.Migration.GetTarget(), "n3")
				wantEq(t, "standbys", strings.Join(sf.Assignment.Standbys, ","), "n2,n3")
				wantEq(t, "epoch", sf.Assignment.Epoch, s.Index)
				wantEq(t, "event", lastEvent(s).Kind, "surface.move_started")
			}},
		{name: "move to where it runs", cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n1"}),
			check: func(t *testing.T, s *pb.ClusterState) { wantEq(t, "migration", nauvis(s).Migration == nil, true) }},
		{name: "move to an unknown node", cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n9"}), code: codes.NotFound},
		{name: "move to a cordoned node", cmds: []*pb.Command{c(&pb.SetNodeCordonCmd{Id: "n3", Cordoned: true})},
			cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"}), code: codes.InvalidArgument},
		{name: "move a surface whose primary is down", cmds: []*pb.Command{c(&pb.MarkNodeDownCmd{Id: "n1"})},
			cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"}), code: codes.FailedPrecondition},
		{name: "a second move while one runs", cmds: []*pb.Command{c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"})},
			cmd: c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n2"}), code: codes.FailedPrecondition},
		{name: "handoff without a move", cmd: c(&pb.BeginHandoffCmd{Surface: "nauvis", Epoch: 8, Target: "n2"}), code: codes.FailedPrecondition},
		{name: "completing a handoff nobody asked for", cmd: c(&pb.CompleteHandoffCmd{Surface: "nauvis", Node: "n1", Epoch: 8, Tick: 10}), code: codes.FailedPrecondition},
		{name: "cancel a move by an old decision", cmds: []*pb.Command{c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"})},
			cmd: c(&pb.CancelMoveCmd{Surface: "nauvis", StartIndex: 3}), code: codes.FailedPrecondition},
		{name: "hot standby desync is an event", cmd: c(&pb.StandbyDesyncCmd{Surface: "nauvis", Primary: "n1", Standby: "n2", Epoch: 8, Tick: 600, PrimaryHash: 1, StandbyHash: 2, ReportPath: "/x.json", DifferingEntities: 1}),
			check: func(t *testing.T, s *pb.ClusterState) {
				e := lastEvent(s)
				wantEq(t, "kind", e.Kind, "surface.desync")
				wantEq(t, "names the report", strings.Contains(e.Message, "/x.json"), true)
			}},
		{name: "warm standbys", cmd: c(&pb.SetSurfaceStandbyModeCmd{Name: "nauvis", Mode: pb.StandbyMode_STANDBY_MODE_WARM}),
			check: func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "mode", nauvis(s).StandbyMode, pb.StandbyMode_STANDBY_MODE_WARM)
			}},
		{name: "bad standby mode", cmd: c(&pb.SetSurfaceStandbyModeCmd{Name: "nauvis", Mode: 9}), code: codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFSM(nil)
			for _, cmd := range append(replBase(), tc.cmds...) {
				if res := applyCmd(t, f, cmd); res.Code != 0 {
					t.Fatalf("setup command failed: %v", res)
				}
			}
			before := stateOf(f)
			res := applyCmd(t, f, tc.cmd)
			if codes.Code(res.Code) != tc.code {
				t.Fatalf("result %v (%s), want %v", codes.Code(res.Code), res.Message, tc.code)
			}
			after := stateOf(f)
			if tc.code != codes.OK {
				before.Dedup, after.Dedup, before.Index, after.Index, before.LastUnixMs, after.LastUnixMs = nil, nil, 0, 0, 0, 0
				if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
					t.Fatalf("failed command changed state:\n%s", diff)
				}
				after = stateOf(f)
			}
			if tc.check != nil {
				tc.check(t, after)
			}
			g := roundTrip(t, f)
			if diff := cmp.Diff(after, stateOf(g), protocmp.Transform()); diff != "" {
				t.Fatalf("restored state differs (-orig +restored):\n%s", diff)
			}
			if r := applyCmd(t, g, tc.cmd); !proto.Equal(r, res) {
				t.Fatalf("retry after restore: %v, want %v", r, res)
			}
		})
	}
}

// TestFSMLiveMove walks a move through the FSM: the target catches up as an extra
// standby, the primary is asked to hand over, and completing the handoff makes the
// target primary after the agreed tick, with the old primary its synced standby.
// Three aborted handoffs end a move.
func TestFSMLiveMove(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	for _, cmd := range replBase() {
		if res := applyCmd(t, f, cmd); res.Code != 0 {
			t.Fatalf("setup: %v", res)
		}
	}
	apply := func(op any, want codes.Code) *pb.ClusterState {
		t.Helper()
		if res := applyCmd(t, f, c(op)); codes.Code(res.Code) != want {
			t.Fatalf("%T: %v (%s), want %v", op, codes.Code(res.Code), res.Message, want)
		}
		return stateOf(f)
	}
	s := apply(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"}, codes.OK)
	e1 := nauvis(s).Assignment.Epoch
	s = apply(&pb.BeginHandoffCmd{Surface: "nauvis", Epoch: e1, Target: "n3"}, codes.OK)
	if a := nauvis(s).Assignment; a.HandoffTo != "n3" || a.Epoch != e1 {
		t.Fatalf("handoff asked: %v", a)
	}
	apply(&pb.CompleteHandoffCmd{Surface: "nauvis", Node: "n2", Epoch: e1, Tick: 500}, codes.FailedPrecondition)
	s = apply(&pb.CompleteHandoffCmd{Surface: "nauvis", Node: "n1", Epoch: e1, Tick: 500, StopUnixMs: 1234}, codes.OK)
	sf := nauvis(s)
	a := sf.Assignment
	if a.Primary != "n3" || a.Start != pb.PrimaryStart_PRIMARY_START_HANDOFF || a.StartTick != 500 || a.PrimarySince != a.Epoch || a.Epoch == e1 {
		t.Fatalf("after the handoff: %v", a)
	}
	if !slices.Equal(a.Standbys, []string{"n1"}) || !slices.Equal(a.Synced, []string{"n1"}) {
		t.Fatalf("the old primary should be the one synced standby (replicas 2): %v", a)
	}
	if sf.Migration != nil || sf.LastMove.GetTick() != 500 || sf.LastMove.From != "n1" || sf.LastMove.To != "n3" || sf.LastMove.StopUnixMs != 1234 {
		t.Fatalf("move record: %v / %v", sf.Migration, sf.LastMove)
	}
	if lastEvent(s).Kind != "surface.moved" {
		t.Fatalf("event %v", lastEvent(s))
	}

	// Move back; three aborted handoffs end it.
	s = apply(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n1"}, codes.OK)
	e2 := nauvis(s).Assignment.Epoch
	if e2 != a.Epoch {
		t.Fatalf("moving to a node that already is a standby needs no new epoch: %d -> %d", a.Epoch, e2)
	}
	for i := 1; i <= 3; i++ {
		apply(&pb.BeginHandoffCmd{Surface: "nauvis", Epoch: e2, Target: "n1"}, codes.OK)
		s = apply(&pb.AbortHandoffCmd{Surface: "nauvis", Node: "n3", Epoch: e2, Reason: "n1 did not acknowledge"}, codes.OK)
	}
	if sf := nauvis(s); sf.Migration != nil || sf.Assignment.Primary != "n3" || lastEvent(s).Kind != "surface.move_failed" {
		t.Fatalf("after three aborts: %v, %v", sf, lastEvent(s))
	}
	if diff := cmp.Diff(stateOf(f), stateOf(roundTrip(t, f)), protocmp.Transform()); diff != "" {
		t.Fatal(diff)
	}
}

// TestFSMLiveMoveWithOneReplica: a surface without standbys (replicas 1) that moves
// ends with no standby at all — and so none in the set that confirms its ticks, or
// its new primary would wait for the old node forever.
func TestFSMLiveMoveWithOneReplica(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	setup := append(replBase(),
		c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "solo", Seed: 1, Replicas: 1}}),
		c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "solo", Assignment: &pb.Assignment{Primary: "n1"}}}}))
	for _, cmd := range setup {
		if res := applyCmd(t, f, cmd); res.Code != 0 {
			t.Fatalf("setup: %v", res)
		}
	}
	solo := func() *pb.Assignment {
		for _, sf := range stateOf(f).Surfaces {
			if sf.Name == "solo" {
				return sf.Assignment
			}
		}
		t.Fatal("no surface solo")
		return nil
	}
	apply := func(op any) {
		t.Helper()
		if res := applyCmd(t, f, c(op)); res.Code != 0 {
			t.Fatalf("%T: %v (%s)", op, codes.Code(res.Code), res.Message)
		}
	}
	apply(&pb.MoveSurfaceCmd{Surface: "solo", Target: "n3"})
	e := solo().Epoch
	apply(&pb.UpdateReplicasCmd{Surface: "solo", Node: "n1", Epoch: e, Synced: []string{"n3"}})
	apply(&pb.BeginHandoffCmd{Surface: "solo", Epoch: solo().Epoch, Target: "n3"})
	apply(&pb.CompleteHandoffCmd{Surface: "solo", Node: "n1", Epoch: solo().Epoch, Tick: 900})
	a := solo()
	if a.Primary != "n3" || len(a.Standbys) != 0 || len(a.Synced) != 0 {
		t.Fatalf("after moving a one-replica surface: primary %s, standbys %v, synced %v; want n3 alone", a.Primary, a.Standbys, a.Synced)
	}
}

// regProc registers node id as run by process proc.
func regProc(id, proc string) *pb.Command {
	cmd := regNode(id)
	cmd.GetRegisterNode().Node.Process = proc
	return cmd
}

// TestFSMLiveMoveOffFullDisk: the scheduler moves a primary off a node whose disk
// is full. The old primary is not kept as a standby (it could not write a tick
// there), and the move's events say why it moved.
func TestFSMLiveMoveOffFullDisk(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	for _, cmd := range replBase() {
		if res := applyCmd(t, f, cmd); res.Code != 0 {
			t.Fatalf("setup: %v", res)
		}
	}
	apply := func(op any) *pb.ClusterState {
		t.Helper()
		if res := applyCmd(t, f, c(op)); res.Code != 0 {
			t.Fatalf("%T: %v (%s)", op, codes.Code(res.Code), res.Message)
		}
		return stateOf(f)
	}
	s := apply(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3", Reason: "moving to n3 (disk full on n1)"})
	if r := nauvis(s).Migration.GetReason(); r != "moving to n3 (disk full on n1)" {
		t.Fatalf("migration reason %q", r)
	}
	if e := lastEvent(s); e.Kind != "surface.move_started" || !strings.Contains(e.Message, "disk full on n1") {
		t.Fatalf("event %v", e)
	}
	e1 := nauvis(s).Assignment.Epoch
	apply(&pb.BeginHandoffCmd{Surface: "nauvis", Epoch: e1, Target: "n3"})
	s = apply(&pb.CompleteHandoffCmd{Surface: "nauvis", Node: "n1", Epoch: e1, Tick: 500})
	a := nauvis(s).Assignment
	if a.Primary != "n3" || slices.Contains(a.Standbys, "n1") || slices.Contains(a.Synced, "n1") {
		t.Fatalf("after moving off n1's full disk: %v; n1 must not stay a standby", a)
	}
	if !slices.Equal(a.Standbys, []string{"n2"}) || !slices.Equal(a.Synced, []string{"n2"}) {
		t.Fatalf("the other synced standby should stay: %v", a)
	}
	if e := lastEvent(s); e.Kind != "surface.moved" || !strings.Contains(e.Message, "moved from n1 to n3 (disk full on n1)") {
		t.Fatalf("event %v", e)
	}
	if diff := cmp.Diff(stateOf(f), stateOf(roundTrip(t, f)), protocmp.Transform()); diff != "" {
		t.Fatal(diff)
	}
}

// A plan that drops a move's target (its disk filled before it caught up) gives
// the move up, with an event saying why.
func TestFSMPlanDroppingTheMoveTargetGivesTheMoveUp(t *testing.T) {
	f := NewFSM(nil)
	for _, cmd := range append(replBase(), c(&pb.MoveSurfaceCmd{Surface: "nauvis", Target: "n3"})) {
		if res := applyCmd(t, f, cmd); res.Code != 0 {
			t.Fatalf("setup command failed: %v", res)
		}
	}
	sf := nauvis(stateOf(f))
	if sf.Migration.GetTarget() != "n3" {
		t.Fatalf("no move to n3: %v", sf.Migration)
	}
	applyCmd(t, f, c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: sf.Assignment.Epoch,
		Assignment:     &pb.Assignment{Primary: "n1", Standbys: []string{"n2"}},
		PlacementError: "the move to n3 is given up: n3 is unhealthy (disk full)"}}}))
	s := stateOf(f)
	sf = nauvis(s)
	wantEq(t, "migration", sf.Migration == nil, true)
	wantEq(t, "standbys", strings.Join(sf.Assignment.Standbys, ","), "n2")
	found := false
	for _, e := range s.Events {
		found = found || e.Kind == "surface.move_failed" && e.Message == "surface nauvis: the move to n3 is given up: n3 is unhealthy (disk full)"
	}
	wantEq(t, "move_failed event", found, true)
}
