package devcluster

import (
	"testing"
	"time"
)

// TestDevSummaryClaimsOnlyWhatRuns: the line starlane dev prints when the
// cluster is up counts only the processes that run, and names one that was
// given up or is crash-looping.
func TestDevSummaryClaimsOnlyWhatRuns(t *testing.T) {
	t.Parallel()
	now := time.Now()
	d := &cluster{dir: "/data", procs: map[string]*proc{
		"c1": {name: "c1", up: true, started: now.Add(-time.Minute)},
		"c2": {name: "c2", up: true, started: now.Add(-time.Minute)},
		"c3": {name: "c3", up: true, started: now.Add(-time.Minute)},
		"n1": {name: "n1", up: true, started: now.Add(-time.Minute)},
	}}
	ctls, nodes := []string{"c1", "c2", "c3"}, []string{"n1"}
	if got, want := d.runningSummary(ctls, nodes, now), "starlane dev is running (3 controllers, 1 node)"; got != want {
		t.Errorf("all up: %q, want %q", got, want)
	}
	d.procs["c3"] = &proc{name: "c3", quickExits: 3, gaveUp: true}
	d.procs["n1"] = &proc{name: "n1", quickExits: 1, up: true, started: now.Add(-time.Second)}
	want := "starlane dev is running 2 of 3 controllers and 0 of 1 node; " +
		"c3 was given up: it exited 3 times right after starting (see /data/logs/c3.log); " +
		"n1 is restarting: it exited 1 time right after starting"
	if got := d.runningSummary(ctls, nodes, now); got != want {
		t.Errorf("c3 given up, n1 crash-looping:\n got %q\nwant %q", got, want)
	}
}
