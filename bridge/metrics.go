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

// rateMeter counts stacks and items in one-second buckets and reports the rates over
// the last rateWindow seconds.
type rateMeter struct {
	mu      sync.Mutex
	buckets [rateWindow]struct {
		sec           int64
		stacks, items int64
	}
}

const rateWindow = 10

func (r *rateMeter) add(now time.Time, items int64) {
	r.mu.Lock()
	sec := now.Unix()
	b := &r.buckets[sec%rateWindow]
	if b.sec != sec {
		b.sec, b.stacks, b.items = sec, 0, 0
	}
	b.stacks++
	b.items += items
	r.mu.Unlock()
}

func (r *rateMeter) rate(now time.Time) (stacks, items float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sec := now.Unix()
	for _, b := range r.buckets {
		if b.sec > sec-rateWindow && b.sec <= sec {
			stacks += float64(b.stacks)
			items += float64(b.items)
		}
	}
	return stacks / rateWindow, items / rateWindow
}

// latencyRing keeps the latest latency samples for percentiles.
type latencyRing struct {
	samples []float64
	next    int
}

const latencySamples = 4096

func (l *latencyRing) add(v float64) {
	if len(l.samples) < latencySamples {
		l.samples = append(l.samples, v)
		return
	}
	l.samples[l.next] = v
	l.next = (l.next + 1) % latencySamples
}

// percentiles returns the median and the 99th percentile of the kept samples.
func (l *latencyRing) percentiles() (p50, p99 float64) {
	if len(l.samples) == 0 {
		return 0, 0
	}
	s := append([]float64(nil), l.samples...)
	sort.Float64s(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

func sortStrings(s []string) { sort.Strings(s) }
