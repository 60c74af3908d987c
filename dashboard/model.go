package dashboard

import (
	"slices"
	"strings"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Snapshot is what every page shows, built from one round of reads; the pages get it
// rendered by templates first and then as JSON over the event stream.
type Snapshot struct {
	Index       uint64       `json:"index"`
	UnixMS      int64        `json:"unix_ms"`
	Served      string       `json:"served_by"` // the controller serving this dashboard
	Leader      string       `json:"leader"`
	Error       string       `json:"error,omitempty"`
	Controllers []Controller `json:"controllers"`
	Nodes       []Node       `json:"nodes"`
	Surfaces    []Surface    `json:"surfaces"`
	Bridges     []Bridge     `json:"bridges"`
}

// Controller is one member of the Raft group as it answers for itself.
type Controller struct {
	ID       string `json:"id"`
	API      string `json:"api"`
	Raft     string `json:"raft"`
	Suffrage string `json:"suffrage"`
	State    string `json:"state"` // leader, follower, candidate, or unreachable
	Term     uint64 `json:"term"`
	Applied  uint64 `json:"applied"`
	Leader   bool   `json:"leader"`
	Error    string `json:"error,omitempty"`
}

// Node is a worker node with its lease state and load.
type Node struct {
	ID       string   `json:"id"`
	Address  string   `json:"address"`
	Status   string   `json:"status"` // up, stale (heartbeat late), down
	Cordoned bool     `json:"cordoned"`
	Cores    uint32   `json:"cores"`
	LoadPct  float64  `json:"load_pct"` // tick time of its shards over its cores' time
	BeatAgo  int64    `json:"heartbeat_ago_ms"`
	Primary  []string `json:"primaries"`
	Standby  []string `json:"standbys"`
}

// Surface is one surface with its placement and live stats.
type Surface struct {
	Name   string `json:"name"`
	Planet string `json:"planet"`
	Map    string `json:"map"`
	Node   string `json:"node"`
	Epoch  uint64 `json:"epoch"`
	// Status is the STATUS column of `starlane surface list` (ctlclient.SurfaceStatus):
	// placed, stopped, failed: KIND on NODE, stale: …, problem: …, …; Healthy says
	// whether it needs no attention (placed, or moving), and the page highlights
	// the others.
	Status    string     `json:"status"`
	Healthy   bool       `json:"healthy"`
	Tick      uint64     `json:"tick"`
	Confirmed uint64     `json:"confirmed_tick"`
	UPS       float64    `json:"ups"`
	Entities  uint64     `json:"entities"`
	SPM       []PackRate `json:"spm"`
	Standbys  []Standby  `json:"standbys"`
	Moving    string     `json:"moving,omitempty"` // target of a live move in progress
	Problem   string     `json:"problem,omitempty"`
	History   []float64  `json:"ups_history"` // UPS, one point per stats round, oldest first
	Replicas  uint32     `json:"replicas"`
}

// PackRate is a science pack's consumption per minute.
type PackRate struct {
	Pack string  `json:"pack"`
	PerM float64 `json:"per_minute"`
}

// Standby is one standby copy of a surface.
type Standby struct {
	Node   string `json:"node"`
	Synced bool   `json:"synced"`
	Lag    uint64 `json:"lag_ticks"`
	State  string `json:"state"`
}

// Bridge is a bridge between two surfaces with its flow.
type Bridge struct {
	ID          string  `json:"id"`
	From        string  `json:"from"`
	FromPort    string  `json:"from_port"`
	To          string  `json:"to"`
	ToPort      string  `json:"to_port"`
	ItemsPerSec float64 `json:"items_per_second"`
	InFlight    int64   `json:"in_flight"`
	Moved       int64   `json:"moved"`
	Connected   bool    `json:"connected"`
	Error       string  `json:"error,omitempty"`
}

// Event is one entry of the cluster's event log.
type Event struct {
	Index   uint64 `json:"index"`
	Seq     uint64 `json:"seq"`
	UnixMS  int64  `json:"unix_ms"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Message string `json:"message"`
	// Class groups kinds for colour: placement, failover, move, desync, other.
	Class string `json:"class"`
}

func eventOf(e *pb.Event) Event {
	return Event{Index: e.Index, Seq: e.Seq, UnixMS: e.UnixMs, Kind: e.Kind, Subject: e.Subject, Message: e.Message, Class: eventClass(e.Kind)}
}

func eventClass(kind string) string {
	switch {
	case kind == "surface.promoted" || kind == "node.down":
		return "failover"
	case strings.Contains(kind, "move") || strings.Contains(kind, "handoff"):
		return "move"
	case strings.Contains(kind, "desync"):
		return "desync"
	case strings.Contains(kind, "placed") || strings.Contains(kind, "placement") || strings.Contains(kind, "unassigned") || strings.Contains(kind, "refused") || strings.Contains(kind, "standby"):
		return "placement"
	}
	return "other"
}

// staleAfter is how late a heartbeat may be before a node that is still up shows as
// stale (the controller marks it down only at the lease TTL).
const staleAfterBeats = 3

func buildNodes(nodes []*pb.Node, surfaces []*pb.Surface, nowMS, beatMS int64) []Node {
	var out []Node
	for _, n := range nodes {
		nd := Node{ID: n.Id, Address: n.Address, Cordoned: n.Cordoned, Cores: n.GetCapacity().GetCores()}
		switch {
		case n.Status != pb.NodeStatus_NODE_STATUS_UP:
			nd.Status = "down"
		case n.LastHeartbeatUnixMs > 0 && nowMS-n.LastHeartbeatUnixMs > staleAfterBeats*beatMS:
			nd.Status = "stale"
		default:
			nd.Status = "up"
		}
		if n.LastHeartbeatUnixMs > 0 {
			nd.BeatAgo = max(0, nowMS-n.LastHeartbeatUnixMs)
		}
		var costUS float64
		for _, sh := range n.Shards {
			// A tick is due every 1/60 s: a shard's share of a core is its tick cost
			// times its UPS.
			costUS += float64(sh.TickCostUs) * float64(sh.UpsMilli) / 1000
		}
		if cores := max(1, nd.Cores); n.Status == pb.NodeStatus_NODE_STATUS_UP {
			nd.LoadPct = costUS / 1e6 / float64(cores) * 100
		}
		for _, sf := range surfaces {
			a := sf.GetAssignment()
			if a.GetPrimary() == n.Id {
				nd.Primary = append(nd.Primary, sf.Name)
			} else if slices.Contains(a.GetStandbys(), n.Id) {
				nd.Standby = append(nd.Standby, sf.Name)
			}
		}
		out = append(out, nd)
	}
	return out
}

func buildSurface(sf *pb.Surface) Surface {
	a := sf.GetAssignment()
	st := sf.GetStats()
	out := Surface{Name: sf.Name, Planet: sf.Planet, Map: sf.Map, Node: a.GetPrimary(), Epoch: a.GetEpoch(), Replicas: sf.Replicas,
		Tick: st.GetTick(), Confirmed: st.GetConfirmedTick(), UPS: float64(st.GetUpsMilli()) / 1000, Entities: st.GetEntityCount(),
		Problem: sf.PlacementError, Moving: sf.GetMigration().GetTarget(), Status: ctlclient.SurfaceStatus(sf)}
	out.Healthy = ctlclient.SurfaceHealthy(out.Status)
	switch {
	case sf.Stopped:
		out.Problem = "stopped (starlane surface start " + sf.Name + ")"
	case sf.StopRequested:
		out.Problem = "stopping: its primary is taking its final save"
	}
	for _, it := range st.GetProduction().GetItems() {
		if strings.HasSuffix(it.Item, "-science-pack") && it.ConsumedPerMinute > 0 {
			out.SPM = append(out.SPM, PackRate{Pack: it.Item, PerM: it.ConsumedPerMinute})
		}
	}
	// The primary reports how each standby keeps up.
	var reps []*pb.ReplicaStats
	for _, sh := range st.GetShards() {
		if sh.Node == a.GetPrimary() {
			reps = sh.GetStats().GetReplicas()
		}
	}
	for _, n := range a.GetStandbys() {
		sb := Standby{Node: n, Synced: slices.Contains(a.GetSynced(), n), State: "not reporting"}
		for _, r := range reps {
			if r.Node == n {
				sb.Lag = r.LagTicks
				switch {
				case r.CatchingUp:
					sb.State = "catching up"
				case r.Connected:
					sb.State = "following"
				default:
					sb.State = "disconnected"
				}
			}
		}
		out.Standbys = append(out.Standbys, sb)
	}
	if out.Node == "" && out.Problem == "" {
		out.Problem = "not placed yet"
	}
	return out
}

func buildBridge(b *pb.Bridge) Bridge {
	out := Bridge{ID: b.Id, From: b.FromSurface, FromPort: b.FromPort, To: b.ToSurface, ToPort: b.ToPort}
	st := b.GetStatus()
	for _, it := range st.GetItems() {
		out.InFlight += it.Inflight
		out.Moved += it.Delivered
	}
	if s := st.GetSender(); s != nil {
		out.ItemsPerSec = s.ItemsPerSecond
		out.Connected = s.Connected
		out.Error = s.Error
	}
	if r := st.GetReceiver(); r != nil && out.Error == "" {
		out.Error = r.Error
	}
	return out
}
