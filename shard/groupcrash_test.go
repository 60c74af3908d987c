package shard

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/wal"
)

// groupCrashSurfaces is how many shards share the node log in the crash test;
// the first half get inputs, the rest are idle.
const groupCrashSurfaces = 6

func groupCrashConfig(root string, i int, nl *NodeLog) Config {
	cfg := testConfig(filepath.Join(root, "shards", fmt.Sprintf("s%d", i)))
	cfg.Name = fmt.Sprintf("s%d", i)
	cfg.CheckpointEvery = 40
	cfg.NodeLog = nl
	return cfg
}

// groupCrashChild runs the shards on one node log with small segments and kills
// its own process (SIGKILL: no flush, no close) at the given stage of the given
// group commit, printing every confirmed tick of every surface with its hash
// until then.
func groupCrashChild(root, at string) {
	var commit, stage int
	fmt.Sscanf(at, "%d %d", &commit, &stage)
	var n atomic.Int64
	hook := func(s wal.Stage) {
		if s == wal.BeforeWrite {
			n.Add(1)
		}
		if int(n.Load()) == commit && int(s) == stage {
			// The commit is held here: let the printers report every tick confirmed
			// so far, so that the check covers all of them.
			time.Sleep(30 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	nl, err := OpenNodeLog(root, NodeLogOptions{Interval: 3 * time.Millisecond, IdleDelay: 10 * time.Millisecond, SegmentBytes: 4 << 10, Hook: hook})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	out := make(chan string, 4096)
	for i := range groupCrashSurfaces {
		s, err := Open(groupCrashConfig(root, i, nl))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		s.Start()
		go func() {
			last := s.Confirmed()
			for k := 0; ; k++ {
				ch := s.changed(true)
				if i < groupCrashSurfaces/2 && k%2 == 0 {
					_ = s.Submit(Input{Player: 1, Data: []byte{byte(k), byte(i)}}, 0)
				}
				for c := s.Confirmed(); last < c; {
					last++
					h, ok := s.HashAt(last)
					if ok {
						out <- fmt.Sprintf("c %d %d %016x", i, last, h)
					}
				}
				<-ch
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	for line := range out {
		w.WriteString(line + "\n")
		if len(out) == 0 {
			w.Flush()
		}
	}
}

// wholeLines splits lines like bufio.ScanLines but drops an unterminated last
// one: the child's buffered output can be flushed in the middle of a line just
// before it is killed ("s2 ... 1cc6af13d was confirmed", a hash cut short).
func wholeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// TestKillDuringGroupCommit kills a process running several shards on one node
// log at random points of a group commit — before the frame is written, halfway
// through writing it, before and after its fdatasync, halfway through telling
// the shards — again and again on the same data, and checks after each kill that
// every surface reopens at or after the last tick it confirmed, with the hashes
// it confirmed.
func TestKillDuringGroupCommit(t *testing.T) {
	if root := os.Getenv("NODELOG_CRASH_CHILD"); root != "" {
		groupCrashChild(root, os.Getenv("NODELOG_CRASH_AT"))
		return
	}
	runs, perDir := 120, 12
	if testing.Short() {
		runs = 12
	}
	rng := rand.New(rand.NewPCG(19, 80))
	var root string
	var seen []map[uint64]string
	stages := make([]int, wal.NumStages)
	for run := range runs {
		if run%perDir == 0 {
			root = t.TempDir()
			seen = make([]map[uint64]string, groupCrashSurfaces)
			for i := range seen {
				seen[i] = map[uint64]string{}
			}
		}
		commit, stage := 1+rng.IntN(80), rng.IntN(wal.NumStages)
		stages[stage]++
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringGroupCommit$")
		cmd.Env = append(os.Environ(), "NODELOG_CRASH_CHILD="+root, fmt.Sprintf("NODELOG_CRASH_AT=%d %d", commit, stage))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		last := make([]uint64, groupCrashSurfaces)
		sc := bufio.NewScanner(stdout)
		sc.Split(wholeLines)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "c" {
				t.Fatalf("run %d: child: %s", run, sc.Text())
			}
			i, _ := strconv.Atoi(f[1])
			tick, _ := strconv.ParseUint(f[2], 10, 64)
			if h, ok := seen[i][tick]; ok && h != f[3] {
				t.Fatalf("run %d: s%d confirmed tick %d with hash %s, an earlier run confirmed it with %s", run, i, tick, f[3], h)
			}
			seen[i][tick], last[i] = f[3], max(last[i], tick)
		}
		err = cmd.Wait()
		timer.Stop()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d: the child was not killed at commit %d stage %d: %v", run, commit, stage, err)
		}

		nl, err := OpenNodeLog(root, NodeLogOptions{})
		if err != nil {
			t.Fatalf("run %d: reopen the node log: %v", run, err)
		}
		for i := range groupCrashSurfaces {
			s, err := Open(groupCrashConfig(root, i, nl))
			if err != nil {
				t.Fatalf("run %d (killed at commit %d stage %d): reopen s%d: %v", run, commit, stage, i, err)
			}
			if s.Executed() < last[i] {
				t.Fatalf("run %d (killed at commit %d stage %d): s%d reopened at tick %d, but tick %d had been confirmed", run, commit, stage, i, s.Executed(), last[i])
			}
			check := []uint64{last[i], last[i] - last[i]%7, s.ckptTick.Load() + 1}
			for _, tick := range check {
				want, ok := seen[i][tick]
				if !ok || tick == 0 {
					continue
				}
				h, kept := s.HashAt(tick)
				if !kept {
					sim, err := s.stateAt(tick)
					if err != nil {
						continue // before the older kept checkpoint
					}
					h = sim.Hash()
				}
				if got := fmt.Sprintf("%016x", h); got != want {
					t.Fatalf("run %d (killed at commit %d stage %d): s%d tick %d has hash %s after the restart, %s was confirmed", run, commit, stage, i, tick, got, want)
				}
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		if err := nl.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills; by stage (before write, mid write, before sync, after sync, mid callbacks): %v", runs, stages)
}
