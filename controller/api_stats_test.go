package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestWatchStats: the leader pushes each heartbeat's stats to a WatchStats stream
// without being asked again, and a follower sends the caller to the leader.
func TestWatchStats(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, nil)
	l := tc.waitLeader(5 * time.Second)
	f := (l + 1) % 3
	cl := tc.client(l)
	ctx := ctxT(t, 60*time.Second)

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
	if err := register(t, cl, token, &pb.Node{Id: "n1", Address: "127.0.0.1:1", Capacity: &pb.NodeCapacity{Cores: 2}}); err != nil {
		t.Fatal(err)
	}
	var tick atomic.Uint64
	stop := heartbeater(t, cl, "n1", token, func() []*pb.ShardStats {
		return []*pb.ShardStats{{Surface: "nauvis", Tick: tick.Load(), UpsMilli: 60000}}
	})
	defer stop()

	dial := func(i int) pb.StatsServiceClient {
		conn, err := grpc.NewClient(tc.cfgs[i].BindAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return pb.NewStatsServiceClient(conn)
	}

	// A follower answers UNAVAILABLE and names the leader.
	fs, err := dial(f).WatchStats(ctx, &pb.WatchStatsRequest{})
	if err == nil {
		_, err = fs.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("WatchStats on a follower: %v, want UNAVAILABLE", err)
	}
	if got := fs.Trailer().Get(leaderTrailer); len(got) != 1 || got[0] != tc.cfgs[l].BindAddr {
		t.Errorf("follower's trailer names leader %v, want %s", got, tc.cfgs[l].BindAddr)
	}

	// The leader's stream shows each new tick the node reports, soon after it does
	// (within statsIdle: pushed by the heartbeat, not by the idle timer). The test
	// cluster's short election timeout can move the leadership on a loaded
	// machine: then the stream ends UNAVAILABLE and is opened again on the new
	// leader, which must stream the same.
	open := func() (pb.StatsService_WatchStatsClient, int) {
		l := tc.waitLeader(10 * time.Second)
		st, err := dial(l).WatchStats(ctx, &pb.WatchStatsRequest{MinIntervalMs: 100})
		if err != nil {
			t.Fatal(err)
		}
		return st, l
	}
	st, l := open()
	for _, want := range []uint64{100, 200, 300} {
		tick.Store(want)
		start := time.Now()
		for {
			m, err := st.Recv()
			if status.Code(err) == codes.Unavailable && time.Since(start) < statsIdle {
				t.Logf("WatchStats: %v; opening it again on the leader", err)
				st, l = open()
				continue
			}
			if err != nil {
				t.Fatalf("WatchStats: %v", err)
			}
			if m.LeaderId != tc.get(l).ID() {
				t.Fatalf("stats from leader %q, want %q", m.LeaderId, tc.get(l).ID())
			}
			var got uint64
			for _, n := range m.Nodes {
				for _, sh := range n.Shards {
					if n.Id == "n1" && sh.Surface == "nauvis" {
						got = sh.Tick
					}
				}
			}
			if got == want {
				break
			}
			if time.Since(start) > statsIdle {
				t.Fatalf("tick %d reported by heartbeat not streamed after %v (last %d)", want, time.Since(start), got)
			}
		}
	}
}
