package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/sim"
)

// lifeSurface is the part of `surface get --json` these tests read.
type lifeSurface struct {
	Primary  string `json:"primary"`
	Epoch    uint64 `json:"epoch"`
	Stopped  bool   `json:"stopped"`
	Stopping bool   `json:"stopping"`
	Map      string `json:"map"`
	Stats    *struct {
		Tick          uint64 `json:"tick"`
		ConfirmedTick uint64 `json:"confirmed_tick"`
		Stale         bool   `json:"stale"`
		Shards        []struct {
			Node          string `json:"node"`
			Role          string `json:"role"`
			Epoch         uint64 `json:"epoch"`
			Tick          uint64 `json:"tick"`
			TermStartTick uint64 `json:"term_start_tick"`
			TermStartHash string `json:"term_start_hash"`
		} `json:"shards"`
	} `json:"stats"`
	Events []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"events"`
}

func getLife(c *proctest.Cluster, name string) lifeSurface {
	var s lifeSurface
	c.JSON(&s, "surface", "get", name, "--json")
	return s
}

// primaryStart returns where the primary's copy began (tick, hash) once the
// primary of epoch reports after tick, else ok false.
func (s lifeSurface) primaryStart(after uint64) (node string, tick uint64, hash string, ok bool) {
	if s.Stats == nil || s.Primary == "" {
		return "", 0, "", false
	}
	for _, sh := range s.Stats.Shards {
		if sh.Node == s.Primary && sh.Role == "primary" && sh.Epoch == s.Epoch && sh.Tick > after && sh.TermStartHash != "" {
			return sh.Node, sh.TermStartTick, sh.TermStartHash, true
		}
	}
	return "", 0, "", false
}

// logsOnFailure prints the end of every process's log when the test failed.
func logsOnFailure(t *testing.T, c *proctest.Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		procs := map[string]*proctest.Process{"controller": c.Controller}
		for n, p := range c.Nodes {
			procs[n] = p
		}
		for n, p := range procs {
			l := p.Log()
			t.Logf("--- %s log (end):\n%s", n, l[max(0, len(l)-6000):])
		}
	})
}

// refused runs a command that must fail with exit 1 and a message.
func refused(t *testing.T, c *proctest.Cluster, want string, args ...string) {
	t.Helper()
	_, errOut, code := proctest.Run(t, c.Bin, time.Minute, append(args, "--controller", c.CtlAddr)...)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("starlane %s: exit %d, %q; want exit 1 and %q", strings.Join(args, " "), code, errOut, want)
	}
}

// TestSurfaceStopStart: a stopped surface stays in the catalog, runs on no
// node and shows `stopped`; started again, its primary (on any node) begins at
// the tick and state hash the stop saved. Stop, start and their refusals.
func TestSurfaceStopStart(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and two nodes")
	c := proctest.StartCluster(t, bin, dir)
	logsOnFailure(t, c)
	c.StartNode("n1")
	c.StartNode("n2")
	c.WaitNodes("n1", "n2")
	// With a standby: the final save waits for it to confirm the last ticks.
	c.CLI("surface", "create", "nauvis", "--map", "outpost", "--replicas", "2")
	var running lifeSurface
	proctest.Eventually(t, time.Minute, "nauvis to tick with a standby", func() bool {
		running = getLife(c, "nauvis")
		return running.Stats != nil && running.Stats.ConfirmedTick > 120 && len(running.Stats.Shards) == 2
	})
	var stop struct {
		Tick      uint64 `json:"tick"`
		StateHash string `json:"state_hash"`
		Save      string `json:"save"`
	}
	c.JSON(&stop, "surface", "stop", "nauvis", "--json")
	if stop.Tick <= 120 || len(stop.StateHash) != 16 || stop.Save == "" {
		t.Fatalf("surface stop answered %+v", stop)
	}
	t.Logf("stopped at tick %d, hash %s, save %s", stop.Tick, stop.StateHash, stop.Save)
	s := getLife(c, "nauvis")
	if !s.Stopped || s.Primary != "" {
		t.Fatalf("after stop: stopped %v, primary %q", s.Stopped, s.Primary)
	}
	if out := c.CLI("surface", "list"); !strings.Contains(out, "stopped") {
		t.Fatalf("surface list does not say stopped:\n%s", out)
	}
	// No node runs it any more.
	proctest.Eventually(t, 20*time.Second, "no node to report nauvis", func() bool {
		var nodes []struct {
			Shards []struct{ Surface string } `json:"shards"`
		}
		c.JSON(&nodes, "node", "list", "--json")
		for _, n := range nodes {
			for _, sh := range n.Shards {
				if sh.Surface == "nauvis" {
					return false
				}
			}
		}
		return true
	})
	refused(t, c, "surface nauvis is already stopped", "surface", "stop", "nauvis")
	refused(t, c, "surface nauvis is stopped; its final state is save", "surface", "save", "nauvis", "--out", filepath.Join(t.TempDir(), "n.sav"))
	refused(t, c, "surface nosuch not found", "surface", "stop", "nosuch")
	refused(t, c, "surface nosuch not found", "surface", "start", "nosuch")
	refused(t, c, "surface nauvis is stopped, so it has no primary to move: `starlane surface start nauvis` places it again", "surface", "move", "nauvis")

	// Another node: the one it ran on is cordoned.
	c.CLI("node", "cordon", running.Primary)
	c.CLI("surface", "start", "nauvis")
	proctest.Eventually(t, time.Minute, "nauvis to run again from its save", func() bool {
		_, _, _, ok := getLife(c, "nauvis").primaryStart(stop.Tick)
		return ok
	})
	node, tick, hash, _ := getLife(c, "nauvis").primaryStart(stop.Tick)
	if tick != stop.Tick || hash != stop.StateHash || node == running.Primary {
		t.Fatalf("started on %s at tick %d hash %s; the stop saved tick %d hash %s on %s", node, tick, hash, stop.Tick, stop.StateHash, running.Primary)
	}
	t.Logf("started on %s at tick %d hash %s", node, tick, hash)
	refused(t, c, "surface nauvis is already running", "surface", "start", "nauvis")
}

// TestAutosavesAndRollback: a surface keeps its newest N autosaves; each is a
// save that downloads and loads with the tick and hash listed; a rollback
// without --yes says what would be lost and changes nothing, with --yes the
// surface restarts from that save at a new epoch.
func TestAutosavesAndRollback(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	c := proctest.StartCluster(t, bin, dir)
	logsOnFailure(t, c)
	c.StartNode("n1")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "outpost", "--replicas", "1", "--autosave-every", "2s", "--autosave-keep", "3")
	type saveRow struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		Tick      uint64 `json:"tick"`
		StateHash string `json:"state_hash"`
		Sha256    string `json:"sha256"`
		Size      uint64 `json:"size"`
	}
	var saves []saveRow
	list := func() []saveRow {
		saves = nil
		c.JSON(&saves, "surface", "saves", "nauvis", "--json")
		return saves
	}
	proctest.Eventually(t, 40*time.Second, "four autosaves taken (three kept)", func() bool {
		l := list()
		return len(l) == 3 && l[0].Tick >= 2*120
	})
	for i, sv := range saves {
		if sv.Kind != "auto" || sv.Tick%120 > 60 || (i > 0 && sv.Tick <= saves[i-1].Tick) {
			t.Fatalf("autosaves: %+v", saves)
		}
	}
	t.Logf("autosaves: %+v", saves)
	if out := c.CLI("surface", "saves", "nauvis"); !strings.Contains(out, "TICK") || !strings.Contains(out, saves[2].Name) {
		t.Fatalf("surface saves:\n%s", out)
	}
	// Each is a save of the cluster: it downloads and loads as listed.
	target := saves[1]
	file := filepath.Join(dir, "auto.sav")
	c.CLI("save", "download", target.Name, "--out", file)
	refused(t, c, "is a directory; give a file name", "save", "download", target.Name, "--out", dir)
	if out := c.CLI("save", "download", target.Name, "--out", "-"); func() bool { b, _ := os.ReadFile(file); return out != string(b) }() {
		t.Errorf("save download --out - did not write the save to standard output")
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := sim.Load(sim.DefaultBundle(), f)
	f.Close()
	if err != nil {
		t.Fatalf("the downloaded autosave does not load: %v", err)
	}
	if loaded.Tick() != target.Tick || fmt.Sprintf("%016x", loaded.Hash()) != target.StateHash {
		t.Fatalf("downloaded autosave loads at tick %d hash %016x; listed tick %d hash %s", loaded.Tick(), loaded.Hash(), target.Tick, target.StateHash)
	}

	before := getLife(c, "nauvis")
	refused(t, c, "Add --yes to roll back", "surface", "rollback", "nauvis", "--to", fmt.Sprint(target.Tick))
	refused(t, c, "loses", "surface", "rollback", "nauvis", "--to", fmt.Sprint(target.Tick))
	refused(t, c, "has no save at tick 7", "surface", "rollback", "nauvis", "--to", "7", "--yes")
	refused(t, c, "there is no save nosuch", "surface", "rollback", "nauvis", "--to", "nosuch", "--yes")
	refused(t, c, "surface nosuch not found", "surface", "rollback", "nosuch", "--to", "120", "--yes")
	refused(t, c, "--to TICK|SAVE is required", "surface", "rollback", "nauvis", "--yes")
	refused(t, c, "at least 1s", "surface", "autosave", "nauvis", "--every", "10ms")
	refused(t, c, "at least 1s", "surface", "create", "gleba", "--autosave-every", "10ms")
	refused(t, c, "autosave_keep: 101 is out of range", "surface", "create", "gleba", "--autosave-keep", "101")
	refused(t, c, "keep: 101 is out of range", "surface", "autosave", "nauvis", "--keep", "101")
	refused(t, c, "surface nosuch not found", "surface", "saves", "nosuch")
	// Another surface's autosave is not this one's past.
	c.CLI("surface", "create", "vulcanus", "--map", "outpost", "--replicas", "1")
	refused(t, c, "save "+target.Name+" belongs to surface nauvis, not vulcanus", "surface", "rollback", "vulcanus", "--to", target.Name, "--yes")
	refused(t, c, "belongs to surface nauvis", "surface", "rollback", "vulcanus", "--to", target.Name)
	refused(t, c, "--planet: a surface made from a save has the save's planet", "surface", "create", "copy", "--save", target.Name, "--planet", "gleba")
	if s := getLife(c, "nauvis"); s.Epoch != before.Epoch {
		t.Fatalf("a refused rollback changed the epoch %d -> %d", before.Epoch, s.Epoch)
	}
	var rb struct {
		Tick      uint64 `json:"tick"`
		StateHash string `json:"state_hash"`
	}
	// The 12 hex digits the lists print name the save too.
	c.JSON(&rb, "surface", "rollback", "nauvis", "--to", target.Sha256[:12], "--yes", "--json")
	if rb.Tick != target.Tick || rb.StateHash != target.StateHash {
		t.Fatalf("rollback answered %+v, want tick %d hash %s", rb, target.Tick, target.StateHash)
	}
	var after lifeSurface
	proctest.Eventually(t, time.Minute, "nauvis to run from the rolled-back save", func() bool {
		after = getLife(c, "nauvis")
		_, _, _, ok := after.primaryStart(target.Tick)
		return ok && after.Epoch > before.Epoch
	})
	_, tick, hash, _ := after.primaryStart(target.Tick)
	if tick != target.Tick || hash != target.StateHash {
		t.Fatalf("rolled back to tick %d hash %s; the save is tick %d hash %s", tick, hash, target.Tick, target.StateHash)
	}
	found := false
	for _, e := range after.Events {
		found = found || e.Kind == "surface.rolled_back"
	}
	if !found {
		t.Fatalf("no surface.rolled_back event: %+v", after.Events)
	}
}

// TestRestoreFromAutosaveAfterKill: a surface without standby whose only node
// dies for good (kill -9) is restored from its newest autosave on another node,
// with an event saying the tick it resumed at and how many ticks were lost.
func TestRestoreFromAutosaveAfterKill(t *testing.T) {
	c := autosavingOnN1(t, "starts a controller and two nodes", "--restore-after", "3s")
	c.StartNode("n2")
	c.WaitNodes("n2")
	s := getLife(c, "nauvis")
	if s.Primary != "n1" {
		t.Fatalf("nauvis runs on %q, want n1", s.Primary)
	}
	// A second more, reported: n1 has confirmed ticks its autosaves do not hold.
	time.Sleep(1500 * time.Millisecond)
	s = getLife(c, "nauvis")
	t.Logf("before the kill: confirmed tick %d", s.Stats.ConfirmedTick)
	c.Nodes["n1"].Kill()
	// A stop while n1 is silent but not yet marked down is refused at once: the
	// final save could not be taken, and the stop would wait for it in vain.
	time.Sleep(3 * time.Second)
	start := time.Now()
	_, errOut, code := proctest.Run(t, c.Bin, time.Minute, "surface", "stop", "nauvis", "--controller", c.CtlAddr)
	if code != 1 || !strings.Contains(errOut, "n1") || time.Since(start) > 10*time.Second {
		t.Errorf("surface stop with its only node dead: exit %d after %v, %q; want it refused at once", code, time.Since(start).Round(time.Millisecond), errOut)
	}
	if st := getLife(c, "nauvis"); st.Stopping {
		t.Errorf("the refused stop left nauvis stopping")
	}
	var after lifeSurface
	proctest.Eventually(t, time.Minute, "nauvis restored on n2", func() bool {
		after = getLife(c, "nauvis")
		node, _, _, ok := after.primaryStart(0)
		return ok && node == "n2"
	})
	_, tick, _, _ := after.primaryStart(0)
	msg := ""
	for _, e := range after.Events {
		if e.Kind == "surface.restored" {
			msg = e.Message
		}
	}
	if !strings.Contains(msg, fmt.Sprintf("resumes at tick %d;", tick)) || !strings.Contains(msg, "are lost") {
		t.Fatalf("restored at tick %d; event %q", tick, msg)
	}
	t.Logf("event: %s", msg)
	// It says how much was lost: at least what n1 had confirmed past the
	// autosave when it was last heard of (read just before the kill).
	var lost uint64
	if i := strings.Index(msg, " ticks or more are lost"); i > 0 {
		fmt.Sscan(msg[strings.LastIndex(msg[:i], " ")+1:i], &lost)
	}
	if s.Stats == nil {
		t.Fatal("no stats of nauvis before the kill")
	}
	if lost+tick < s.Stats.ConfirmedTick {
		t.Errorf("the event says %d ticks lost from tick %d; n1 had confirmed tick %d before the kill", lost, tick, s.Stats.ConfirmedTick)
	}
	// It keeps ticking there.
	proctest.Eventually(t, 30*time.Second, "nauvis ticking on n2", func() bool {
		s := getLife(c, "nauvis")
		return s.Stats != nil && s.Stats.ConfirmedTick > tick+60 && !s.Stats.Stale
	})
}

// TestNodeBackOnANewDataDir: a node killed and started again under its name on an
// empty data dir (a replaced disk) has lost its copies. A surface whose only copy
// was there is restored from its newest autosave, with events saying so, instead
// of starting again from its map at tick 0 under the same epoch.
func TestNodeBackOnANewDataDir(t *testing.T) {
	c := autosavingOnN1(t, "starts a controller and a node")
	before := getLife(c, "nauvis")
	c.Nodes["n1"].Kill()
	if err := os.RemoveAll(filepath.Join(c.Dir, "n1")); err != nil {
		t.Fatal(err)
	}
	c.Nodes["n1"].Restart(t)
	var after lifeSurface
	proctest.Eventually(t, time.Minute, "nauvis restored from an autosave on the new n1", func() bool {
		after = getLife(c, "nauvis")
		for _, e := range after.Events {
			if e.Kind == "surface.restored" {
				return after.Stats != nil && after.Stats.Tick > 0 && after.Epoch > before.Epoch
			}
		}
		return false
	})
	kinds := map[string]bool{}
	for _, e := range after.Events {
		kinds[e.Kind] = true
	}
	if !kinds["surface.copy_lost"] {
		t.Errorf("no surface.copy_lost event: %+v", after.Events)
	}
	if _, tick, _, ok := after.primaryStart(0); !ok || tick == 0 {
		t.Errorf("nauvis started again at tick %d on the new data dir, want its newest autosave's tick", tick)
	}
}

// autosavingOnN1 starts a controller (with extra flags) and node n1, and an
// outpost surface nauvis without standby on n1 that autosaves every second, and
// waits for two autosaves of it.
func autosavingOnN1(t *testing.T, why string, extra ...string) *proctest.Cluster {
	dir, bin := processTest(t, why)
	c := proctest.StartCluster(t, bin, dir, extra...)
	logsOnFailure(t, c)
	c.StartNode("n1")
	c.WaitNodes("n1")
	// Only n1 exists when it is placed, so it runs there.
	c.CLI("surface", "create", "nauvis", "--map", "outpost", "--replicas", "1", "--autosave-every", "1s")
	proctest.Eventually(t, time.Minute, "two autosaves of nauvis", func() bool {
		var l []struct{ Tick uint64 }
		c.JSON(&l, "surface", "saves", "nauvis", "--json")
		return len(l) >= 2
	})
	return c
}

// TestSurfaceSaveWaitsOutAPausedPrimary: with the primary's node paused (its
// socket accepts, nothing answers), `surface save` says what it waits for and
// downloads the surface from the standby that takes over, instead of hanging
// silently until its timeout and failing.
func TestSurfaceSaveWaitsOutAPausedPrimary(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and two nodes")
	c := proctest.StartCluster(t, bin, dir)
	logsOnFailure(t, c)
	nodes := map[string]*proctest.Process{"n1": c.StartNode("n1"), "n2": c.StartNode("n2")}
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "nauvis", "--map", "outpost", "--replicas", "2")
	var running lifeSurface
	proctest.Eventually(t, time.Minute, "nauvis to tick with a standby", func() bool {
		running = getLife(c, "nauvis")
		return running.Stats != nil && running.Stats.ConfirmedTick > 120 && len(running.Stats.Shards) == 2
	})
	nodes[running.Primary].Pause()
	defer nodes[running.Primary].Resume()
	file := filepath.Join(t.TempDir(), "nauvis.sav")
	start := time.Now()
	out, errOut, code := proctest.Run(t, bin, 90*time.Second, "surface", "save", "nauvis", "--out", file, "--timeout", "60s", "--controller", c.CtlAddr)
	t.Logf("surface save took %v:\n%s%s", time.Since(start).Round(time.Millisecond), errOut, out)
	if code != 0 || !strings.Contains(errOut, "node "+running.Primary) || !strings.Contains(errOut, "waiting for it or for a standby to take over") {
		t.Fatalf("surface save with %s paused: exit %d; want it to say what it waits for and succeed", running.Primary, code)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := sim.Load(sim.DefaultBundle(), f)
	if err != nil {
		t.Fatalf("the save does not load: %v", err)
	}
	if s.Tick() < running.Stats.ConfirmedTick {
		t.Fatalf("the save is at tick %d, before the tick %d confirmed before the pause", s.Tick(), running.Stats.ConfirmedTick)
	}
}
