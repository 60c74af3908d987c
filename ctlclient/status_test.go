package ctlclient

import (
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func TestSurfaceStatus(t *testing.T) {
	t.Parallel()
	placed := &pb.Assignment{Primary: "n1", Epoch: 3}
	live := &pb.SurfaceStats{Tick: 600, Shards: []*pb.NodeShardStats{{Node: "n1", Stats: &pb.ShardStats{Role: pb.ShardRole_SHARD_ROLE_PRIMARY, Epoch: 3}}}}
	failed := &pb.SurfaceStats{Shards: []*pb.NodeShardStats{{Node: "n1", Stats: &pb.ShardStats{Role: pb.ShardRole_SHARD_ROLE_PRIMARY, Error: "store corrupt: checksum mismatch"}}}}
	starting := &pb.SurfaceStats{Shards: []*pb.NodeShardStats{{Node: "n1", Stats: &pb.ShardStats{Role: pb.ShardRole_SHARD_ROLE_PRIMARY, Error: "starting"}}}}
	standbyFailed := &pb.SurfaceStats{Shards: []*pb.NodeShardStats{{Node: "n2", Stats: &pb.ShardStats{Role: pb.ShardRole_SHARD_ROLE_STANDBY, Error: "disk full: no space"}}}}
	for _, tc := range []struct {
		name    string
		s       *pb.Surface
		want    string
		healthy bool
	}{
		{"placed", &pb.Surface{Assignment: placed, Stats: live, Replicas: 1}, "placed", true},
		{"stopped", &pb.Surface{Stopped: true, Assignment: &pb.Assignment{Epoch: 4}}, "stopped", false},
		{"stopping", &pb.Surface{StopRequested: true, Assignment: placed, Stats: live}, "stopping", false},
		{"failed", &pb.Surface{Assignment: placed, Stats: failed, PlacementError: "x"}, "failed: store corrupt on n1", false},
		{"starting is not failed", &pb.Surface{Assignment: placed, Stats: starting, Replicas: 1}, "placed", true},
		{"a standby's failure is not the surface's", &pb.Surface{Assignment: placed, Stats: standbyFailed, Replicas: 1}, "placed", true},
		{"stale", &pb.Surface{Assignment: placed, Stats: &pb.SurfaceStats{Stale: true, AgeMs: 7400}}, "stale: n1 silent for 7s", false},
		{"problem", &pb.Surface{PlacementError: "no node has room"}, "problem: no node has room", false},
		{"not reporting", &pb.Surface{Assignment: placed}, "placed, not reporting yet", false},
		{"waiting", &pb.Surface{}, "waiting for placement", false},
		{"moving", &pb.Surface{Assignment: placed, Stats: live, Migration: &pb.Migration{Target: "n2"}}, "moving to n2", true},
		{"under-replicated", &pb.Surface{Assignment: placed, Stats: live, Replicas: 2}, "placed, under-replicated", false},
		{"replicated", &pb.Surface{Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2"}, Synced: []string{"n2"}}, Stats: live, Replicas: 2}, "placed", true},
	} {
		got := SurfaceStatus(tc.s)
		if got != tc.want || SurfaceHealthy(got) != tc.healthy {
			t.Errorf("%s: status %q (healthy %v), want %q (healthy %v)", tc.name, got, SurfaceHealthy(got), tc.want, tc.healthy)
		}
	}
}
