package main

import (
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestUPSNotMeasuredYetIsADash: right after a move the new primary reports
// before it has measured a rate; surface list shows "-" for it, as for a
// surface not reporting at all, not a 0.0 that reads as a stall.
func TestUPSNotMeasuredYetIsADash(t *testing.T) {
	t.Parallel()
	sf := func(upsMilli uint64, stale bool) *pb.Surface {
		return &pb.Surface{Name: "fulgora", Assignment: &pb.Assignment{Primary: "n1", Epoch: 486},
			Stats: &pb.SurfaceStats{Tick: 10, ReportedUnixMs: 1, UpsMilli: upsMilli, Stale: stale}}
	}
	for _, tc := range []struct {
		name string
		sf   *pb.Surface
		want string
	}{
		{"just moved", sf(0, false), "-"},
		{"running", sf(59_900, false), "59.9"},
		{"stale", sf(60_000, true), "-"},
		{"not reporting", &pb.Surface{Name: "fulgora", Assignment: &pb.Assignment{Primary: "n1"}}, "-"},
	} {
		if got := upsColumn(toSurfaceJSON(tc.sf).Stats); got != tc.want {
			t.Errorf("%s: UPS column %q, want %q", tc.name, got, tc.want)
		}
	}
}
