package node_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
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

func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads the Prometheus text at url and returns the value of every sample
// whose name and labels start with prefix, summed.
func scrape(tb testing.TB, url, prefix string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// BenchmarkHundredBots runs one node process with one surface (the starter map)
// and 100 lockstep bots in another process, and reports the primary's tick time
// p99 as the bots saw it, and the node process's CPU per tick split into the
// simulation and everything else (sequencing, the input log, 100 player streams,
// heartbeats, GC): the runtime's overhead.
//
//	go test ./node/ -run '^$' -bench HundredBots -benchtime 1x
func BenchmarkHundredBots(b *testing.B) {
	dir := b.TempDir()
	ctl, raft, node, met := freeAddr(b), freeAddr(b), freeAddr(b), freeAddr(b)
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); logf.Close() })
		return cmd
	}
	start("controller", "controller", "--data-dir", filepath.Join(dir, "c"), "--bind", ctl, "--raft-bind", raft, "--bootstrap", "--join-token", "bench-token", "--log-level", "warn")
	time.Sleep(2 * time.Second)
	nodeCmd := start("node", "node", "--controller", ctl, "--join-token", "bench-token", "--data-dir", filepath.Join(dir, "n"), "--bind", node,
		"--name", "bench", "--metrics-bind", met, "--log-level", "warn", "--cpu-profile", os.Getenv("STARLANE_BENCH_NODE_PROFILE"))
	_ = nodeCmd
	time.Sleep(time.Second)
	out, errOut, code := runCmd(b, "surface", "create", "nauvis", "--map", "starter", "--controller", ctl)
	if code != 0 {
		b.Fatalf("surface create: %s %s", out, errOut)
	}
	metrics := "http://" + met + "/metrics"
	deadline := time.Now().Add(30 * time.Second)
	for scrape(b, metrics, `starlane_shard_tick{surface="nauvis"}`) < 60 {
		if time.Now().After(deadline) {
			b.Fatal("surface did not start")
		}
		time.Sleep(200 * time.Millisecond)
	}
	const ticks = 1800
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpu0 := scrape(b, metrics, "process_cpu_seconds_total")
		sim0 := scrape(b, metrics, `starlane_shard_sim_seconds_sum{surface="nauvis"}`)
		tick0 := scrape(b, metrics, `starlane_shard_tick{surface="nauvis"}`)
		over0 := scrape(b, metrics, `starlane_shard_overhead_seconds_sum{surface="nauvis"}`)
		out, errOut, code := runCmd(b, "bot", "--node", node, "--surface", "nauvis", "--count", "100", "--ticks", fmt.Sprint(ticks), "--json", "--quiet")
		var r botJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || r.Desyncs != 0 {
			b.Fatalf("bots: %s (exit %d)\n%s", out, code, errOut)
		}
		cpu1 := scrape(b, metrics, "process_cpu_seconds_total")
		sim1 := scrape(b, metrics, `starlane_shard_sim_seconds_sum{surface="nauvis"}`)
		tick1 := scrape(b, metrics, `starlane_shard_tick{surface="nauvis"}`)
		over1 := scrape(b, metrics, `starlane_shard_overhead_seconds_sum{surface="nauvis"}`)
		n := tick1 - tick0
		b.ReportMetric(r.TickP99MS, "tick-p99-ms")
		b.ReportMetric((cpu1-cpu0)/n*1000, "node-cpu-ms/tick")
		b.ReportMetric((sim1-sim0)/n*1000, "sim-ms/tick")
		b.ReportMetric((cpu1-cpu0-(sim1-sim0))/n*1000, "overhead-ms/tick")
		b.ReportMetric((over1-over0)/n*1000, "loop-overhead-ms/tick")
		b.ReportMetric(float64(r.Actions)/n, "actions/tick")
	}
}

func runCmd(tb testing.TB, args ...string) (string, string, int) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), ee.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}
