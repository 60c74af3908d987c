package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestClusterPeersShowADownController kills one of three controller processes:
// `cluster peers` and `cluster status` (human and --json), asked through
// either survivor, name it unreachable and say the cluster has no failure to
// spare.
func TestClusterPeersShowADownController(t *testing.T) {
	bin, api, procs, all := startThreeUp(t)

	procs[2].Kill()
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last cluster peers:\n%s", last)
		}
	}()
	for _, addr := range api[:2] {
		proctest.Eventually(t, 20*time.Second, "c3 to show unreachable through "+addr, func() bool {
			out, _, code := proctest.Run(t, bin, 10*time.Second, "cluster", "peers", "--controller", addr)
			if code != 0 {
				return false
			}
			var c3 string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "c3 ") {
					c3 = l
				}
			}
			last = out
			return strings.Contains(c3, "unreachable for ") && strings.Contains(out, "2 of 3 voters up: one more failure stops writes")
		})
	}
	// A follower that answers asks the leader about the others, for a second at
	// most, and says "unknown" if it got no answer (a busy machine): asked again,
	// it must say c3 is down.
	proctest.Eventually(t, 20*time.Second, "cluster status to show c3 down", func() bool {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "cluster", "status", "--controller", all)
		last = out
		return code == 0 && strings.Contains(out, "voters:       2 of 3 voters up: one more failure stops writes")
	})
	var st struct {
		VotersUp       int    `json:"voters_up"`
		FaultTolerance string `json:"fault_tolerance"`
		Peers          []struct {
			ID            string `json:"id"`
			Health        string `json:"health"`
			UnreachableMs int64  `json:"unreachable_ms"`
		} `json:"peers"`
	}
	health := map[string]string{}
	var out string
	proctest.Eventually(t, 20*time.Second, "cluster status --json to show c3 down", func() bool {
		var code int
		out, _, code = proctest.Run(t, bin, 10*time.Second, "cluster", "status", "--json", "--controller", all)
		st.Peers = nil
		if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
			t.Fatalf("cluster status --json: exit %d, %v\n%s", code, err, out)
		}
		clear(health)
		known := true
		for _, p := range st.Peers {
			health[p.ID] = p.Health
			known = known && p.Health != "unknown"
		}
		return known
	})
	for _, p := range st.Peers {
		if p.ID == "c3" && p.UnreachableMs <= 0 {
			t.Errorf("c3 unreachable_ms = %d", p.UnreachableMs)
		}
	}
	if st.VotersUp != 2 || health["c1"] != "up" || health["c2"] != "up" || health["c3"] != "unreachable" || !strings.Contains(st.FaultTolerance, "one more failure stops writes") {
		t.Errorf("cluster status --json with c3 down: %s", out)
	}
}

// TestClusterPeersShowAPausedLeaderAfterFailover pauses the leading controller
// (SIGSTOP: its sockets still accept, so Raft's transport only times out much
// later): the leader elected after it must call it unreachable within seconds,
// not up while the cluster in fact has no failure to spare.
func TestClusterPeersShowAPausedLeaderAfterFailover(t *testing.T) {
	bin, api, procs, all := startThreeUp(t)
	var st struct {
		ID       string `json:"id"`
		LeaderID string `json:"leader_id"`
	}
	proctest.JSON(t, bin, &st, "cluster", "status", "--json", "--controller", all)
	old := st.LeaderID
	var paused *proctest.Process
	var others []string
	for i, p := range procs {
		if fmt.Sprintf("c%d", i+1) == old {
			paused = p
		} else {
			others = append(others, api[i])
		}
	}
	if paused == nil {
		t.Fatalf("leader %q is none of c1..c3", old)
	}
	paused.Pause()
	defer paused.Resume()
	var elected time.Time
	proctest.Eventually(t, 30*time.Second, "a new leader", func() bool {
		out, _, code := proctest.Run(t, bin, 5*time.Second, "cluster", "status", "--json", "--controller", strings.Join(others, ","), "--timeout", "3s")
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.LeaderID == "" || st.LeaderID == old {
			return false
		}
		elected = time.Now()
		return true
	})
	var last string
	for {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "cluster", "peers", "--controller", strings.Join(others, ","))
		last = out
		if code == 0 && strings.Contains(out, "2 of 3 voters up: one more failure stops writes") {
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, old+" ") && !strings.Contains(l, "unreachable") {
					t.Errorf("the paused %s is not said unreachable:\n%s", old, out)
				}
			}
			break
		}
		if time.Since(elected) > 8*time.Second {
			t.Fatalf("8s after %s took over from the paused %s, cluster peers still says:\n%s", st.LeaderID, old, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s said unreachable %v after %s took over", old, time.Since(elected).Round(time.Millisecond), st.LeaderID)
}

// startThreeUp starts three controllers and waits until cluster peers says all
// three voters are up; all is their API addresses for --controller.
func startThreeUp(t *testing.T) (bin string, api []string, procs []*proctest.Process, all string) {
	t.Helper()
	dir, bin := processTest(t, "starts three controllers")
	api, procs = startThreeControllers(t, dir, bin)
	all = strings.Join(api, ",")
	proctest.Eventually(t, 30*time.Second, "three voters, all up", func() bool {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "cluster", "peers", "--controller", all)
		return code == 0 && strings.Contains(out, "3 of 3 voters up: the cluster survives 1 failure")
	})
	return bin, api, procs, all
}
