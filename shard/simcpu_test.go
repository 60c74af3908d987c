package shard

import (
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counterSum returns the sum of a metric's samples in reg.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}

// The simulation's CPU time counts the step's work, not time it spends off the
// CPU, so that a benchmark can tell the runtime's CPU cost from the
// simulation's on a busy machine.
func TestSimCPUCountsWorkNotWaiting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the simulation's CPU time is its wall time on this platform")
	}
	run := func(stall func(uint64)) (cpu, wall float64) {
		reg := prometheus.NewRegistry()
		cfg := testConfig(t.TempDir())
		cfg.UPS, cfg.Metrics = 60, NewMetrics(reg)
		cfg.New = func() (Simulation, error) { f := newFake(); f.stall = stall; return f, nil }
		s := openStarted(t, cfg)
		if !waitFor(10*time.Second, func() bool { return s.Executed() >= 20 }) {
			t.Fatal("the shard did not tick")
		}
		s.SetLease(time.Now()) // stop ticking, keep the metrics
		time.Sleep(50 * time.Millisecond)
		return counterSum(t, reg, "starlane_shard_sim_cpu_seconds_total"), counterSum(t, reg, "starlane_shard_sim_seconds")
	}
	cpu, wall := run(func(uint64) { time.Sleep(3 * time.Millisecond) })
	t.Logf("sleeping steps: %.1f ms CPU, %.1f ms wall", cpu*1000, wall*1000)
	if wall < 0.060 || cpu > wall/10 {
		t.Errorf("steps that sleep 3 ms: %.1f ms of CPU for %.1f ms of wall time", cpu*1000, wall*1000)
	}
	cpu, wall = run(func(uint64) {
		for end := time.Now().Add(3 * time.Millisecond); time.Now().Before(end); {
		}
	})
	t.Logf("busy steps: %.1f ms CPU, %.1f ms wall", cpu*1000, wall*1000)
	// On a busy machine the spinning thread gets only a share of the CPU.
	if cpu < 0.010 || cpu > wall*1.05 {
		t.Errorf("steps that compute for 3 ms: %.1f ms of CPU for %.1f ms of wall time", cpu*1000, wall*1000)
	}
}
