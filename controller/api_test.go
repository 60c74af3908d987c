package controller

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// heartbeater keeps a node's lease alive until stopped; like a node agent, it
// registers again if the controller marked the node down (a heartbeat delayed past
// the TTL on a loaded machine).
func heartbeater(t *testing.T, cl *ctlclient.Client, id, token string, shards func() []*pb.ShardStats) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cl.Node(ctx, func(ctx context.Context, n pb.NodeServiceClient) error {
				var sh []*pb.ShardStats
				if shards != nil {
					sh = shards()
				}
				_, err := n.Heartbeat(ctx, &pb.HeartbeatRequest{NodeId: id, Shards: sh})
				if status.Code(err) == codes.FailedPrecondition {
					_, err = n.Register(ctx, &pb.RegisterRequest{RequestId: ctlclient.NewRequestID(), JoinToken: token, Node: &pb.Node{Id: id, Capacity: &pb.NodeCapacity{Cores: 4}}})
				}
				return err
			})
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func getSurface(t *testing.T, cl *ctlclient.Client, name string) *pb.GetSurfaceResponse {
	t.Helper()
	var out *pb.GetSurfaceResponse
	err := cl.Cluster(ctxT(t, 10*time.Second), func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		out, err = c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: name})
		return err
	})
	if err != nil {
		t.Fatalf("get surface %s: %v", name, err)
	}
	return out
}

func waitSurface(t *testing.T, cl *ctlclient.Client, name string, what string, ok func(*pb.Surface) bool) *pb.Surface {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last *pb.Surface
	for time.Now().Before(deadline) {
		last = getSurface(t, cl, name).Surface
		if ok(last) {
			return last
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("surface %s never got %s; last: %v", name, what, last)
	return nil
}

func register(t *testing.T, cl *ctlclient.Client, token string, n *pb.Node) error {
	t.Helper()
	rid := ctlclient.NewRequestID()
	return cl.Node(ctxT(t, 10*time.Second), func(ctx context.Context, c pb.NodeServiceClient) error {
		_, err := c.Register(ctx, &pb.RegisterRequest{RequestId: rid, JoinToken: token, Node: n})
		return err
	})
}

// TestClusterAPI drives the operator and node APIs through a follower only: writes
// and linearizable reads are forwarded, nodes register with the join token, the
// scheduler places a surface with a standby, and when the primary's lease expires
// the standby is promoted with a higher epoch.
func TestClusterAPI(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, nil)
	l := tc.waitLeader(5 * time.Second)
	f := (l + 1) % 3
	cl := tc.client(f)
	ctx := ctxT(t, 60*time.Second)

	// Health: every member serves once a leader is known.
	for i := range 3 {
		conn, _ := grpc.NewClient(tc.cfgs[i].BindAddr, grpc.WithTransportCredentials(mustCreds(t)))
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: pb.ClusterService_ServiceDesc.ServiceName})
			if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("health of controller %d: %v %v", i, resp, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		conn.Close()
	}

	var token string
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
		if err == nil {
			token = r.Token
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		b, err := os.ReadFile(filepath.Join(tc.cfgs[i].DataDir, "join-token"))
		if err != nil || strings.TrimSpace(string(b)) != token {
			t.Errorf("controller %d join-token file = %q, %v; want %q", i, b, err, token)
		}
	}
	if err := register(t, cl, "wrong", &pb.Node{Id: "n1"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("register with a wrong token: %v, want Unauthenticated", err)
	}
	for _, id := range []string{"n1", "n2"} {
		if err := register(t, cl, token, &pb.Node{Id: id, Address: id + ":7100", Capacity: &pb.NodeCapacity{Cores: 4}}); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
	}
	stop1 := heartbeater(t, cl, "n1", token, nil)
	defer stop1()
	stop2 := heartbeater(t, cl, "n2", token, func() []*pb.ShardStats {
		return []*pb.ShardStats{{Surface: "nauvis", Role: pb.ShardRole_SHARD_ROLE_STANDBY, ConfirmedTick: 600, TickCostUs: 2000, UpsMilli: 60000}}
	})
	defer stop2()

	rid := ctlclient.NewRequestID()
	create := func() error {
		return cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: rid, Name: "nauvis", Seed: 7, Replicas: 2})
			return err
		})
	}
	if err := create(); err != nil {
		t.Fatalf("create via follower: %v", err)
	}
	if err := create(); err != nil {
		t.Fatalf("retry with the same request ID must return the first outcome, got %v", err)
	}
	err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis"})
		return err
	})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second create with a new request ID: %v, want AlreadyExists", err)
	}

	placed := waitSurface(t, cl, "nauvis", "a primary and a standby", func(s *pb.Surface) bool {
		return s.Assignment.Primary != "" && len(s.Assignment.Standbys) == 1
	})
	if placed.Assignment.Primary == placed.Assignment.Standbys[0] {
		t.Fatalf("primary and standby on the same node: %v", placed.Assignment)
	}
	// Put the primary on n1 so that killing n1 means promoting n2.
	if placed.Assignment.Primary != "n1" {
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.PinSurface(ctx, &pb.PinSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis", Node: "n1"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		placed = waitSurface(t, cl, "nauvis", "primary n1", func(s *pb.Surface) bool { return s.Assignment.Primary == "n1" })
		cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.PinSurface(ctx, &pb.PinSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis"})
			return err
		})
	}

	// Only a standby that holds every confirmed tick may be promoted: the primary
	// says when it has caught up. A report from a node that is not the primary, or
	// for an old epoch, changes nothing.
	updateReplicas := func(node string, epoch uint64) error {
		return cl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.UpdateReplicas(ctx, &pb.UpdateReplicasRequest{RequestId: ctlclient.NewRequestID(), NodeId: node, Surface: "nauvis", Epoch: epoch, Synced: []string{"n2"}})
			return err
		})
	}
	if err := updateReplicas("n2", placed.Assignment.Epoch); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a standby reporting itself synced: %v, want FailedPrecondition", err)
	}
	if err := updateReplicas("n1", placed.Assignment.Epoch-1); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a report for an old epoch: %v, want FailedPrecondition", err)
	}
	if err := updateReplicas("n1", placed.Assignment.Epoch); err != nil {
		t.Fatal(err)
	}
	synced := waitSurface(t, cl, "nauvis", "n2 synced", func(s *pb.Surface) bool { return slices.Contains(s.Assignment.Synced, "n2") })
	if synced.Assignment.Epoch != placed.Assignment.Epoch {
		t.Fatalf("marking a standby synced changed the epoch %d -> %d", placed.Assignment.Epoch, synced.Assignment.Epoch)
	}

	stop1()
	moved := waitSurface(t, cl, "nauvis", "primary n2 after n1 died", func(s *pb.Surface) bool { return s.Assignment.Primary == "n2" })
	if moved.Assignment.Start != pb.PrimaryStart_PRIMARY_START_PROMOTED || moved.Assignment.PrimarySince != moved.Assignment.Epoch {
		t.Errorf("promotion recorded as %v since %d (epoch %d)", moved.Assignment.Start, moved.Assignment.PrimarySince, moved.Assignment.Epoch)
	}
	if moved.Assignment.Epoch <= placed.Assignment.Epoch {
		t.Fatalf("epoch did not grow on failover: %d -> %d", placed.Assignment.Epoch, moved.Assignment.Epoch)
	}
	if !strings.Contains(moved.PlacementError, "placed 0 of 1 standbys") {
		t.Errorf("placement error = %q, want the standby shortage explained", moved.PlacementError)
	}
	got := getSurface(t, cl, "nauvis")
	if got.Surface.Stats == nil || len(got.Surface.Stats.Shards) == 0 {
		t.Errorf("surface stats from heartbeats missing: %v", got.Surface.Stats)
	}
	kinds := map[string]bool{}
	for _, e := range got.Events {
		kinds[e.Kind] = true
	}
	for _, k := range []string{"surface.created", "surface.placed", "surface.unplaced"} {
		if !kinds[k] {
			t.Errorf("surface events lack %s: %v", k, got.Events)
		}
	}
	var node *pb.GetNodeResponse
	cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		node, err = c.GetNode(ctx, &pb.GetNodeRequest{Id: "n1"})
		return err
	})
	if node.GetNode().GetStatus() != pb.NodeStatus_NODE_STATUS_DOWN {
		t.Errorf("n1 status = %v, want down", node.GetNode().GetStatus())
	}

	// Watch from the start replays the full state, then events follow.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	conn, _ := grpc.NewClient(tc.cfgs[f].BindAddr, grpc.WithTransportCredentials(mustCreds(t)))
	defer conn.Close()
	ws, err := pb.NewClusterServiceClient(conn).Watch(wctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ws.Recv()
	if err != nil || first.GetFullState() == nil || len(first.GetFullState().Surfaces) != 1 {
		t.Fatalf("first watch message: %v %v", first, err)
	}
	cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.SetSurfaceReplicas(ctx, &pb.SetSurfaceReplicasRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis", Replicas: 1})
		return err
	})
	for {
		m, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetEvent().GetKind() == "surface.replicas" {
			break
		}
	}
}

func mustCreds(t *testing.T) credentials.TransportCredentials {
	c, err := ctlclient.Credentials(tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUnplaceableSurfaceSaysWhy(t *testing.T) {
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
	if err := register(t, cl, token, &pb.Node{Id: "n1", Bundles: []string{strings.Repeat("a", 64)}}); err != nil {
		t.Fatal(err)
	}
	defer heartbeater(t, cl, "n1", token, nil)()
	cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "gleba", BundleHash: "91c2beef" + strings.Repeat("0", 56)})
		return err
	})
	s := waitSurface(t, cl, "gleba", "a placement error", func(s *pb.Surface) bool { return s.PlacementError != "" })
	if !strings.Contains(s.PlacementError, "bundle mismatch: surface gleba needs bundle (91c2beef") || !strings.Contains(s.PlacementError, "node n1 has (aaaaaaaaaaaa") {
		t.Fatalf("placement error %q does not name the missing bundle", s.PlacementError)
	}
}

func TestSnapshotBackupRestore(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, nil)
	cl := tc.client()
	ctx := ctxT(t, 60*time.Second)
	mk := func(name string) {
		t.Helper()
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		var names []string
		cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			r, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{})
			names = nil
			for _, s := range r.GetSurfaces() {
				names = append(names, s.Name)
			}
			return err
		})
		return names
	}
	mk("a")
	mk("b")
	var buf bytes.Buffer
	if _, err := cl.SaveSnapshot(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	mk("c")
	if _, err := cl.RestoreSnapshot(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(list(), ","); got != "a,b" {
		t.Fatalf("after restore surfaces = %s, want a,b", got)
	}
	// Every controller has the restored state.
	for i := range 3 {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			tc.get(i).fsm.read(func(s *state) { n = len(s.surfaces) })
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("controller %d has %d surfaces after restore", i, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := cl.RestoreSnapshot(ctx, strings.NewReader("garbage")); err == nil || !strings.Contains(err.Error(), "not a Starlane controller backup") {
		t.Fatalf("restore of garbage: %v", err)
	}
}

// TestHealthAndReflection: a controller that knows no leader reports NOT_SERVING,
// and server reflection lists the public services (so grpcurl works).
func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, 0)
	cfg.Join = []string{"127.0.0.1:1"} // nobody there: no leader ever
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(false)
	conn, err := grpc.NewClient(c.APIAddr(), grpc.WithTransportCredentials(mustCreds(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := ctxT(t, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health without a leader = %v, %v; want NOT_SERVING", resp, err)
	}
	// Writes fail fast with UNAVAILABLE instead of hanging.
	_, err = pb.NewClusterServiceClient(conn).CreateSurface(ctx, &pb.CreateSurfaceRequest{Name: "x"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("write without a leader: %v, want Unavailable", err)
	}

	rc, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	for _, want := range []string{"starlane.v1.ClusterService", "starlane.v1.NodeService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

// TestMembership: joins are idempotent, a graceful shutdown of the leader
// transfers leadership instead of leaving the cluster to time out, and removing
// the leader hands leadership over first.
func TestMembership(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, nil)
	cl := tc.client()
	ctx := ctxT(t, 60*time.Second)
	peers := func() []*pb.ControllerPeer {
		t.Helper()
		var out []*pb.ControllerPeer
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			st, err := c.GetStatus(ctx, &pb.GetStatusRequest{})
			out = st.GetPeers()
			if err == nil && st.LeaderId == "" {
				return status.Error(codes.Unavailable, "no leader yet")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if n := len(peers()); n != 3 {
		t.Fatalf("%d peers, want 3", n)
	}
	// Joining again with the same ID and address changes nothing.
	c2 := tc.get(1)
	for _, voter := range []bool{false, true} {
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.JoinController(ctx, &pb.JoinControllerRequest{RequestId: ctlclient.NewRequestID(), Id: c2.ID(), RaftAddress: c2.RaftAddr(), ApiAddress: c2.APIAddr(), Voter: voter})
			return err
		}); err != nil {
			t.Fatalf("repeated join: %v", err)
		}
	}
	for _, p := range peers() {
		if p.Suffrage != "voter" {
			t.Fatalf("repeated join changed %s to %s", p.Id, p.Suffrage)
		}
	}

	// A graceful shutdown of the leader hands leadership over before it stops: a
	// new leader is there at once, sooner than the 300 ms heartbeat timeout after
	// which the followers would even start an election.
	l := tc.waitLeader(5 * time.Second)
	if err := tc.get(l).Shutdown(true); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	raftLeader := func() bool {
		for i := range 3 {
			if c := tc.get(i); i != l && c != nil && c.Raft().State() == raft.Leader {
				return true
			}
		}
		return false
	}
	for !raftLeader() {
		if time.Since(stopped) > 250*time.Millisecond {
			t.Fatal("graceful shutdown of the leader did not hand leadership over")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tc.kill(l) // forget the stopped instance
	tc.start(l)
	tc.waitVoters(3, 20*time.Second)

	// Remove the leader: it hands over first, then the new leader removes it.
	l = tc.waitLeader(5 * time.Second)
	old := tc.get(l).ID()
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.RemoveController(ctx, &pb.RemoveControllerRequest{RequestId: ctlclient.NewRequestID(), Id: old})
		return err
	}); err != nil {
		t.Fatalf("remove the leader: %v", err)
	}
	// The removed controller still runs and may answer with its own, stale view (it
	// is not sent the configuration that removes it): ask until a member answers.
	ps := peers()
	for deadline := time.Now().Add(5 * time.Second); len(ps) != 2 && time.Now().Before(deadline); ps = peers() {
		time.Sleep(50 * time.Millisecond)
	}
	if len(ps) != 2 {
		t.Fatalf("after removing %s: peers %v", old, ps)
	}
	for _, p := range ps {
		if p.Id == old {
			t.Fatalf("removed controller %s is still a peer", old)
		}
	}
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.RemoveController(ctx, &pb.RemoveControllerRequest{RequestId: ctlclient.NewRequestID(), Id: "nobody"})
		return err
	}); status.Code(err) != codes.NotFound {
		t.Fatalf("remove an unknown controller: %v, want NotFound", err)
	}
}

// A request_id reused for another request is refused, not answered with the
// first request's outcome (which reported a write done that never happened);
// the same request again is a retry and gets the first outcome.
func TestRequestIDReusedForAnotherRequestIsRefused(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 1, false, nil)
	l := tc.waitLeader(5 * time.Second)
	cl := tc.client(l)
	ctx := ctxT(t, 30*time.Second)
	var first *pb.CreateSurfaceResponse
	call := func(f func(c pb.ClusterServiceClient) error) error {
		return cl.Cluster(ctx, func(_ context.Context, c pb.ClusterServiceClient) error { return f(c) })
	}
	if err := call(func(c pb.ClusterServiceClient) (err error) {
		first, err = c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: "rid-1", Name: "a", Map: "empty"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var again *pb.CreateSurfaceResponse
	if err := call(func(c pb.ClusterServiceClient) (err error) {
		again, err = c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: "rid-1", Name: "a", Map: "empty"})
		return err
	}); err != nil || again.Index != first.Index {
		t.Fatalf("a retry of the same request: %v, index %d; want the first outcome (index %d)", err, again.GetIndex(), first.Index)
	}
	for name, f := range map[string]func(c pb.ClusterServiceClient) error{
		"another surface": func(c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: "rid-1", Name: "b", Map: "empty"})
			return err
		},
		"another method": func(c pb.ClusterServiceClient) error {
			_, err := c.DeleteSurface(ctx, &pb.DeleteSurfaceRequest{RequestId: "rid-1", Name: "a"})
			return err
		},
	} {
		if err := call(f); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `request_id "rid-1" was already used for another request`) {
			t.Errorf("%s under a used request_id: %v, want InvalidArgument", name, err)
		}
	}
	if err := call(func(c pb.ClusterServiceClient) error {
		_, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: "a"})
		return err
	}); err != nil {
		t.Errorf("surface a after the refused delete: %v", err)
	}
}

// Lists page through every record with the tokens they return, and refuse a
// token that is not one of theirs instead of answering with an empty last page.
func TestListPagesAndRefusesForeignTokens(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 1, false, nil)
	l := tc.waitLeader(5 * time.Second)
	cl := tc.client(l)
	ctx := ctxT(t, 30*time.Second)
	err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			if _, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: "create-" + n, Name: n, Map: "empty"}); err != nil {
				return err
			}
		}
		var names []string
		token := ""
		for pages := 0; ; pages++ {
			r, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{PageSize: 2, PageToken: token})
			if err != nil {
				return err
			}
			for _, s := range r.Surfaces {
				names = append(names, s.Name)
			}
			if token = r.NextPageToken; token == "" || pages > 5 {
				break
			}
		}
		if strings.Join(names, ",") != "a,b,c,d,e" {
			t.Errorf("paged through %v, want a..e", names)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Players page too (self-registration makes them many).
	err = cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		ac := pb.NewAccessServiceClient(cc)
		for _, n := range []string{"p1", "p2", "p3"} {
			if _, err := ac.CreatePlayer(ctx, &pb.CreatePlayerRequest{RequestId: "player-" + n, Name: n}); err != nil {
				return err
			}
		}
		first, err := ac.ListPlayers(ctx, &pb.ListPlayersRequest{PageSize: 2})
		if err != nil {
			return err
		}
		rest, err := ac.ListPlayers(ctx, &pb.ListPlayersRequest{PageSize: 2, PageToken: first.NextPageToken})
		if err != nil {
			return err
		}
		if len(first.Players) != 2 || len(rest.Players) != 1 || rest.NextPageToken != "" || rest.Players[0].Name != "p3" {
			t.Errorf("players in pages of 2: %v then %v (next %q)", first.Players, rest.Players, rest.NextPageToken)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		for _, bad := range []string{"zzz", "bridges:a", "surfaces:"} {
			_, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{PageToken: bad})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "is not a next_page_token of the surfaces list") {
				t.Errorf("page_token %q: %v, want InvalidArgument", bad, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
