package controller_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// startThree starts three controller processes (c1 bootstraps, the others join) and
// waits until all three are voters. It returns their API addresses.
func startThree(t *testing.T, bin, dir string) ([]string, []*proctest.Process) {
	t.Helper()
	ports := freePorts(t, 6)
	api := []string{ports[0], ports[2], ports[4]}
	procs := make([]*proctest.Process, 3)
	for i := range procs {
		id := fmt.Sprintf("c%d", i+1)
		args := []string{"controller", "--id", id, "--data-dir", filepath.Join(dir, id),
			"--bind", api[i], "--raft-bind", ports[2*i+1], "--election-timeout", "500ms", "--log-level", "info"}
		if i == 0 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", api[0])
		}
		procs[i] = proctest.Start(t, id, bin, filepath.Join(dir, id+".log"), args...)
		if i == 0 {
			waitFor(t, 15*time.Second, "the bootstrap controller to lead", func(ctx context.Context) bool {
				st, err := status(ctx, api[0])
				return err == nil && st.State == "leader"
			})
		}
	}
	waitFor(t, 30*time.Second, "three voters", func(ctx context.Context) bool {
		st, err := status(ctx, api[0])
		if err != nil {
			return false
		}
		voters := 0
		for _, p := range st.Peers {
			if p.Suffrage == "voter" && p.ApiAddress != "" {
				voters++
			}
		}
		return voters == 3
	})
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				lines := strings.Split(p.Log(), "\n")
				t.Logf("--- %s (last lines)\n%s", p.Name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	return api, procs
}

// TestPausedFirstControllerCostsLittle stops the first controller of --controller
// with SIGSTOP (the process holds its sockets and answers nothing) and measures
// what operator commands cost: each must succeed, with --timeout 4s, and take at
// most 300 ms more than with every controller running.
func TestPausedFirstControllerCostsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("three controller processes; runs without -short")
	}
	dir := t.TempDir()
	bin := mustBuild(t, dir)
	api, procs := startThree(t, bin, dir)
	ctl := strings.Join(api, ",")

	measure := func(phase string, n int) []time.Duration {
		var took []time.Duration
		for i := 0; i < n; i++ {
			args := []string{"cluster", "status", "--controller", ctl, "--timeout", "4s"}
			if i%2 == 1 {
				args = []string{"surface", "create", fmt.Sprintf("%s-%02d", phase, i), "--controller", ctl, "--timeout", "4s"}
			}
			start := time.Now()
			_, errOut, code := proctest.Run(t, bin, 20*time.Second, args...)
			took = append(took, time.Since(start))
			if code != 0 {
				t.Fatalf("%s: starlane %s: exit %d after %v\n%s", phase, strings.Join(args, " "), code, took[len(took)-1], errOut)
			}
		}
		slices.Sort(took)
		return took
	}
	base := measure("base", 10)
	// c1 bootstrapped and most likely leads: the pause costs one election, which
	// the test waits out before measuring.
	procs[0].Pause()
	defer procs[0].Resume()
	waitFor(t, 15*time.Second, "a leader among c2 and c3", func(ctx context.Context) bool {
		st, err := status(ctx, api[1])
		return err == nil && st.LeaderId != "" && st.LeaderId != "c1"
	})
	paused := measure("paused", 10)
	median := func(d []time.Duration) time.Duration { return d[len(d)/2] }
	t.Logf("command latency, all running: median %v max %v; first controller paused: median %v max %v",
		median(base).Round(time.Millisecond), base[len(base)-1].Round(time.Millisecond),
		median(paused).Round(time.Millisecond), paused[len(paused)-1].Round(time.Millisecond))
	if extra := median(paused) - median(base); extra > 300*time.Millisecond {
		t.Errorf("a paused first controller adds %v to a command's median latency, want at most 300ms", extra)
	}
	if worst := paused[len(paused)-1]; worst > base[len(base)-1]+time.Second {
		t.Errorf("slowest command with the first controller paused took %v (all running: %v)", worst, base[len(base)-1])
	}
}
