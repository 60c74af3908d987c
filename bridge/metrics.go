package bridge

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bridge metrics a node exports.
type Metrics struct {
	items    *prometheus.CounterVec
	inflight *prometheus.GaugeVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the bridge metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_bridge_items_total",
			Help: "Items moved by this end of a bridge: delivered to the destination (receiver) or acknowledged (sender)."}, []string{"bridge", "side"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_bridge_inflight",
			Help: "Outbox entries of a bridge not yet acknowledged by its destination."}, []string{"bridge"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_bridge_latency_ticks",
			Help:    "Ticks (of 1/60 s) from an entry's release by the sender to its application in a confirmed tick at the receiver.",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 30, 60, 120, 300}}, []string{"bridge"}),
	}
	if reg != nil {
		reg.MustRegister(m.items, m.inflight, m.latency)
	}
	return m
}

// rateMeter counts stacks and items and reports their rates since it was last read.
type rateMeter struct {
	mu     sync.Mutex
	stacks int64
	items  int64
	since  time.Time
}

func (r *rateMeter) add(items int64) {
	r.mu.Lock()
	r.stacks++
	r.items += items
	r.mu.Unlock()
}

func (r *rateMeter) rate(now time.Time) (stacks, items float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.since.IsZero() {
		if d := now.Sub(r.since).Seconds(); d > 0 {
			stacks, items = float64(r.stacks)/d, float64(r.items)/d
		}
	}
	r.stacks, r.items, r.since = 0, 0, now
	return stacks, items
}

func sortStrings(s []string) { sort.Strings(s) }
