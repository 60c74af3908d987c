package node_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

// nodeSample is what the benchmark reads from the node's /metrics at one moment.
type nodeSample struct {
	at                            time.Time
	cpu, sim, simWall, loop, tick float64
	players                       float64
}

func sampleNode(tb testing.TB, metrics string) nodeSample {
	return nodeSample{
		at:      time.Now(),
		cpu:     scrape(tb, metrics, "process_cpu_seconds_total"),
		sim:     scrape(tb, metrics, `starlane_shard_sim_cpu_seconds_total{surface="nauvis"}`),
		simWall: scrape(tb, metrics, `starlane_shard_sim_seconds_sum{surface="nauvis"}`),
		loop:    scrape(tb, metrics, `starlane_shard_overhead_seconds_sum{surface="nauvis"}`),
		tick:    scrape(tb, metrics, `starlane_shard_tick{surface="nauvis"}`),
		players: scrape(tb, metrics, `starlane_shard_players{surface="nauvis"}`),
	}
}

// perTick returns the node's CPU, the simulation's CPU and wall time, and the
// tick loop's own overhead (wall time) between a and z, in milliseconds per tick.
func perTick(a, z nodeSample) (cpu, sim, simWall, loop float64) {
	n := z.tick - a.tick
	return (z.cpu - a.cpu) / n * 1000, (z.sim - a.sim) / n * 1000, (z.simWall - a.simWall) / n * 1000, (z.loop - a.loop) / n * 1000
}

func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// processCPU is the CPU time process pid has used so far, in seconds: the sum
// of its threads' run time in /proc/PID/task/*/schedstat (nanoseconds).
// process_cpu_seconds_total counts in clock ticks of 10 ms, too coarse for a
// node of one idle surface, which uses some 50 ms of CPU in a 10 s window.
// A thread that exits within a window takes its time with it; the Go runtime
// keeps its threads. ok is false where the file is missing (not Linux).
func processCPU(pid int) (sec float64, ok bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	var ns uint64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited since the listing
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		ns += v
	}
	return float64(ns) / 1e9, true
}

// BenchmarkHundredBots runs one node process with one surface (the starter map)
// and 100 lockstep bots in another process (100 connections, each bot simulating
// its own copy and acting about every 20 ticks), and reports the primary's tick
// time p99 as the bots saw it, and the node process's CPU per tick on top of the
// simulation: everything the node spends besides stepping the surface
// (sequencing, the input log, 100 player streams, heartbeats, GC).
//
// The CPU figures come from the node's /metrics over a steady window: after all
// 100 bots have joined and caught up, and before any of them leaves, so joins
// and checkpoint downloads are not counted. The simulation's share is its CPU
// time (starlane_shard_sim_cpu_seconds_total), not its wall time, which
// preemption on a busy machine inflates. The same figures with no player
// connected (idle-*) are taken first; per-player-us/tick is the difference, per
// player. STARLANE_BENCH_NODE_PROFILE=FILE also saves a CPU profile of the node
// over the steady window (from its /debug/pprof/profile);
// STARLANE_BENCH_PLAYER_BATCH=N runs the node with --player-batch-ticks N.
//
//	go test ./node/ -run '^$' -bench HundredBots -benchtime 1x
func BenchmarkHundredBots(b *testing.B) {
	const (
		bots   = 100
		idle   = 10 * time.Second
		settle = 3 * time.Second
		window = 20 * time.Second
	)
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
	nodeArgs := []string{"node", "--controller", ctl, "--join-token", "bench-token", "--data-dir", filepath.Join(dir, "n"), "--bind", node,
		"--name", "bench", "--metrics-bind", met, "--log-level", "warn"}
	if v := os.Getenv("STARLANE_BENCH_PLAYER_BATCH"); v != "" {
		nodeArgs = append(nodeArgs, "--player-batch-ticks", v)
	}
	nodeCmd := start("node", nodeArgs...)
	time.Sleep(time.Second)
	out, errOut, code := runCmd(b, "surface", "create", "nauvis", "--map", "starter", "--controller", ctl)
	if code != 0 {
		b.Fatalf("surface create: %s %s", out, errOut)
	}
	metrics := "http://" + met + "/metrics"
	waitFor := func(what string, limit time.Duration, ok func(nodeSample) bool) {
		deadline := time.Now().Add(limit)
		for !ok(sampleNode(b, metrics)) {
			if time.Now().After(deadline) {
				b.Fatalf("%s within %v", what, limit)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("the surface did not start", 30*time.Second, func(s nodeSample) bool { return s.tick >= 60 })

	i0 := sampleNode(b, metrics)
	time.Sleep(idle)
	i1 := sampleNode(b, metrics)
	idleCPU, idleSim, _, _ := perTick(i0, i1)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		waitFor("players of the previous round did not leave", time.Minute, func(s nodeSample) bool { return s.players == 0 })
		// The bots run long enough to outlast the window: each counts its ticks from
		// when it caught up with the surface.
		ticks := int((settle+window)/time.Second)*60 + 1200
		bot := exec.Command(bin, "bot", "--controller", ctl, "--node", node, "--surface", "nauvis", "--count", fmt.Sprint(bots), "--ticks", fmt.Sprint(ticks), "--json", "--quiet")
		var botOut, botErr bytes.Buffer
		bot.Stdout, bot.Stderr = &botOut, &botErr
		if err := bot.Start(); err != nil {
			b.Fatal(err)
		}
		botDone := make(chan error, 1)
		go func() { botDone <- bot.Wait() }()
		waitFor("the bots did not all join", 2*time.Minute, func(s nodeSample) bool { return s.players == bots })
		time.Sleep(settle)

		var prof chan error
		if path := os.Getenv("STARLANE_BENCH_NODE_PROFILE"); path != "" {
			prof = make(chan error, 1)
			go func() {
				prof <- fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", met, int(window/time.Second)), path)
			}()
		}
		a, wa := sampleNode(b, metrics), writeCalls(nodeCmd.Process.Pid)
		time.Sleep(window)
		z, wz := sampleNode(b, metrics), writeCalls(nodeCmd.Process.Pid)
		load := loadAvg()
		if z.players != bots {
			b.Fatalf("%v of %d bots were still connected at the end of the window: the window is not steady; bots: %s", z.players, bots, botErr.String())
		}
		if prof != nil {
			if err := <-prof; err != nil {
				b.Fatal(err)
			}
		}
		if err := <-botDone; err != nil {
			b.Fatalf("bots: %v: %s\n%s", err, botOut.String(), botErr.String())
		}
		var r botJSON
		if err := json.Unmarshal(botOut.Bytes(), &r); err != nil || r.Desyncs != 0 {
			b.Fatalf("bots: %s (%v)\n%s", botOut.String(), err, botErr.String())
		}
		cpu, sim, simWall, loop := perTick(a, z)
		b.ReportMetric(r.TickP99MS, "tick-p99-ms")
		b.ReportMetric(cpu, "node-cpu-ms/tick")
		b.ReportMetric(sim, "sim-ms/tick")
		b.ReportMetric(simWall, "sim-wall-ms/tick")
		b.ReportMetric(cpu-sim, "overhead-ms/tick")
		b.ReportMetric(loop, "loop-overhead-ms/tick")
		b.ReportMetric(idleCPU-idleSim, "idle-overhead-ms/tick")
		b.ReportMetric((cpu-sim-(idleCPU-idleSim))/bots*1000, "per-player-us/tick")
		b.ReportMetric(float64(r.Actions)/float64(r.Ticks), "actions/tick")
		if wa >= 0 && wz >= 0 {
			b.ReportMetric(float64(wz-wa)/(z.tick-a.tick), "node-writes/tick")
		}
		b.ReportMetric((z.tick-a.tick)/z.at.Sub(a.at).Seconds(), "ups")
		b.ReportMetric(load, "loadavg")
	}
}

// writeCalls returns how many write system calls process pid has made (Linux's
// /proc/PID/io syscw: socket writes to players and the input log's writes), or -1.
func writeCalls(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// fetchProfile saves the CPU profile served at url to path.
func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// benchMap is the map a node benchmark runs: STARLANE_BENCH_MAP, or def.
func benchMap(def string) string {
	if v := os.Getenv("STARLANE_BENCH_MAP"); v != "" {
		return v
	}
	return def
}

// benchBuilds are the binaries a node benchmark runs, by name: this build ("new"),
// after the one STARLANE_BENCH_OLD_BIN names ("old"), so both appear side by side.
// benchWindow is a benchmark's measuring window: STARLANE_BENCH_WINDOW, 10 s
// by default.
func benchWindow(b testing.TB) time.Duration {
	v := os.Getenv("STARLANE_BENCH_WINDOW")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		b.Fatalf("STARLANE_BENCH_WINDOW=%q: want a duration of 1s or more, such as 30s", v)
	}
	return d
}

func benchBuilds() [][2]string {
	if old := os.Getenv("STARLANE_BENCH_OLD_BIN"); old != "" {
		return [][2]string{{"old", old}, {"new", bin}}
	}
	return [][2]string{{"new", bin}}
}
