package shard

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Prometheus metrics of every shard on a node, labelled by surface.
type Metrics struct {
	tickSeconds, simSeconds, overheadSeconds, commitSeconds *prometheus.HistogramVec
	// lateness is node-wide (one series for watched surfaces, one for the rest):
	// per surface it would add a dozen series per surface to every scrape.
	lateness                                            *prometheus.HistogramVec
	ups, entities, tick, confirmed, checkpoint, players *prometheus.GaugeVec
	fenced                                              *prometheus.GaugeVec
	desyncs, skipped, simCPU                            *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	lbl := []string{"surface"}
	tickBuckets := []float64{.0001, .00025, .0005, .001, .002, .004, .008, .0167, .033, .1, .5}
	m := &Metrics{
		tickSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_shard_tick_seconds",
			Help: "Wall time of one whole tick on the primary: sequencing, simulation, capture and hand-off.", Buckets: tickBuckets}, lbl),
		simSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_shard_sim_seconds",
			Help: "Wall time of the simulation's step within a tick.", Buckets: tickBuckets}, lbl),
		overheadSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_shard_overhead_seconds",
			Help: "Tick time spent outside the simulation (the runtime's own cost on the tick goroutine).", Buckets: []float64{.000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .005, .05}}, lbl),
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_shard_log_commit_seconds",
			Help: "Time of one store write the shard waits for (fsync included): a checkpoint with the log before it, or a standby's replicated ticks (a node log group commit).", Buckets: prometheus.ExponentialBuckets(.0001, 2, 14)}, lbl),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "starlane_shard_tick_lateness_seconds",
			Help:    "How late each tick started against its surface's schedule, over all surfaces of the node; watched=true for surfaces players or bridges watch (the others may tick in idle bursts). A tick that started k/60 s late or more ran k ticks behind.",
			Buckets: latenessBuckets}, []string{"watched"}),
		ups:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_ups", Help: "Ticks per second over the last second."}, lbl),
		entities:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_entities", Help: "Live entities on the surface."}, lbl),
		tick:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_tick", Help: "Last executed tick."}, lbl),
		confirmed:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_confirmed_tick", Help: "Last confirmed tick (durable, and at a standby when there are standbys)."}, lbl),
		checkpoint: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_checkpoint_tick", Help: "Tick of the newest checkpoint."}, lbl),
		players:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_players", Help: "Connected player sessions."}, lbl),
		fenced:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starlane_shard_fenced", Help: "1 while the shard has stopped sequencing because its node's lease expired."}, lbl),
		desyncs:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_shard_desyncs_total", Help: "Client hash reports that did not match."}, lbl),
		skipped:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_shard_skipped_ticks_total", Help: "Ticks given up because the loop fell more than the maximum lag behind."}, lbl),
		simCPU: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_shard_sim_cpu_seconds_total",
			Help: "CPU time of the simulation's steps (the tick thread's, so not inflated by preemption like starlane_shard_sim_seconds)."}, lbl),
	}
	if reg != nil {
		reg.MustRegister(m.lateness, m.tickSeconds, m.simSeconds, m.overheadSeconds, m.commitSeconds, m.ups, m.entities, m.tick,
			m.confirmed, m.checkpoint, m.players, m.fenced, m.desyncs, m.skipped, m.simCPU)
	}
	return m
}

type shardMetrics struct {
	name                                                    string
	parent                                                  *Metrics
	tickSeconds, simSeconds, overheadSeconds, commitSeconds prometheus.Observer
	ups, entities, tick, confirmed, checkpoint, players     prometheus.Gauge
	fenced                                                  prometheus.Gauge
	desyncs, skipped, simCPU                                prometheus.Counter
	lateWatched, lateIdle                                   prometheus.Observer
}

// latenessBuckets are whole ticks at 60 UPS (1/60 s each) up to a second: a tick
// that started within the bucket "le k/60" ran at most k-1 whole ticks behind.
var latenessBuckets = func() []float64 {
	var b []float64
	for _, k := range []float64{1, 2, 3, 4, 6, 11, 21, 31, 61} {
		b = append(b, k/60)
	}
	return b
}()

func (m *Metrics) forShard(name string) *shardMetrics {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &shardMetrics{
		name: name, parent: m,
		tickSeconds: m.tickSeconds.WithLabelValues(name), simSeconds: m.simSeconds.WithLabelValues(name),
		overheadSeconds: m.overheadSeconds.WithLabelValues(name), commitSeconds: m.commitSeconds.WithLabelValues(name),
		ups: m.ups.WithLabelValues(name), entities: m.entities.WithLabelValues(name), tick: m.tick.WithLabelValues(name),
		confirmed: m.confirmed.WithLabelValues(name), checkpoint: m.checkpoint.WithLabelValues(name),
		players: m.players.WithLabelValues(name), fenced: m.fenced.WithLabelValues(name),
		desyncs: m.desyncs.WithLabelValues(name), skipped: m.skipped.WithLabelValues(name),
		simCPU:      m.simCPU.WithLabelValues(name),
		lateWatched: m.lateness.WithLabelValues("true"), lateIdle: m.lateness.WithLabelValues("false"),
	}
}

// delete drops the surface's series when its shard stops here.
func (sm *shardMetrics) delete() {
	m := sm.parent
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.tickSeconds, m.simSeconds, m.overheadSeconds,
		m.commitSeconds, m.ups, m.entities, m.tick, m.confirmed, m.checkpoint, m.players, m.fenced, m.desyncs, m.skipped, m.simCPU} {
		v.DeleteLabelValues(sm.name)
	}
}
