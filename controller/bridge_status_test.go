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
	st := liveBridge(s, b, bridgeEndsByID(live)).GetStatus()
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
	if st := liveBridge(s, b, bridgeEndsByID(live)).GetStatus(); len(st.GetItems()) != 0 {
		t.Errorf("items without a sender report: %v", st.GetItems())
	}
}
