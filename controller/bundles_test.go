package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestBundleSurfaceGoesToANodeThatCanFetchIt: n1 runs only the bundle it holds,
// n2 fetches bundles; a surface whose uploaded bundle neither holds is placed on
// n2. A surface whose bundle the cluster does not have is placed nowhere, and
// its placement error names both sides.
func TestBundleSurfaceGoesToANodeThatCanFetchIt(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 1, false, nil)
	cl := tc.client()
	ctx := ctxT(t, 30*time.Second)
	var token string
	cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
		token = r.GetToken()
		return err
	})
	vanilla, space, missing := strings.Repeat("11", 32), strings.Repeat("3f", 32), strings.Repeat("9c", 32)
	for _, n := range []*pb.Node{
		{Id: "n1", Bundles: []string{vanilla}, BundleNames: []string{"vanilla"}, BundlesFixed: true, Capacity: &pb.NodeCapacity{Cores: 8}},
		{Id: "n2", Bundles: []string{vanilla}, BundleNames: []string{"vanilla"}, Capacity: &pb.NodeCapacity{Cores: 1}},
	} {
		if err := register(t, cl, token, n); err != nil {
			t.Fatal(err)
		}
		defer heartbeater(t, cl, n.Id, token, nil)()
	}
	err := cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := pb.NewBundleServiceClient(cc).PutBundle(ctx, &pb.PutBundleRequest{RequestId: ctlclient.NewRequestID(),
			Bundle: &pb.BundleInfo{Name: "space-age", Hash: space, Size: 100}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]string{"nauvis": space, "gleba": missing} {
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name, BundleHash: h, Replicas: 1})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitSurface(t, cl, "nauvis", "a primary on n2", func(s *pb.Surface) bool { return s.GetAssignment().GetPrimary() == "n2" })
	s := waitSurface(t, cl, "gleba", "a placement error", func(s *pb.Surface) bool { return s.PlacementError != "" })
	if want := "bundle mismatch: surface gleba needs bundle (9c9c9c9c9c9c…), node n1 has 'vanilla' (111111111111…)"; !strings.Contains(s.PlacementError, want) {
		t.Fatalf("placement error %q; want it to contain %q", s.PlacementError, want)
	}
}
