package node_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestPausedLeaderControllerDoesNotStallNodes runs three controllers and two
// nodes, then freezes the leading controller with SIGSTOP (sockets open, nothing
// answered). The nodes' connections to it look alive; they must still reach the
// new leader before their lease runs out, so the surface never stops ticking and
// no node is marked down.
func TestPausedLeaderControllerDoesNotStallNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	var api []string
	var ctls []*proctest.Process
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("c%d", i)
		a, r := proctest.FreeAddr(t), proctest.FreeAddr(t)
		args := []string{"controller", "--id", id, "--data-dir", filepath.Join(dir, id), "--bind", a, "--raft-bind", r,
			"--election-timeout", "500ms", "--join-token", "slj-test-token"}
		if i == 1 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", api[0])
		}
		ctls = append(ctls, proctest.Start(t, id, bin, filepath.Join(dir, id+".log"), args...))
		api = append(api, a)
		if i == 1 {
			proctest.Eventually(t, 30*time.Second, "c1 to lead", func() bool {
				_, _, code := proctest.Run(t, bin, 5*time.Second, "cluster", "status", "--controller", api[0], "--timeout", "2s")
				return code == 0
			})
		}
	}
	ctl := strings.Join(api, ",")
	peers := func() (leader string, voters int) {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "cluster", "status", "--json", "--controller", ctl, "--timeout", "3s")
		var st struct {
			LeaderID string `json:"leader_id"`
			Peers    []struct {
				Suffrage string `json:"suffrage"`
			} `json:"peers"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			return "", 0
		}
		for _, p := range st.Peers {
			if p.Suffrage == "voter" {
				voters++
			}
		}
		return st.LeaderID, voters
	}
	proctest.Eventually(t, 30*time.Second, "three voters", func() bool { _, v := peers(); return v == 3 })
	var nodes []*proctest.Process
	for _, n := range []string{"n1", "n2"} {
		nodes = append(nodes, proctest.Start(t, n, bin, filepath.Join(dir, n+".log"), "node", "--controller", ctl, "--join-token", "slj-test-token",
			"--data-dir", filepath.Join(dir, n), "--bind", proctest.FreeAddr(t), "--name", n))
	}
	if _, errOut, code := proctest.Run(t, bin, 30*time.Second, "surface", "create", "a", "--replicas", "2", "--controller", ctl); code != 0 {
		t.Fatalf("surface create: %s", errOut)
	}
	var s faultSurface
	get := func() bool {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "a", "--json", "--controller", ctl, "--timeout", "3s")
		return code == 0 && json.Unmarshal([]byte(out), &s) == nil
	}
	proctest.Eventually(t, 60*time.Second, "a ticking with a synced standby", func() bool {
		return get() && s.tick() > 120 && s.Replication != nil && len(s.Replication.Synced) == 1
	})
	leader, _ := peers()
	var paused *proctest.Process
	for _, p := range ctls {
		if p.Name == leader {
			paused = p
		}
	}
	if paused == nil {
		t.Fatalf("no leader among %v", leader)
	}
	before := s.tick()
	primary := s.Primary
	paused.Pause()
	defer paused.Resume()
	start := time.Now()
	proctest.Eventually(t, 15*time.Second, "a new leader", func() bool { l, _ := peers(); return l != "" && l != leader })
	t.Logf("paused leader %s; %s leads %v later", leader, func() string { l, _ := peers(); return l }(), time.Since(start).Round(time.Millisecond))
	time.Sleep(6 * time.Second) // past the lease TTL (5 s)
	if !get() {
		t.Fatal("surface get failed with the leader paused")
	}
	elapsed := time.Since(start)
	t.Logf("a: tick %d -> %d in %v with %s paused (primary %s -> %s)", before, s.tick(), elapsed.Round(time.Millisecond), leader, primary, s.Primary)
	// Heartbeat-reported ticks lag by up to a second; a fenced stretch would cost
	// several seconds of ticks.
	if want := before + uint64(60*(elapsed.Seconds()-2)); s.tick() < want {
		t.Errorf("a stalled while the leader was paused: tick %d, want at least %d", s.tick(), want)
	}
	for _, n := range nodes {
		if log := n.Log(); strings.Contains(log, "lease expired") || strings.Contains(log, "no longer has this node up") {
			t.Errorf("%s was fenced or marked down while a controller was paused:\n%s", n.Name, log)
		}
	}
}
