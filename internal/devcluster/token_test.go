package devcluster

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// revoked answers as controllers that no longer know dev's admin token.
type revoked struct {
	pb.UnimplementedClusterServiceServer
}

func (revoked) ListNodes(context.Context, *pb.ListNodesRequest) (*pb.ListNodesResponse, error) {
	return nil, status.Error(codes.Unauthenticated, "ClusterService/ListNodes: operator token bootstrap-admin (03fe6ee6438a) was revoked")
}

// A start whose admin token the controllers refuse stops at once, with their
// reason, where the token came from and how to start with another.
func TestRevokedAdminTokenStopsTheStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterClusterServiceServer(gs, revoked{})
	go gs.Serve(ln)
	defer gs.Stop()
	cl, err := ctlclient.Dial([]string{ln.Addr().String()}, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	d := &cluster{dir: "/data", adminTokenFrom: "/data/admin-token"}
	err = d.checkAdminToken(context.Background(), cl)
	for _, want := range []string{"refuse the admin token dev uses (/data/admin-token)", "was revoked", "start dev with STARLANE_TOKEN set to an admin token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkAdminToken = %v; want it to say %q", err, want)
		}
	}
}
