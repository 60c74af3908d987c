package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// devSurface is what the test reads of `surface list --json`.
type devSurface struct {
	Name    string `json:"name"`
	Primary string `json:"primary"`
	Stats   *struct {
		Tick  uint64 `json:"tick"`
		AgeMS int64  `json:"age_ms"`
		Stale bool   `json:"stale"`
	} `json:"stats"`
	Replication *struct {
		Synced []string `json:"synced"`
	} `json:"replication"`
}

// TestDevSurvivesAnyOneKill runs the default `starlane dev` (three controllers,
// three nodes, every surface with a standby) and kills each of its six processes
// in turn with SIGKILL: within 5 s of each kill every surface must be ticking
// again, shown by the controllers that are left with a live report from a node
// that is not the one killed and a tick past the one it had at the kill. dev
// restarts the killed process; the next kill waits until the cluster is whole
// again (three voters, every surface with a standby in step).
func TestDevSurvivesAnyOneKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev cluster of six processes")
	}
	dir := t.TempDir()
	bin, err := proctest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "dev")
	dev := proctest.Start(t, "dev", bin, filepath.Join(dir, "dev.log"), "dev", "--data-dir", data, "--port", "0", "--log-level", "warn")
	var info clusterJSON
	readInfo := func() bool {
		b, err := os.ReadFile(filepath.Join(data, "cluster.json"))
		return err == nil && json.Unmarshal(b, &info) == nil && info.ControllerAddrs != ""
	}
	proctest.Eventually(t, 180*time.Second, "starlane dev to write cluster.json", readInfo)
	if len(info.Controllers) != 3 || len(info.Nodes) != 3 {
		t.Fatalf("dev runs controllers %v and nodes %v, want three of each", info.Controllers, info.Nodes)
	}
	if log := dev.Log(); !strings.Contains(log, "starting controllers c2, c3") || !strings.Contains(log, "admin token  "+info.Token) {
		t.Fatalf("dev's output lacks its progress or the admin token:\n%s", log)
	}
	surfaces := func() (map[string]devSurface, bool) {
		out, _, code := proctest.Run(t, bin, 5*time.Second, "surface", "list", "--json", "--controller", info.ControllerAddrs, "--timeout", "2s")
		var list []devSurface
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
			return nil, false
		}
		m := map[string]devSurface{}
		for _, s := range list {
			m[s.Name] = s
		}
		return m, len(m) == 3
	}
	voters := func() int {
		out, _, code := proctest.Run(t, bin, 5*time.Second, "cluster", "status", "--json", "--controller", info.ControllerAddrs, "--timeout", "2s")
		var st struct {
			LeaderID string `json:"leader_id"`
			Peers    []struct {
				Suffrage string `json:"suffrage"`
			} `json:"peers"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.LeaderID == "" {
			return 0
		}
		n := 0
		for _, p := range st.Peers {
			if p.Suffrage == "voter" {
				n++
			}
		}
		return n
	}
	// whole: three voters, every process alive, every surface ticking with a
	// standby in step (so that the next kill, wherever it lands, has a standby).
	whole := func() bool {
		if !readInfo() || len(info.PIDs) != 6 {
			return false
		}
		for _, pid := range info.PIDs {
			if syscall.Kill(pid, 0) != nil {
				return false
			}
		}
		if voters() != 3 {
			return false
		}
		m, ok := surfaces()
		if !ok {
			return false
		}
		for _, s := range m {
			if s.Stats == nil || s.Stats.Stale || s.Stats.Tick == 0 || s.Replication == nil || len(s.Replication.Synced) == 0 {
				return false
			}
		}
		return true
	}
	var victims []string
	for name := range info.Controllers {
		victims = append(victims, name)
	}
	sort.Strings(victims)
	var nodes []string
	for name := range info.Nodes {
		nodes = append(nodes, name)
	}
	sort.Strings(nodes)
	victims = append(victims, nodes...)
	for _, victim := range victims {
		proctest.Eventually(t, 120*time.Second, "the dev cluster to be whole before killing "+victim, whole)
		before, ok := surfaces()
		if !ok {
			t.Fatal("surface list failed on a whole cluster")
		}
		pid := info.PIDs[victim]
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (pid %d): %v", victim, pid, err)
		}
		// Every surface must be seen ticking twice past its tick at the kill, by a
		// live report from a node other than the victim.
		seen := map[string]uint64{}
		back := map[string]time.Duration{}
		var last map[string]devSurface
		for len(back) < len(before) && time.Since(killed) < 5*time.Second {
			m, ok := surfaces()
			if !ok {
				continue
			}
			last = m
			for name, s := range m {
				if _, done := back[name]; done || s.Stats == nil || s.Stats.Stale || s.Primary == victim || s.Stats.Tick <= before[name].Stats.Tick {
					continue
				}
				if prev, ok := seen[name]; ok && s.Stats.Tick > prev {
					back[name] = time.Since(killed)
				} else if !ok {
					seen[name] = s.Stats.Tick
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		var report []string
		for name := range before {
			s := last[name]
			got := "no answer"
			if s.Stats != nil {
				got = fmt.Sprintf("tick %d on %s (stale %v)", s.Stats.Tick, s.Primary, s.Stats.Stale)
			}
			report = append(report, fmt.Sprintf("%s: tick %d on %s at the kill, %s, ticking again after %v", name, before[name].Stats.Tick, before[name].Primary, got, back[name].Round(time.Millisecond)))
		}
		sort.Strings(report)
		t.Logf("killed %s (pid %d):\n  %s", victim, pid, strings.Join(report, "\n  "))
		if len(back) < len(before) {
			b, _ := os.ReadFile("/proc/loadavg")
			t.Fatalf("after killing %s not every surface was ticking again within 5 s (load average %s):\n  %s", victim, strings.TrimSpace(string(b)), strings.Join(report, "\n  "))
		}
	}
}
