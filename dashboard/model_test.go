package dashboard

import (
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func TestBuildNodesStatusAndLoad(t *testing.T) {
	now := int64(100_000)
	nodes := []*pb.Node{
		{Id: "n1", Status: pb.NodeStatus_NODE_STATUS_UP, LastHeartbeatUnixMs: now - 500, Capacity: &pb.NodeCapacity{Cores: 2},
			Shards: []*pb.ShardStats{{Surface: "nauvis", TickCostUs: 5000, UpsMilli: 60000}}},
		{Id: "n2", Status: pb.NodeStatus_NODE_STATUS_UP, LastHeartbeatUnixMs: now - 4000, Cordoned: true},
		{Id: "n3", Status: pb.NodeStatus_NODE_STATUS_DOWN, LastHeartbeatUnixMs: now - 9000},
	}
	surfaces := []*pb.Surface{{Name: "nauvis", Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2"}}}}
	got := buildNodes(nodes, surfaces, now, 1000)
	want := []struct {
		status   string
		cordoned bool
		load     float64
		primary  int
		standby  int
	}{{"up", false, 15, 1, 0}, {"stale", true, 0, 0, 1}, {"down", false, 0, 0, 0}}
	for i, w := range want {
		g := got[i]
		if g.Status != w.status || g.Cordoned != w.cordoned || g.LoadPct != w.load || len(g.Primary) != w.primary || len(g.Standby) != w.standby {
			t.Errorf("node %s: %+v, want status %s cordoned %v load %v%% primaries %d standbys %d", g.ID, g, w.status, w.cordoned, w.load, w.primary, w.standby)
		}
	}
}

func TestBuildSurfaceStandbysAndSPM(t *testing.T) {
	sf := &pb.Surface{Name: "nauvis", Assignment: &pb.Assignment{Primary: "n1", Standbys: []string{"n2", "n3"}, Synced: []string{"n2"}, Epoch: 9},
		Stats: &pb.SurfaceStats{Tick: 600, UpsMilli: 59500,
			Production: &pb.ProductionStats{Items: []*pb.ItemProduction{
				{Item: "automation-science-pack", ConsumedPerMinute: 6}, {Item: "iron-plate", ConsumedPerMinute: 30},
				{Item: "logistic-science-pack", ProducedPerMinute: 3}}},
			Shards: []*pb.NodeShardStats{{Node: "n1", Stats: &pb.ShardStats{Replicas: []*pb.ReplicaStats{
				{Node: "n2", Connected: true, LagTicks: 2}, {Node: "n3", CatchingUp: true, LagTicks: 900}}}}}}}
	s := buildSurface(sf)
	if s.Node != "n1" || s.Epoch != 9 || s.Tick != 600 || s.UPS != 59.5 {
		t.Errorf("surface %+v", s)
	}
	if len(s.SPM) != 1 || s.SPM[0].Pack != "automation-science-pack" || s.SPM[0].PerM != 6 {
		t.Errorf("SPM %+v, want red science consumed at 6/min only (packs consumed, not produced)", s.SPM)
	}
	if len(s.Standbys) != 2 || s.Standbys[0] != (Standby{"n2", true, 2, "following"}) || s.Standbys[1] != (Standby{"n3", false, 900, "catching up"}) {
		t.Errorf("standbys %+v", s.Standbys)
	}
	if s := buildSurface(&pb.Surface{Name: "x"}); s.Problem == "" {
		t.Error("an unplaced surface shows no problem")
	}
}

func TestEventClasses(t *testing.T) {
	for kind, want := range map[string]string{
		"surface.promoted": "failover", "node.down": "failover", "surface.move_started": "move", "surface.handoff": "move",
		"surface.moved": "move", "surface.desync": "desync", "surface.placed": "placement", "surface.standby_synced": "placement",
		"bridge.created": "other",
	} {
		if got := eventClass(kind); got != want {
			t.Errorf("%s: class %s, want %s", kind, got, want)
		}
	}
}
