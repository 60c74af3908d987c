package dashboard

import (
	"context"
	"net"
	"strings"
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// With no page open the hub keeps the latest stats but encodes nothing (a write
// storm on the leader published a whole-catalog JSON snapshot per applied event);
// a page that opens gets the current state at once and every update after it.
func TestHubEncodesOnlyForOpenPages(t *testing.T) {
	h := newHub(&Server{})
	live := func(names ...string) *pb.LiveStats {
		m := &pb.LiveStats{Index: uint64(len(names))}
		for _, n := range names {
			m.Surfaces = append(m.Surfaces, &pb.Surface{Name: n})
		}
		return m
	}
	h.mu.Lock()
	h.live = live("nauvis")
	h.publishLocked()
	built := h.snap != nil
	h.mu.Unlock()
	if built {
		t.Fatal("the hub built a snapshot with no page open")
	}

	snap, _, ch := h.subscribe()
	defer h.unsubscribe(ch)
	if len(snap.Surfaces) != 1 || snap.Surfaces[0].Name != "nauvis" {
		t.Fatalf("a page opening got %+v, want the latest stats (nauvis)", snap.Surfaces)
	}
	h.mu.Lock()
	h.live = live("nauvis", "vulcanus")
	h.publishLocked()
	h.mu.Unlock()
	select {
	case m := <-ch:
		if m.name != "state" {
			t.Fatalf("the open page got %q, want a state", m.name)
		}
	default:
		t.Fatal("the open page got no update")
	}
	if snap, _ := h.current(); len(snap.Surfaces) != 2 {
		t.Fatalf("current state has %d surfaces, want 2", len(snap.Surfaces))
	}
}

// A controller that is down shows on the page as not answering, in words, not as
// gRPC's transport text.
func TestUnreachableControllerIsSaidInWords(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	s, err := New(Config{ControllerID: "c1", SelfAddr: dead})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.status(context.Background(), &pb.ControllerPeer{Id: "c2", ApiAddress: dead})
	if c.State != "unreachable" || !strings.Contains(c.Error, "not answering") || strings.Contains(c.Error, "transport") || strings.Contains(c.Error, "desc =") {
		t.Errorf("a stopped controller shows as %q: %q, want unreachable and not answering, in words", c.State, c.Error)
	}
}
