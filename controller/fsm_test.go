package controller

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type bufSink struct{ bytes.Buffer }

func (b *bufSink) ID() string    { return "test" }
func (b *bufSink) Cancel() error { return nil }
func (b *bufSink) Close() error  { return nil }

// applyCmd applies cmd at the FSM's next index and returns the result.
func applyCmd(t *testing.T, f *FSM, cmd *pb.Command) *pb.CommandResult {
	t.Helper()
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	res := f.Apply(&raft.Log{Index: f.Index() + 1, Type: raft.LogCommand, Data: data})
	return res.(*pb.CommandResult)
}

func roundTrip(t *testing.T, f *FSM) *FSM {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink bufSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	g := NewFSM(nil)
	if err := g.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	return g
}

func stateOf(f *FSM) *pb.ClusterState {
	var p *pb.ClusterState
	f.read(func(s *state) { p = s.toProto() })
	return p
}

// reqSeq numbers commands across tests, which run in parallel.
var reqSeq atomic.Int64

func c(op any) *pb.Command {
	seq := reqSeq.Add(1)
	cmd := &pb.Command{RequestId: fmt.Sprintf("req-%d", seq), UnixMs: 1_700_000_000_000 + seq*1000}
	switch o := op.(type) {
	case *pb.RegisterControllerCmd:
		cmd.Op = &pb.Command_RegisterController{RegisterController: o}
	case *pb.RemoveControllerCmd:
		cmd.Op = &pb.Command_RemoveController{RemoveController: o}
	case *pb.SetJoinTokenCmd:
		cmd.Op = &pb.Command_SetJoinToken{SetJoinToken: o}
	case *pb.RegisterNodeCmd:
		cmd.Op = &pb.Command_RegisterNode{RegisterNode: o}
	case *pb.SetNodeCordonCmd:
		cmd.Op = &pb.Command_SetNodeCordon{SetNodeCordon: o}
	case *pb.MarkNodeDownCmd:
		cmd.Op = &pb.Command_MarkNodeDown{MarkNodeDown: o}
	case *pb.CreateSurfaceCmd:
		cmd.Op = &pb.Command_CreateSurface{CreateSurface: o}
	case *pb.DeleteSurfaceCmd:
		cmd.Op = &pb.Command_DeleteSurface{DeleteSurface: o}
	case *pb.PinSurfaceCmd:
		cmd.Op = &pb.Command_PinSurface{PinSurface: o}
	case *pb.SetSurfaceReplicasCmd:
		cmd.Op = &pb.Command_SetSurfaceReplicas{SetSurfaceReplicas: o}
	case *pb.ApplyPlanCmd:
		cmd.Op = &pb.Command_ApplyPlan{ApplyPlan: o}
	case *pb.CreateBridgeCmd:
		cmd.Op = &pb.Command_CreateBridge{CreateBridge: o}
	case *pb.DeleteBridgeCmd:
		cmd.Op = &pb.Command_DeleteBridge{DeleteBridge: o}
	case *pb.RefuseAssignmentCmd:
		cmd.Op = &pb.Command_RefuseAssignment{RefuseAssignment: o}
	case *pb.UpdateReplicasCmd:
		cmd.Op = &pb.Command_UpdateReplicas{UpdateReplicas: o}
	case *pb.PromoteStandbyCmd:
		cmd.Op = &pb.Command_PromoteStandby{PromoteStandby: o}
	case *pb.MoveSurfaceCmd:
		cmd.Op = &pb.Command_MoveSurface{MoveSurface: o}
	case *pb.BeginHandoffCmd:
		cmd.Op = &pb.Command_BeginHandoff{BeginHandoff: o}
	case *pb.CompleteHandoffCmd:
		cmd.Op = &pb.Command_CompleteHandoff{CompleteHandoff: o}
	case *pb.AbortHandoffCmd:
		cmd.Op = &pb.Command_AbortHandoff{AbortHandoff: o}
	case *pb.CancelMoveCmd:
		cmd.Op = &pb.Command_CancelMove{CancelMove: o}
	case *pb.StandbyDesyncCmd:
		cmd.Op = &pb.Command_StandbyDesync{StandbyDesync: o}
	case *pb.SetSurfaceStandbyModeCmd:
		cmd.Op = &pb.Command_SetSurfaceStandbyMode{SetSurfaceStandbyMode: o}
	case *pb.StopSurfaceCmd:
		cmd.Op = &pb.Command_StopSurface{StopSurface: o}
	case *pb.StartSurfaceCmd:
		cmd.Op = &pb.Command_StartSurface{StartSurface: o}
	case *pb.SurfaceSavedCmd:
		cmd.Op = &pb.Command_SurfaceSaved{SurfaceSaved: o}
	case *pb.RollbackSurfaceCmd:
		cmd.Op = &pb.Command_RollbackSurface{RollbackSurface: o}
	case *pb.SetSurfaceAutosaveCmd:
		cmd.Op = &pb.Command_SetSurfaceAutosave{SetSurfaceAutosave: o}
	case nil:
	default:
		panic(fmt.Sprintf("unknown op %T", op))
	}
	return cmd
}

func regNode(id string) *pb.Command {
	return c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: id, Address: id + ":7100", Capacity: &pb.NodeCapacity{Cores: 2}, Bundles: []string{"b2", "b1", "b2"}, Labels: map[string]string{"zone": "a"}}})
}

func newSurface(name string) *pb.Command {
	return c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: name, Seed: 42, Replicas: 2}})
}

// TestFSMCommandsSurviveSnapshot applies every command kind on top of a populated
// state, checks its outcome, and checks that snapshot -> restore gives the same
// state and that the restored FSM keeps behaving the same (dedup included).
func TestFSMCommandsSurviveSnapshot(t *testing.T) {
	t.Parallel()
	base := func() []*pb.Command {
		return []*pb.Command{
			c(&pb.RegisterControllerCmd{Id: "c1", RaftAddress: "127.0.0.1:7001", ApiAddress: "127.0.0.1:7000"}),
			c(&pb.SetJoinTokenCmd{Token: "tok", OnlyIfUnset: true}),
			regNode("n1"), regNode("n2"),
			newSurface("nauvis"), newSurface("gleba"),
			c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2"}}}}}),
			c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "iron", FromSurface: "nauvis", FromPort: "e1", ToSurface: "gleba", ToPort: "i1"}}),
		}
	}
	for _, tc := range []struct {
		name  string
		cmd   *pb.Command
		code  codes.Code
		check func(t *testing.T, s *pb.ClusterState)
	}{
		{"register controller", c(&pb.RegisterControllerCmd{Id: "c2", RaftAddress: "127.0.0.1:7011", ApiAddress: "127.0.0.1:7010"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "controllers", len(s.Controllers), 2) }},
		{"register controller without address", c(&pb.RegisterControllerCmd{Id: "c2"}), codes.InvalidArgument, nil},
		{"remove controller", c(&pb.RemoveControllerCmd{Id: "c1"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "controllers", len(s.Controllers), 0) }},
		{"join token kept when only_if_unset", c(&pb.SetJoinTokenCmd{Token: "other", OnlyIfUnset: true}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "token", s.JoinToken, "tok") }},
		{"join token replaced", c(&pb.SetJoinTokenCmd{Token: "other"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "token", s.JoinToken, "other") }},
		{"register node", regNode("n3"), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantLen(t, "nodes", len(s.Nodes), 3)
				wantEq(t, "bundles", strings.Join(s.Nodes[2].Bundles, ","), "b1,b2")
			}},
		{"register node with bad id", c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: "Bad Id"}}), codes.InvalidArgument, nil},
		{"cordon node", c(&pb.SetNodeCordonCmd{Id: "n1", Cordoned: true}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "cordoned", s.Nodes[0].Cordoned, true) }},
		{"cordon missing node", c(&pb.SetNodeCordonCmd{Id: "n9", Cordoned: true}), codes.NotFound, nil},
		{"mark node down", c(&pb.MarkNodeDownCmd{Id: "n2", Reason: "lease expired"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "status", s.Nodes[1].Status, pb.NodeStatus_NODE_STATUS_DOWN)
			}},
		{"mark re-registered node down", c(&pb.MarkNodeDownCmd{Id: "n2", RegisteredUnixMs: 1}), codes.FailedPrecondition, nil},
		{"create surface", newSurface("vulcanus"), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantLen(t, "surfaces", len(s.Surfaces), 3)
				v := s.Surfaces[2]
				wantEq(t, "defaults", v.Planet+"/"+v.Map, "nauvis/starter")
			}},
		{"create existing surface", newSurface("nauvis"), codes.AlreadyExists, nil},
		{"create surface with bad name", newSurface("Nauvis!"), codes.InvalidArgument, nil},
		{"create surface pinned to unknown node", c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "x", Pin: "n9"}}), codes.NotFound, nil},
		{"delete surface drops its bridges", c(&pb.DeleteSurfaceCmd{Name: "gleba"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantLen(t, "surfaces", len(s.Surfaces), 1)
				wantLen(t, "bridges", len(s.Bridges), 0)
			}},
		{"delete missing surface", c(&pb.DeleteSurfaceCmd{Name: "fulgora"}), codes.NotFound, nil},
		{"pin surface", c(&pb.PinSurfaceCmd{Name: "gleba", Node: "n2"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "pin", s.Surfaces[0].Pin, "n2") }},
		{"pin to unknown node", c(&pb.PinSurfaceCmd{Name: "gleba", Node: "n7"}), codes.NotFound, nil},
		{"set replicas", c(&pb.SetSurfaceReplicasCmd{Name: "gleba", Replicas: 3}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "replicas", s.Surfaces[0].Replicas, uint32(3)) }},
		{"set replicas to zero", c(&pb.SetSurfaceReplicasCmd{Name: "gleba", Replicas: 0}), codes.InvalidArgument, nil},
		{"apply plan: new epoch is the raft index", c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "gleba", Assignment: &pb.Assignment{Primary: "n2"}}}}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "primary", s.Surfaces[0].Assignment.Primary, "n2")
				wantEq(t, "epoch", s.Surfaces[0].Assignment.Epoch, s.Index)
			}},
		{"apply plan: stale epoch changes nothing", c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: 1, Assignment: &pb.Assignment{Primary: "n2"}}}}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "primary", s.Surfaces[1].Assignment.Primary, "n1") }},
		{"apply plan: placement error recorded", c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "gleba", PlacementError: "no node has prototype bundle x"}}}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "error", s.Surfaces[0].PlacementError, "no node has prototype bundle x")
				wantEq(t, "event", s.Events[len(s.Events)-1].Kind, "surface.unplaced")
			}},
		{"create bridge", c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "copper", FromSurface: "gleba", FromPort: "out", ToSurface: "nauvis", ToPort: "in", Items: []string{"copper-plate"}}}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "bridges", len(s.Bridges), 2) }},
		{"create bridge without ports", c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "copper", FromSurface: "gleba", ToSurface: "nauvis"}}), codes.InvalidArgument, nil},
		{"create bridge on a used export port", c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "tin", FromSurface: "nauvis", FromPort: "e1", ToSurface: "gleba", ToPort: "i2"}}), codes.AlreadyExists, nil},
		{"create bridge on a used import port", c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "tin", FromSurface: "nauvis", FromPort: "e2", ToSurface: "gleba", ToPort: "i1"}}), codes.AlreadyExists, nil},
		{"create bridge to itself", c(&pb.CreateBridgeCmd{Bridge: &pb.Bridge{Id: "loop", FromSurface: "gleba", FromPort: "a", ToSurface: "gleba", ToPort: "b"}}), codes.InvalidArgument, nil},
		{"delete bridge", c(&pb.DeleteBridgeCmd{Id: "iron"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "bridges", len(s.Bridges), 0) }},
		{"stop a running surface asks its primary", c(&pb.StopSurfaceCmd{Name: "nauvis"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "stop requested", s.Surfaces[1].StopRequested, true)
				wantEq(t, "stopped", s.Surfaces[1].Stopped, false)
			}},
		{"stop a surface placed nowhere", c(&pb.StopSurfaceCmd{Name: "gleba"}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "stopped", s.Surfaces[0].Stopped, true) }},
		{"stop a missing surface", c(&pb.StopSurfaceCmd{Name: "fulgora"}), codes.NotFound, nil},
		{"start a running surface", c(&pb.StartSurfaceCmd{Name: "nauvis"}), codes.FailedPrecondition, nil},
		{"autosave recorded", c(&pb.SurfaceSavedCmd{Surface: "nauvis", Node: "n1", Epoch: 7, Save: autoSaveInfo(100)}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantLen(t, "saves", len(s.Saves), 1)
				wantEq(t, "name", s.Saves[0].Name, "nauvis.auto.100")
				wantEq(t, "of", s.Saves[0].AutosaveOf, "nauvis")
				wantEq(t, "last autosave", s.Surfaces[1].LastAutosaveTick, uint64(100))
			}},
		{"autosave from a node that is not the primary", c(&pb.SurfaceSavedCmd{Surface: "nauvis", Node: "n2", Epoch: 7, Save: autoSaveInfo(100)}), codes.FailedPrecondition, nil},
		{"final save without a stop", c(&pb.SurfaceSavedCmd{Surface: "nauvis", Node: "n1", Epoch: 7, Save: autoSaveInfo(100), Final: true}), codes.FailedPrecondition, nil},
		{"rollback to a missing save", c(&pb.RollbackSurfaceCmd{Name: "nauvis", Save: "nosuch"}), codes.NotFound, nil},
		{"set autosave", c(&pb.SetSurfaceAutosaveCmd{Name: "nauvis", EveryTicks: 600, Keep: 2}), codes.OK,
			func(t *testing.T, s *pb.ClusterState) {
				wantEq(t, "every", s.Surfaces[1].AutosaveEveryTicks, uint64(600))
				wantEq(t, "keep", s.Surfaces[1].AutosaveKeep, uint32(2))
			}},
		{"unknown command from a newer version", c(nil), codes.Unimplemented, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFSM(nil)
			for _, cmd := range base() {
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
				// A failed command changes nothing but the dedup table and index.
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
			// A retry of the same request after restore returns the first outcome
			// and changes nothing, on both.
			r1, r2 := applyCmd(t, f, tc.cmd), applyCmd(t, g, tc.cmd)
			if !proto.Equal(r1, res) || !proto.Equal(r2, res) {
				t.Fatalf("retry results %v / %v, want the first result %v", r1, r2, res)
			}
			// The same follow-up command gives the same state on both.
			next := newSurface("aquilo")
			applyCmd(t, f, next)
			applyCmd(t, g, next)
			if diff := cmp.Diff(stateOf(f), stateOf(g), protocmp.Transform()); diff != "" {
				t.Fatalf("original and restored FSM diverged:\n%s", diff)
			}
		})
	}
}

func wantLen(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %d entries, want %d", what, got, want)
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestFSMEventLogIsBounded(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	applyCmd(t, f, regNode("n1"))
	for i := 0; i < 2*maxEvents+10; i++ {
		applyCmd(t, f, c(&pb.SetNodeCordonCmd{Id: "n1", Cordoned: i%2 == 0}))
	}
	s := stateOf(f)
	// Between maxEvents and 2*maxEvents kept, plus the truncation marker.
	if got := len(s.Events); got < maxEvents+1 || got > 2*maxEvents {
		t.Fatalf("%d events kept, want %d to %d", got, maxEvents+1, 2*maxEvents)
	}
	g := roundTrip(t, f)
	var dropped uint64
	g.read(func(s *state) { dropped = s.droppedUpTo })
	if dropped == 0 {
		t.Fatal("restored FSM forgot that events were dropped")
	}
}

func TestFSMDedupExpires(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	first := c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "a"}})
	applyCmd(t, f, first)
	applyCmd(t, f, c(&pb.DeleteSurfaceCmd{Name: "a"}))
	// Within the window the retry is deduplicated: "a" stays deleted.
	applyCmd(t, f, first)
	if n := len(stateOf(f).Surfaces); n != 0 {
		t.Fatalf("retry inside the dedup window re-created the surface")
	}
	later := proto.Clone(first).(*pb.Command)
	later.UnixMs += dedupWindowMS + 1
	applyCmd(t, f, c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: "tick"}}))
	f.mu.Lock()
	f.st.expireDedup(later.UnixMs)
	_, kept := f.st.dedup[first.RequestId]
	f.mu.Unlock()
	if kept {
		t.Fatal("request ID kept past the dedup window")
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	if err := f.Restore(io.NopCloser(strings.NewReader("not a snapshot"))); err == nil {
		t.Fatal("garbage restored")
	}
	newer, _ := proto.Marshal(&pb.ClusterState{FormatVersion: stateFormat + 1})
	err := f.Restore(io.NopCloser(bytes.NewReader(newer)))
	if err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("newer format: %v", err)
	}
}

// The join-token file writer waits on TokenChanged: it must fire when a command or
// a restore changes the token, and must not fire for every other write.
func TestFSMTokenChangedOnlyOnTokenChange(t *testing.T) {
	f := NewFSM(nil)
	ch := f.TokenChanged()
	applyCmd(t, f, newSurface("a"))
	if fired(ch) {
		t.Fatal("TokenChanged fired for a surface create")
	}
	applyCmd(t, f, c(&pb.SetJoinTokenCmd{Token: "tok1"}))
	if !fired(ch) {
		t.Fatal("TokenChanged did not fire when the token was set")
	}
	ch = f.TokenChanged()
	applyCmd(t, f, c(&pb.SetJoinTokenCmd{Token: "tok1"}))
	applyCmd(t, f, c(&pb.SetJoinTokenCmd{Token: "other", OnlyIfUnset: true}))
	if fired(ch) {
		t.Fatal("TokenChanged fired although the token stayed tok1")
	}

	// A restore that brings another token fires it too.
	g := NewFSM(nil)
	applyCmd(t, g, c(&pb.SetJoinTokenCmd{Token: "tok2"}))
	snap, err := g.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink bufSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	if !fired(ch) {
		t.Fatal("TokenChanged did not fire when a restore changed the token")
	}
	var tok string
	f.read(func(s *state) { tok = s.joinToken })
	wantEq(t, "token after restore", tok, "tok2")
}

func autoSaveInfo(tick uint64) *pb.SaveInfo {
	return &pb.SaveInfo{Sha256: fmt.Sprintf("%064x", tick), Size: 100 + tick, Tick: tick, StateHash: fmt.Sprintf("%016x", tick*7)}
}

// TestFSMSurfaceLifecycle: stop, final save, start; autosaves pruned to keep
// (never the one a surface starts from); a rollback starts a new history.
func TestFSMSurfaceLifecycle(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	must := func(cmd *pb.Command) {
		t.Helper()
		if res := applyCmd(t, f, cmd); res.Code != 0 {
			t.Fatalf("%v", res)
		}
	}
	must(regNode("n1"))
	must(c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "nauvis", Replicas: 1, AutosaveKeep: 2}}))
	must(c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", Assignment: &pb.Assignment{Primary: "n1"}}}}))
	epoch := stateOf(f).Surfaces[0].Assignment.Epoch
	for _, tick := range []uint64{60, 120, 180} {
		must(c(&pb.SurfaceSavedCmd{Surface: "nauvis", Node: "n1", Epoch: epoch, Save: autoSaveInfo(tick)}))
	}
	names := func() []string {
		var out []string
		for _, sv := range stateOf(f).Saves {
			out = append(out, sv.Name)
		}
		return out
	}
	wantEq(t, "kept", strings.Join(names(), ","), "nauvis.auto.120,nauvis.auto.180")
	must(c(&pb.StopSurfaceCmd{Name: "nauvis"}))
	for _, cmd := range []*pb.Command{c(&pb.StopSurfaceCmd{Name: "nauvis"}), c(&pb.StartSurfaceCmd{Name: "nauvis"}), c(&pb.RollbackSurfaceCmd{Name: "nauvis", Save: "nauvis.auto.180"})} {
		if res := applyCmd(t, f, cmd); codes.Code(res.Code) != codes.FailedPrecondition || !strings.Contains(res.Message, "stopping") {
			t.Fatalf("%T while stopping: %v", cmd.Op, res)
		}
	}
	must(c(&pb.SurfaceSavedCmd{Surface: "nauvis", Node: "n1", Epoch: epoch, Save: autoSaveInfo(200), Final: true}))
	sf := stateOf(f).Surfaces[0]
	wantEq(t, "stopped", sf.Stopped, true)
	wantEq(t, "primary", sf.Assignment.GetPrimary(), "")
	wantEq(t, "starts from", sf.SaveSha256, autoSaveInfo(200).Sha256)
	wantEq(t, "kept", strings.Join(names(), ","), "nauvis.auto.180,nauvis.stop.200")
	if res := applyCmd(t, f, c(&pb.StopSurfaceCmd{Name: "nauvis"})); codes.Code(res.Code) != codes.FailedPrecondition || !strings.Contains(res.Message, "already stopped") {
		t.Fatalf("second stop: %v", res)
	}
	// The scheduler's plan does not place a stopped surface.
	must(c(&pb.ApplyPlanCmd{Changes: []*pb.PlanChange{{Surface: "nauvis", ExpectedEpoch: sf.Assignment.Epoch, Assignment: &pb.Assignment{Primary: "n1"}}}}))
	wantEq(t, "primary while stopped", stateOf(f).Surfaces[0].Assignment.GetPrimary(), "")
	must(c(&pb.StartSurfaceCmd{Name: "nauvis"}))
	wantEq(t, "stopped after start", stateOf(f).Surfaces[0].Stopped, false)
	// Started again, its only copy lost: it resumes from the stop save, not from
	// the older autosave (which would lose the ticks between them).
	{
		var st *state
		f.read(func(s *state) { st = s })
		if rp := st.restorePoint(stateOf(f).Surfaces[0]); rp == nil || rp.Name != "nauvis.stop.200" {
			t.Fatalf("restore point after a stop and start: %v, want nauvis.stop.200", rp)
		}
	}
	must(c(&pb.RollbackSurfaceCmd{Name: "nauvis", Save: "nauvis.auto.180"}))
	sf = stateOf(f).Surfaces[0]
	wantEq(t, "rolled back to", sf.SaveSha256, autoSaveInfo(180).Sha256)
	wantEq(t, "timeline", sf.TimelineIndex, stateOf(f).Index)
	var st *state
	f.read(func(s *state) { st = s })
	if rp := st.restorePoint(sf); rp == nil || rp.Name != "nauvis.auto.180" {
		t.Fatalf("restore point after a rollback: %v", rp)
	}
}

// The blob sync waits on ContentChanged and each chat stream on ChatChanged:
// each must fire when a save or a chat message is applied, and not for a write
// that changes neither (a stream of surface creates woke both per write).
func TestFSMTopicChannelsFireOnlyForTheirTopic(t *testing.T) {
	f := NewFSM(nil)
	content, chat := f.ContentChanged(), f.ChatChanged()
	applyCmd(t, f, newSurface("a"))
	if fired(content) || fired(chat) {
		t.Fatalf("a surface create woke the blob sync (%v) or the chat streams (%v)", fired(content), fired(chat))
	}
	applyCmd(t, f, bundleCmd(&pb.PutSaveCmd{Save: &pb.SaveInfo{Name: "base", Sha256: strings.Repeat("ab", 32), Size: 10}}))
	if !fired(content) || fired(chat) {
		t.Fatalf("recording a save: content fired %v (want true), chat %v (want false)", fired(content), fired(chat))
	}
	content = f.ContentChanged()
	msg := &pb.Command{RequestId: "chat-1", UnixMs: 1_700_000_000_000, Actor: &pb.Actor{Name: "t", Method: "M"},
		Op: &pb.Command_Access{Access: &pb.AccessCmd{Op: &pb.AccessCmd_Chat{Chat: &pb.ChatMessage{Player: "ann", Text: "hello", Global: true}}}}}
	if res := applyCmd(t, f, msg); res.Code != 0 {
		t.Fatalf("chat message refused: %s", res.Message)
	}
	if !fired(chat) || fired(content) {
		t.Fatalf("a chat message: chat fired %v (want true), content %v (want false)", fired(chat), fired(content))
	}
	applyCmd(t, f, bundleCmd(&pb.DeleteSaveCmd{Name: "base"}))
	if !fired(content) {
		t.Fatal("deleting a save did not wake the blob sync")
	}
}

// fired reports whether ch has been closed (or sent on), without waiting.
func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
