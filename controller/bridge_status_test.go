package controller

import (
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestBridgeCountersComeFromOneSnapshot: the receiver's heartbeat arrives
// after the sender's, so it counts deliveries the sender's older report has not
// yet exported. Pairing the two showed delivered 30 of 10 exported; the status
// must read both numbers from the sender's one state, where what was confirmed
// delivered is at most what left.
func TestBridgeCountersComeFromOneSnapshot(t *testing.T) {
	s := newState()
	s.surfaces["a"] = &pb.Surface{Name: "a", Assignment: &pb.Assignment{Primary: "n1", Epoch: 3}}
	s.surfaces["b"] = &pb.Surface{Name: "b", Assignment: &pb.Assignment{Primary: "n2", Epoch: 4}}
	b := &pb.Bridge{Id: "ab", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in"}
	s.bridges["ab"] = b
	live := map[string]lease{
		"n1": {bridges: []*pb.BridgeEndStats{{Bridge: "ab", Side: "sender", Epoch: 3, ReportedUnixMs: 1000,
			Items: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 10, Acked: 5}, {Item: "copper-plate", Moved: 4, Acked: 4}}}}},
		"n2": {bridges: []*pb.BridgeEndStats{{Bridge: "ab", Side: "receiver", Epoch: 4, ReportedUnixMs: 3000,
			Items: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 30}, {Item: "copper-plate", Moved: 9}}}}},
	}
	st := liveBridge(s, b, bridgeEndsByID(live, nil)).GetStatus()
	if st == nil || len(st.Items) != 2 {
		t.Fatalf("status %v; want two items", st)
	}
	want := map[string][3]int64{"copper-plate": {4, 4, 0}, "iron-plate": {10, 5, 5}}
	for _, it := range st.Items {
		if it.Delivered > it.Exported {
			t.Errorf("%s: delivered %d > exported %d", it.Item, it.Delivered, it.Exported)
		}
		if w := want[it.Item]; it.Exported != w[0] || it.Delivered != w[1] || it.Inflight != w[2] {
			t.Errorf("%s: exported %d delivered %d inflight %d; want %v", it.Item, it.Exported, it.Delivered, it.Inflight, w)
		}
	}
	// The receiver's own count is still shown, as its end's.
	if st.Receiver.GetItems()[0].Moved != 30 {
		t.Errorf("receiver end %v", st.Receiver)
	}

	// Without the sender's report there is no consistent pair: no items.
	delete(live, "n1")
	if st := liveBridge(s, b, bridgeEndsByID(live, nil)).GetStatus(); len(st.GetItems()) != 0 {
		t.Errorf("items without a sender report: %v", st.GetItems())
	}
}

// A bridge whose sender stops reporting (its surface stopped, moving, failing
// over) keeps its counters as of the last report, said as such, and a stopped
// or unplaced end is said with what resumes it.
func TestBridgeStatusWhileAnEndCannotRun(t *testing.T) {
	s := newState()
	s.surfaces["a"] = &pb.Surface{Name: "a", Assignment: &pb.Assignment{Primary: "n1", Epoch: 3}}
	s.surfaces["b"] = &pb.Surface{Name: "b", Assignment: &pb.Assignment{Primary: "n2", Epoch: 4}}
	b := &pb.Bridge{Id: "ab", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in", CreateIndex: 7,
		Base: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 2, Acked: 2}}}
	s.bridges["ab"] = b
	l := newLiveState()
	sender := &pb.BridgeEndStats{Bridge: "ab", Side: "sender", Epoch: 3, ReportedUnixMs: 5000,
		Items: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 575, Acked: 559}}}
	l.noteSenderLocked(sender, 7)
	l.noteSenderLocked(&pb.BridgeEndStats{Bridge: "ab", Side: "receiver", Epoch: 4}, 7)
	// An older epoch's report (a deposed primary's last heartbeat) does not replace it.
	l.noteSenderLocked(&pb.BridgeEndStats{Bridge: "ab", Side: "sender", Epoch: 2, Items: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 9}}}, 7)

	// Both ends run, but the sender has not reported under this epoch yet.
	st := liveBridge(s, b, bridgeEndsByID(nil, l.lastSenders())).GetStatus()
	if len(st.GetItems()) != 1 || st.Items[0].Exported != 573 || st.Items[0].Delivered != 557 || st.Items[0].Inflight != 16 ||
		st.ItemsAsOfUnixMs != 5000 || st.Paused != "" {
		t.Errorf("status with the sender not reporting: %v; want the last report's counts as of 5000 ms", st)
	}

	s.surfaces["a"] = &pb.Surface{Name: "a", Stopped: true, Assignment: &pb.Assignment{Epoch: 3}}
	st = liveBridge(s, b, bridgeEndsByID(nil, l.lastSenders())).GetStatus()
	if want := "source a is stopped (starlane surface start a)"; st.GetPaused() != want || len(st.Items) != 1 {
		t.Errorf("status with the source stopped: %v; want paused %q and the counts kept", st, want)
	}
	s.surfaces["a"] = &pb.Surface{Name: "a", Assignment: &pb.Assignment{Primary: "n1", Epoch: 5}}
	s.surfaces["b"] = &pb.Surface{Name: "b", PlacementError: "no node is up", Assignment: &pb.Assignment{Epoch: 4}}
	if st := liveBridge(s, b, bridgeEndsByID(nil, l.lastSenders())).GetStatus(); st.GetPaused() != "destination b is not placed: no node is up" {
		t.Errorf("status with the destination unplaced: %v", st)
	}
	// Both ends stopped: both are named, so starting one is not taken for the cure.
	s.surfaces["a"] = &pb.Surface{Name: "a", Stopped: true, Assignment: &pb.Assignment{Epoch: 5}}
	s.surfaces["b"] = &pb.Surface{Name: "b", Stopped: true, Assignment: &pb.Assignment{Epoch: 4}}
	if want := "source a is stopped (starlane surface start a); destination b is stopped (starlane surface start b)"; liveBridge(s, b, bridgeEndsByID(nil, l.lastSenders())).GetStatus().GetPaused() != want {
		t.Errorf("status with both ends stopped: %v; want paused %q", liveBridge(s, b, bridgeEndsByID(nil, l.lastSenders())).GetStatus(), want)
	}

	// A bridge declared again under the same name does not show the old one's report.
	b2 := &pb.Bridge{Id: "ab", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in", CreateIndex: 9}
	s.surfaces["a"] = &pb.Surface{Name: "a", Assignment: &pb.Assignment{Primary: "n1", Epoch: 5}}
	s.surfaces["b"] = &pb.Surface{Name: "b", Assignment: &pb.Assignment{Primary: "n2", Epoch: 4}}
	if st := liveBridge(s, b2, bridgeEndsByID(nil, l.lastSenders())).GetStatus(); st != nil {
		t.Errorf("a new bridge of the same name shows %v", st)
	}
}

// A bridge declared on a port an earlier bridge left stacks in flight on counts
// neither those stacks' export nor their delivery: delivered never exceeds
// exported.
func TestRecreatedBridgeCountsOnlyItsOwnStacks(t *testing.T) {
	s := newState()
	s.surfaces["a"] = &pb.Surface{Name: "a", Assignment: &pb.Assignment{Primary: "n1", Epoch: 3}}
	s.surfaces["b"] = &pb.Surface{Name: "b", Assignment: &pb.Assignment{Primary: "n2", Epoch: 4}}
	// At creation the port had moved 100 plates, 76 of them acknowledged.
	b := &pb.Bridge{Id: "ab", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in", CreateIndex: 3,
		Base: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: 100, Acked: 76}}}
	s.bridges["ab"] = b
	for _, tc := range []struct{ moved, acked, exported, delivered int64 }{
		{110, 90, 10, 0}, // the old 24 in flight are still being acknowledged
		{154, 178 - 24, 54, 54},
		{154, 130, 54, 30},
	} {
		live := map[string]lease{"n1": {bridges: []*pb.BridgeEndStats{{Bridge: "ab", Side: "sender", Epoch: 3,
			Items: []*pb.BridgeItemCount{{Item: "iron-plate", Moved: tc.moved, Acked: tc.acked}}}}}}
		st := liveBridge(s, b, bridgeEndsByID(live, nil)).GetStatus()
		var it *pb.BridgeItemStatus
		if len(st.GetItems()) == 1 {
			it = st.Items[0]
		}
		if it.GetExported() != tc.exported || it.GetDelivered() != tc.delivered || it.GetDelivered() > it.GetExported() {
			t.Errorf("port moved %d, acked %d: %v; want exported %d, delivered %d", tc.moved, tc.acked, it, tc.exported, tc.delivered)
		}
	}
}
