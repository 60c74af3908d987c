package controller

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type metrics struct {
	apply     prometheus.Histogram
	applyErr  prometheus.Counter
	forwarded prometheus.Counter
	rpcs      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, c *Controller) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "starlane_controller_apply_seconds", Help: "Time from proposing a command to its result.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
		}),
		applyErr:  prometheus.NewCounter(prometheus.CounterOpts{Name: "starlane_controller_apply_errors_total", Help: "Proposals that failed in Raft (not command errors)."}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{Name: "starlane_controller_forwarded_total", Help: "Calls forwarded to the leader."}),
		rpcs:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starlane_controller_rpcs_total", Help: "Unary RPCs served, by method and code."}, []string{"method", "code"}),
	}
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	reg.MustRegister(m.apply, m.applyErr, m.forwarded, m.rpcs,
		gauge("starlane_controller_is_leader", "1 on the ready leader.", func() float64 { return b2f(c.IsLeader()) }),
		gauge("starlane_controller_raft_term", "Current Raft term.", func() float64 { return float64(c.raft.CurrentTerm()) }),
		gauge("starlane_controller_raft_commit_index", "Raft commit index.", func() float64 { return float64(c.raft.CommitIndex()) }),
		gauge("starlane_controller_raft_applied_index", "Raft applied index.", func() float64 { return float64(c.raft.AppliedIndex()) }),
		gauge("starlane_controller_raft_last_contact_seconds", "Seconds since the leader was last heard from (0 on the leader).", func() float64 {
			if c.raft.State() == raft.Leader {
				return 0
			}
			return time.Since(c.raft.LastContact()).Seconds()
		}),
		gauge("starlane_controller_nodes_up", "Worker nodes with status up.", func() float64 {
			n := 0
			c.fsm.read(func(s *state) {
				for _, nd := range s.nodes {
					if nd.Status == pb.NodeStatus_NODE_STATUS_UP {
						n++
					}
				}
			})
			return float64(n)
		}),
		gauge("starlane_controller_surfaces", "Surfaces in the catalog.", func() float64 {
			n := 0
			c.fsm.read(func(s *state) { n = len(s.surfaces) })
			return float64(n)
		}),
		gauge("starlane_controller_surfaces_under_replicated", "Surfaces with fewer synced standbys than their replicas setting asks for.", func() float64 {
			n := 0
			c.fsm.read(func(s *state) {
				for _, sf := range s.surfaces {
					if underReplicated(sf) {
						n++
					}
				}
			})
			return float64(n)
		}),
		gauge("starlane_controller_surfaces_moving", "Surfaces with a live move in progress.", func() float64 {
			n := 0
			c.fsm.read(func(s *state) {
				for _, sf := range s.surfaces {
					if sf.Migration != nil {
						n++
					}
				}
			})
			return float64(n)
		}),
	)
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metrics) observeApply(d time.Duration, err error) {
	if err != nil {
		m.applyErr.Inc()
		return
	}
	m.apply.Observe(d.Seconds())
}

func (m *metrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	m.rpcs.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return resp, err
}
