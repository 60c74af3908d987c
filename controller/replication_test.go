package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestStandbysReportingALostPrimaryPromoteTheBest: the leader promotes only once
// every synced standby has said it lost the primary (so the old primary can no
// longer confirm), and picks the one holding the most ticks; the primary's node
// still has its lease, so this is not the lease path. A standby that is not synced
// counts for nothing; a report for an old epoch is refused.
func TestStandbysReportingALostPrimaryPromoteTheBest(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 1, false, nil)
	cl := tc.client()
	ctx := ctxT(t, 60*time.Second)
	var token string
	cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
		token = r.GetToken()
		return err
	})
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		if err := register(t, cl, token, &pb.Node{Id: id, Address: id + ":7100", Capacity: &pb.NodeCapacity{Cores: 4}}); err != nil {
			t.Fatal(err)
		}
		defer heartbeater(t, cl, id, token, nil)()
	}
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "gleba", Replicas: 4, Pin: "n1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sf := waitSurface(t, cl, "gleba", "three standbys", func(s *pb.Surface) bool { return len(s.Assignment.Standbys) == 3 })
	node := func(fn func(c pb.NodeServiceClient) error) error {
		return cl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error { return fn(c) })
	}
	// n2 and n3 caught up; n4 did not.
	if err := node(func(c pb.NodeServiceClient) error {
		_, err := c.UpdateReplicas(ctx, &pb.UpdateReplicasRequest{RequestId: ctlclient.NewRequestID(), NodeId: "n1", Surface: "gleba", Epoch: sf.Assignment.Epoch, Synced: []string{"n2", "n3"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	report := func(from string, epoch, tick uint64) (*pb.ReportPrimaryLostResponse, error) {
		var r *pb.ReportPrimaryLostResponse
		err := node(func(c pb.NodeServiceClient) error {
			var err error
			r, err = c.ReportPrimaryLost(ctx, &pb.ReportPrimaryLostRequest{NodeId: from, Surface: "gleba", Epoch: epoch, Tick: tick, Reason: "stream broke"})
			return err
		})
		return r, err
	}
	e := sf.Assignment.Epoch
	if _, err := report("n2", e-1, 500); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("report for an old epoch: %v", err)
	}
	for _, r := range []struct {
		from string
		tick uint64
	}{{"n4", 900}, {"n2", 480}} {
		res, err := report(r.from, e, r.tick)
		if err != nil || res.Promoted {
			t.Fatalf("report from %s: %v %v; want no promotion yet", r.from, res, err)
		}
	}
	if s := getSurface(t, cl, "gleba").Surface; s.Assignment.Primary != "n1" {
		t.Fatalf("promoted before every synced standby reported: %v", s.Assignment)
	}
	res, err := report("n3", e, 510)
	if err != nil || !res.Promoted {
		t.Fatalf("last synced standby's report: %v %v", res, err)
	}
	got := getSurface(t, cl, "gleba")
	a := got.Surface.Assignment
	if a.Primary != "n3" || a.Start != pb.PrimaryStart_PRIMARY_START_PROMOTED || slices.Contains(a.Standbys, "n1") || !slices.Equal(a.Synced, []string{"n2"}) {
		t.Fatalf("after the reports: %v (want n3, which holds tick 510, promoted; n4's 900 does not count: it is not synced)", a)
	}
}
