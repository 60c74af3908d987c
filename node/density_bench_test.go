package node_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkNodeDensity runs one controller and one node process with N idle
// surfaces (STARLANE_BENCH_DENSITY, default "1,100"; map STARLANE_BENCH_MAP,
// default outpost) and reports the node's CPU per surface-tick beyond the
// simulations' own CPU (overhead-ms/surface-tick), the total, and the slowest
// surface's UPS over a steady window. STARLANE_BENCH_BRIDGES=1 adds a bridge
// between every pair of surfaces (N/2 bridges) and reports the items they move
// (bridge-end-items/s counts each item at both ends: sent and acknowledged,
// delivered). With STARLANE_BENCH_OLD_BIN set it runs the
// same with that binary first (an older build), so both appear side by side in
// one run; STARLANE_BENCH_NODE_PROFILE=FILE saves a CPU profile of the node.
//
//	go test ./node/ -run '^$' -bench NodeDensity -benchtime 1x
func BenchmarkNodeDensity(b *testing.B) {
	counts := "1,100"
	if v := os.Getenv("STARLANE_BENCH_DENSITY"); v != "" {
		counts = v
	}
	mapName := "outpost"
	if v := os.Getenv("STARLANE_BENCH_MAP"); v != "" {
		mapName = v
	}
	builds := [][2]string{{"new", bin}}
	if old := os.Getenv("STARLANE_BENCH_OLD_BIN"); old != "" {
		builds = [][2]string{{"old", old}, {"new", bin}}
	}
	for _, c := range strings.Split(counts, ",") {
		var n int
		fmt.Sscan(c, &n)
		for _, bd := range builds {
			b.Run(fmt.Sprintf("%s/surfaces=%d", bd[0], n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					densityRun(b, bd[1], n, mapName)
				}
			})
		}
	}
}

func densityRun(b *testing.B, binary string, n int, mapName string) {
	const window = 10 * time.Second
	dir := b.TempDir()
	ctl, raft, node, met := freeAddr(b), freeAddr(b), freeAddr(b), freeAddr(b)
	var cmds []*exec.Cmd
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(binary, args...)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
		return cmd
	}
	defer func() {
		for i := len(cmds) - 1; i >= 0; i-- {
			cmds[i].Process.Signal(syscall.SIGTERM)
			cmds[i].Wait()
		}
	}()
	start("controller", "controller", "--data-dir", filepath.Join(dir, "c"), "--bind", ctl, "--raft-bind", raft, "--bootstrap", "--join-token", "bench-token", "--log-level", "warn")
	time.Sleep(2 * time.Second)
	nodeCmd := start("node", "node", "--controller", ctl, "--join-token", "bench-token", "--data-dir", filepath.Join(dir, "n"), "--bind", node,
		"--name", "bench", "--metrics-bind", met, "--log-level", "warn")
	time.Sleep(time.Second)
	for i := range n {
		out, err := exec.Command(binary, "surface", "create", fmt.Sprintf("s%03d", i), "--map", mapName, "--controller", ctl).CombinedOutput()
		if err != nil {
			b.Fatalf("surface create: %v: %s", err, out)
		}
	}
	bridges := 0
	if os.Getenv("STARLANE_BENCH_BRIDGES") != "" {
		// Pairs of surfaces, each with a bridge from one's export port to the
		// other's import port.
		for i := 0; i+1 < n; i += 2 {
			out, err := exec.Command(binary, "bridge", "create", "--from", fmt.Sprintf("s%03d:out", i), "--to", fmt.Sprintf("s%03d:in", i+1), "--controller", ctl).CombinedOutput()
			if err != nil {
				b.Fatalf("bridge create: %v: %s", err, out)
			}
			bridges++
		}
	}
	metrics := "http://" + met + "/metrics"
	deadline := time.Now().Add(2 * time.Minute)
	for scrape(b, metrics, "starlane_shard_ups{") < float64(n)*50 || count(b, metrics, "starlane_shard_ups{") < n {
		if time.Now().After(deadline) {
			// A build that cannot start them all is measured with those it runs.
			b.Logf("not all %d surfaces ticked at 50+ UPS within 2 minutes (%d running)", n, count(b, metrics, "starlane_shard_ups{"))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	var prof chan error
	if path := os.Getenv("STARLANE_BENCH_NODE_PROFILE"); path != "" {
		prof = make(chan error, 1)
		go func() {
			prof <- fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", met, int(window/time.Second)), path)
		}()
	}
	type sample struct{ cpu, sim, ticks, items, skipped float64 }
	take := func() sample {
		return sample{scrape(b, metrics, "process_cpu_seconds_total"), scrape(b, metrics, "starlane_shard_sim_cpu_seconds_total{"), scrape(b, metrics, "starlane_shard_tick{"),
			scrape(b, metrics, "starlane_bridge_items_total{"), scrape(b, metrics, "starlane_shard_skipped_ticks_total{")}
	}
	a := take()
	time.Sleep(window)
	z := take()
	minUPS := minSample(b, metrics, "starlane_shard_ups{")
	load := loadAvg()
	if prof != nil {
		if err := <-prof; err != nil {
			b.Fatal(err)
		}
	}
	ticks := z.ticks - a.ticks
	b.ReportMetric((z.cpu-a.cpu)/ticks*1000, "node-cpu-ms/surface-tick")
	b.ReportMetric(((z.cpu-a.cpu)-(z.sim-a.sim))/ticks*1000, "overhead-ms/surface-tick")
	b.ReportMetric((z.cpu-a.cpu)/window.Seconds(), "cores")
	b.ReportMetric(minUPS, "min-ups")
	b.ReportMetric(ticks/window.Seconds()/float64(n), "mean-ups")
	b.ReportMetric(load, "loadavg")
	b.ReportMetric(z.skipped-a.skipped, "skipped-ticks")
	b.ReportMetric(float64(count(b, metrics, "starlane_shard_ups{")), "running")
	if bridges > 0 {
		b.ReportMetric(float64(bridges), "bridges")
		b.ReportMetric((z.items-a.items)/window.Seconds(), "bridge-end-items/s")
	}
	_ = nodeCmd
}

// count returns how many samples start with prefix.
func count(tb testing.TB, url, prefix string) int {
	n := 0
	eachSample(tb, url, prefix, func(float64) { n++ })
	return n
}

// minSample returns the smallest sample starting with prefix.
func minSample(tb testing.TB, url, prefix string) float64 {
	m := -1.0
	eachSample(tb, url, prefix, func(v float64) {
		if m < 0 || v < m {
			m = v
		}
	})
	return m
}

// eachSample calls fn with the value of every sample at url whose name and
// labels start with prefix.
func eachSample(tb testing.TB, url, prefix string, fn func(float64)) {
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			fn(v)
		}
	}
}
