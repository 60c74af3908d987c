// Package replica streams a surface's state from its primary to its standbys over
// ReplicationService: a Source (beside the primary's shard) serves each standby's
// Follow stream with a checkpoint when needed, then every executed tick, the
// checkpoints the primary takes and its player table, and feeds the standbys'
// acknowledgements back to the shard, whose confirmation waits for them. A
// Follower (beside a standby shard) keeps the stream to the primary open, appends
// what arrives to the standby's copy, acknowledges it once durable, reports hot
// standby desyncs, and says when it has lost the primary. It also runs the
// primary's side of a live migration's handoff. The state machines themselves
// live in package shard; see shard/DESIGN.md.
package replica

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// Config holds what both ends share.
type Config struct {
	// Node is this node's ID.
	Node    string
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// HashEvery is how often (ticks) hot standbys compare state hashes (60).
	HashEvery uint32
	// MaxTicks bounds the ticks of one message (256).
	MaxTicks int
	// Keepalive is how often an idle primary tells its standbys it is alive (200ms).
	Keepalive time.Duration
	// IdleDelay is how long ticks without inputs on a surface no player or bridge
	// watches may wait to be sent to its standbys with later ones (0: each is sent at
	// once). Such ticks wait as long for the node's group commit, so their
	// confirmation is no later for it; a freeze (handoff) sends them at once.
	IdleDelay time.Duration
	// AwaitPrimary is how long a Follow stream naming a surface this node does not
	// serve yet, or a newer epoch than its shard's, waits for that promotion to land
	// before it is refused (500ms).
	AwaitPrimary time.Duration
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HashEvery == 0 {
		c.HashEvery = 60
	}
	if c.MaxTicks <= 0 {
		c.MaxTicks = 256
	}
	if c.Keepalive <= 0 {
		c.Keepalive = 200 * time.Millisecond
	}
	if c.AwaitPrimary <= 0 {
		c.AwaitPrimary = 500 * time.Millisecond
	}
}

const checkpointChunk = 1 << 20

// Metrics are the replication metrics of a node, labelled by surface (and standby).
type Metrics struct {
	lagTicks, lagBytes *prometheus.GaugeVec
	sentBytes          *prometheus.CounterVec
	checkpoints        *prometheus.CounterVec
	following          *prometheus.GaugeVec
	handoffSeconds     prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lagTicks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_replication_lag_ticks",
			Help: "Executed ticks of a primary that a standby does not hold yet."}, []string{"surface", "standby"}),
		lagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_replication_lag_bytes",
			Help: "Bytes of replicated ticks (and checkpoint) a standby has not acknowledged yet."}, []string{"surface", "standby"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_replication_sent_bytes_total",
			Help: "Bytes a primary sent to a standby (ticks and checkpoints)."}, []string{"surface", "standby"}),
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_replication_checkpoints_sent_total",
			Help: "Checkpoints a primary sent to standbys (to start a copy, or to let it truncate its log)."}, []string{"surface"}),
		following: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_standby_following",
			Help: "1 while a standby follows its primary's replication stream."}, []string{"surface"}),
		handoffSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "starlane_handoff_wait_seconds",
			Help:    "Time a primary stood frozen in a handoff until the target held its last tick.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2}}),
	}
	if reg != nil {
		reg.MustRegister(m.lagTicks, m.lagBytes, m.sentBytes, m.checkpoints, m.following, m.handoffSeconds)
	}
	return m
}

func toReplicated(ts []*pb.ReplicaTick) []shard.Replicated {
	out := make([]shard.Replicated, len(ts))
	for i, t := range ts {
		in := make([]shard.Input, len(t.Inputs))
		for k, x := range t.Inputs {
			in[k] = shard.Input{Player: x.Player, Data: x.Data}
		}
		out[i] = shard.Replicated{Tick: t.Tick, PrevHash: t.PrevHash, Hash: t.Hash, Inputs: in}
	}
	return out
}

func fromRecords(recs []shard.Record) ([]*pb.ReplicaTick, int64) {
	out := make([]*pb.ReplicaTick, len(recs))
	var size int64
	for i, r := range recs {
		t := &pb.ReplicaTick{Tick: r.Tick, PrevHash: r.PrevHash, Hash: r.Hash, Inputs: make([]*pb.Input, len(r.Inputs))}
		size += 24
		for k, in := range r.Inputs {
			t.Inputs[k] = &pb.Input{Player: in.Player, Data: in.Data}
			size += int64(len(in.Data)) + 4
		}
		out[i] = t
	}
	return out, size
}

func playerNames(m map[string]uint32) []*pb.PlayerName {
	out := make([]*pb.PlayerName, 0, len(m))
	for n, id := range m {
		out = append(out, &pb.PlayerName{Name: n, Id: id})
	}
	return out
}
