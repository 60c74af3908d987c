package controller

import (
	"context"
	"testing"
	"time"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestPeersShowADownController: cluster status and cluster peers say which
// controller does not answer and for how long, whichever controller answers
// (the leader from its heartbeats, a follower by asking the leader), and every
// controller shows as up while all run.
func TestPeersShowADownController(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, nil)
	leader := tc.waitLeader(15 * time.Second)
	victim, other := (leader+1)%3, (leader+2)%3
	ctx := ctxT(t, 60*time.Second)

	health := func(cl *ctlclient.Client, list bool) map[string]*pb.ControllerPeer {
		var peers []*pb.ControllerPeer
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			if list {
				r, err := c.ListControllers(ctx, &pb.ListControllersRequest{})
				peers = r.GetPeers()
				return err
			}
			r, err := c.GetStatus(ctx, &pb.GetStatusRequest{})
			peers = r.GetPeers()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*pb.ControllerPeer{}
		for _, p := range peers {
			out[p.Id] = p
		}
		return out
	}
	for _, i := range []int{leader, other} {
		for id, p := range health(tc.client(i), false) {
			if p.Health != "up" {
				t.Errorf("with all running, %s says %s is %q", tc.cfgs[i].ID, id, p.Health)
			}
		}
	}

	tc.kill(victim)
	vid := tc.cfgs[victim].ID
	for _, who := range []struct {
		i    int
		list bool
	}{{leader, false}, {other, true}, {other, false}} {
		cl := tc.client(who.i)
		waitFor(t, 15*time.Second, tc.cfgs[who.i].ID+" to report "+vid+" unreachable", func() bool {
			h := health(cl, who.list)
			return h[vid].GetHealth() == "unreachable" && h[vid].GetUnreachableMs() > 0 &&
				h[tc.cfgs[leader].ID].GetHealth() == "up" && h[tc.cfgs[other].ID].GetHealth() == "up"
		})
	}
}
