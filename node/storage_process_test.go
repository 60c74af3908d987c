package node_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/starlane/starlane/internal/proctest"
)

// faultSurface is what these tests read of `surface get --json`.
type faultSurface struct {
	Primary string `json:"primary"`
	Stats   *struct {
		Tick          uint64 `json:"tick"`
		ConfirmedTick uint64 `json:"confirmed_tick"`
	} `json:"stats"`
	Replication *struct {
		Synced []string `json:"synced"`
	} `json:"replication"`
	Events []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"events"`
}

func (s faultSurface) tick() uint64 {
	if s.Stats == nil {
		return 0
	}
	return s.Stats.Tick
}

func (s faultSurface) confirmed() uint64 {
	if s.Stats == nil {
		return 0
	}
	return s.Stats.ConfirmedTick
}

func faultSurfaceOf(t *testing.T, c *proctest.Cluster, name string) faultSurface {
	t.Helper()
	var s faultSurface
	c.JSON(&s, "surface", "get", name)
	return s
}

// listStatus runs `surface list` (the table an operator reads) and returns each
// surface's STATUS column.
func listStatus(t *testing.T, c *proctest.Cluster) map[string]string {
	t.Helper()
	out := c.CLI("surface", "list")
	cols := regexp.MustCompile(`\s{2,}`)
	st := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := cols.Split(strings.TrimSpace(line), -1)
		st[f[0]] = f[len(f)-1]
	}
	return st
}

func hasEvent(s faultSurface, kind, text string) bool {
	for _, e := range s.Events {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// ticking waits until surface name runs on node (any node if "") with its tick
// moving past from.
func ticking(t *testing.T, c *proctest.Cluster, d time.Duration, name, node string, from uint64) faultSurface {
	t.Helper()
	var s faultSurface
	proctest.Eventually(t, d, name+" ticking on "+node, func() bool {
		s = faultSurfaceOf(t, c, name)
		return (node == "" || s.Primary == node) && s.tick() > from+30
	})
	return s
}

// dumpOnFailure logs the cluster's state and the processes' last lines when the
// test fails.
func dumpOnFailure(t *testing.T, c *proctest.Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		out, _, _ := proctest.Run(t, bin, 10*time.Second, "surface", "list", "--controller", c.CtlAddr)
		t.Logf("surface list:\n%s", out)
		for _, p := range append([]*proctest.Process{c.Controller}, c.Nodes["n1"], c.Nodes["n2"]) {
			if p == nil {
				continue
			}
			lines := strings.Split(p.Log(), "\n")
			t.Logf("--- %s (last lines)\n%s", p.Name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
}

// logRoot returns the page of a shard store's input-log bucket root.
func logRoot(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root int64
	_ = db.View(func(tx *bolt.Tx) error { root = int64(tx.Bucket([]byte("log")).RootPage()); return nil })
	return root
}

func smash(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a, 0xc3, 0x17, 0xe8}, n/4), off); err != nil {
		t.Fatal(err)
	}
}

// twoNodesCheckpointing starts a controller and nodes n1 and n2 checkpointing
// every 120 ticks, in a temporary dir it returns.
func twoNodesCheckpointing(t *testing.T) (string, *proctest.Cluster) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	for _, n := range []string{"n1", "n2"} {
		c.StartNode(n, "--checkpoint-every", "120")
	}
	c.WaitNodes("n1", "n2")
	dumpOnFailure(t, c)
	return dir, c
}

// TestCorruptShardStore stops a whole cluster, damages two shard stores on n1 (the
// input log's root page of a, which has a synced standby on n2; both meta pages of
// c, which has none) and starts it again. The node must not crash: it moves the
// damaged files aside, a runs on from its standby with no confirmed tick lost, c
// is listed `failed: store corrupt on n1` with an event that says its state is
// lost (no standby, no autosave) and what to do, and b, on the same node
// with an intact store, keeps running. d's standby copy on n2 is damaged the
// same way: when n1 registers again the leader promotes d's synced standby on n2,
// which finds its copy gone; n1's intact copy, a standby now, is then the newest
// state left, newer than any save, and d goes on from it (promoted back) at or
// after its last durable tick, with an event saying so.
func TestCorruptShardStore(t *testing.T) {
	dir, c := twoNodesCheckpointing(t)
	c.CLI("surface", "create", "a", "--node", "n1", "--replicas", "2")
	c.CLI("surface", "create", "b", "--node", "n1", "--replicas", "1")
	c.CLI("surface", "create", "c", "--node", "n1", "--replicas", "1")
	c.CLI("surface", "create", "d", "--node", "n1", "--replicas", "2")
	proctest.Eventually(t, 60*time.Second, "a and d synced on n2 and every surface past tick 300", func() bool {
		a, d := faultSurfaceOf(t, c, "a"), faultSurfaceOf(t, c, "d")
		return a.Replication != nil && len(a.Replication.Synced) == 1 && a.tick() > 300 &&
			d.Replication != nil && len(d.Replication.Synced) == 1 && d.tick() > 300 &&
			faultSurfaceOf(t, c, "b").tick() > 300 && faultSurfaceOf(t, c, "c").tick() > 300
	})
	c.Nodes["n1"].Stop()
	c.Nodes["n2"].Stop()
	c.Controller.Stop()
	confirmed := map[string]uint64{}
	for _, s := range []string{"a", "b", "c", "d"} {
		_, last := logTicks(t, filepath.Join(dir, "n1", "shards", s, "shard.db"))
		confirmed[s] = last
	}
	storeA, storeC := filepath.Join(dir, "n1", "shards", "a", "shard.db"), filepath.Join(dir, "n1", "shards", "c", "shard.db")
	smash(t, storeA, logRoot(t, storeA)*int64(os.Getpagesize()), 8192)
	smash(t, storeC, 16, 48)
	smash(t, storeC, int64(os.Getpagesize())+16, 48)
	// d's standby copy on n2 loses both meta pages too.
	standbyD := filepath.Join(dir, "n2", "shards", "d", "shard.db")
	smash(t, standbyD, 16, 48)
	smash(t, standbyD, int64(os.Getpagesize())+16, 48)

	c.Controller.Restart(t)
	c.Nodes["n1"].Restart(t)
	c.Nodes["n2"].Restart(t)
	restarted := time.Now()
	// a is pinned to n1: it runs on n2 first, then moves back to n1's new copy.
	a := ticking(t, c, 30*time.Second, "a", "", confirmed["a"])
	t.Logf("a ticks again %v after the restart (tick %d, last durable tick before the stop %d)", time.Since(restarted).Round(time.Millisecond), a.tick(), confirmed["a"])
	ticking(t, c, 30*time.Second, "b", "n1", confirmed["b"])
	proctest.Eventually(t, 30*time.Second, "c listed as failed: store corrupt on n1", func() bool {
		return listStatus(t, c)["c"] == "failed: store corrupt on n1"
	})
	// While n1 gets a new standby copy the status may name the placement under way.
	proctest.Eventually(t, 30*time.Second, "a listed as placed after the takeover", func() bool {
		return strings.HasPrefix(listStatus(t, c)["a"], "placed")
	})
	proctest.Eventually(t, 10*time.Second, "a surface.failed event for c", func() bool {
		return hasEvent(faultSurfaceOf(t, c, "c"), "surface.failed", "store corrupt")
	})
	// c has no standby and no autosave: its event says the state is lost and what
	// to do, not that it waits for n1 (which is up, and never gets the copy back).
	if !hasEvent(faultSurfaceOf(t, c, "c"), "surface.failed", "no synced standby and no autosave hold it, so its state is lost: `starlane surface delete c --yes`") ||
		hasEvent(faultSurfaceOf(t, c, "c"), "surface.failed", "store corrupt: store corrupt") {
		t.Errorf("c's failure event: %+v", faultSurfaceOf(t, c, "c").Events)
	}
	d := ticking(t, c, 30*time.Second, "d", "n1", confirmed["d"])
	if !hasEvent(d, "surface.promoted", "promoted standby n1, whose copy reaches tick") {
		t.Errorf("d runs on n1 again without an event saying it went on from n1's copy: %+v", d.Events)
	}
	if m, _ := filepath.Glob(standbyD + ".corrupt-*"); len(m) != 1 {
		t.Errorf("%s was not moved aside: %v", standbyD, m)
	}
	if !hasEvent(faultSurfaceOf(t, c, "a"), "surface.promoted", "n2") {
		t.Errorf("no promotion event for a: %+v", faultSurfaceOf(t, c, "a").Events)
	}
	for _, p := range []string{storeA, storeC} {
		if m, _ := filepath.Glob(p + ".corrupt-*"); len(m) != 1 {
			t.Errorf("%s was not moved aside: %v", p, m)
		}
	}
	if log := c.Nodes["n1"].Log(); strings.Contains(log, "panic:") || strings.Contains(log, "fatal error") {
		t.Errorf("n1 crashed:\n%s", log)
	}
}

// TestCorruptStandbyStoreIsReplaced damages a standby's store while its node is
// stopped and its primary runs on: the standby's node moves the file aside and
// takes a new copy from the primary on its own, and the leader records an event
// saying so (the surface never stopped, but a disk damaged a file).
func TestCorruptStandbyStoreIsReplaced(t *testing.T) {
	dir, c := twoNodesCheckpointing(t)
	c.CLI("surface", "create", "e", "--node", "n1", "--replicas", "2")
	proctest.Eventually(t, 60*time.Second, "e synced on n2 past tick 300", func() bool {
		e := faultSurfaceOf(t, c, "e")
		return e.Replication != nil && len(e.Replication.Synced) == 1 && e.tick() > 300
	})
	c.Nodes["n2"].Stop()
	store := filepath.Join(dir, "n2", "shards", "e", "shard.db")
	smash(t, store, 16, 48)
	smash(t, store, int64(os.Getpagesize())+16, 48)
	c.Nodes["n2"].Restart(t)
	proctest.Eventually(t, 60*time.Second, "e's new standby copy on n2 synced, and an event for the damaged one", func() bool {
		e := faultSurfaceOf(t, c, "e")
		return e.Primary == "n1" && e.Replication != nil && len(e.Replication.Synced) == 1 &&
			hasEvent(e, "surface.failed", "its standby on n2 failed as it opened: store corrupt")
	})
	if e := faultSurfaceOf(t, c, "e"); !hasEvent(e, "surface.failed", "the damaged store was moved aside and a new copy is taken from the primary") {
		t.Errorf("e's event does not say what became of the damaged copy: %+v", e.Events)
	}
	if m, _ := filepath.Glob(store + ".corrupt-*"); len(m) != 1 {
		t.Errorf("%s was not moved aside: %v", store, m)
	}
}

// logTicks reads the first and last tick of a stopped shard store's input log.
func logTicks(t *testing.T, path string) (first, last uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket([]byte("log")).Cursor()
		if k, _ := cur.First(); k != nil {
			first = beUint64(k)
		}
		if k, _ := cur.Last(); k != nil {
			last = beUint64(k)
		}
		return nil
	})
	return first, last
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// mountTmpfs mounts a small tmpfs at dir, or skips the test saying why not.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small file system: mounting a %s tmpfs at %s failed (%v: %s); run as root (or with CAP_SYS_ADMIN) to test it", size, dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", dir, err, out)
		}
	})
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 16<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestDiskFull runs n1 on a 3 MB tmpfs and fills it while its surfaces tick. n1
// checkpoints rarely, so their input logs grow and soon need a page the disk
// cannot give. a, with a synced standby on n2, must tick there within 5 s of
// failing, with no confirmed tick lost; b, with no standby, is reported failed
// (a surface.failed event saying the disk is full) and moves live to n2 from
// n1's copy, which keeps serving its state: it ticks there with no confirmed
// tick lost, and the move's event says why. n1 is listed unhealthy and takes no
// new surface while its disk is full, even with nothing left on it; once the
// space is freed it is healthy again, and b keeps running on n2.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	mountTmpfs(t, filepath.Join(dir, "n1"), "3m")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1", "--checkpoint-every", "1000000")
	c.StartNode("n2")
	c.WaitNodes("n1", "n2")
	dumpOnFailure(t, c)
	c.CLI("surface", "create", "a", "--node", "n1", "--replicas", "2")
	c.CLI("surface", "create", "b", "--node", "n1", "--replicas", "1")
	proctest.Eventually(t, 30*time.Second, "a and b placed on n1", func() bool {
		return faultSurfaceOf(t, c, "a").Primary == "n1" && faultSurfaceOf(t, c, "b").Primary == "n1"
	})
	c.CLI("surface", "pin", "a", "--unpin") // the takeover must stay on n2
	c.CLI("surface", "pin", "b", "--unpin") // b may move off n1
	proctest.Eventually(t, 60*time.Second, "a synced on n2 and both surfaces past tick 200", func() bool {
		a := faultSurfaceOf(t, c, "a")
		return a.Replication != nil && len(a.Replication.Synced) == 1 && a.tick() > 200 && faultSurfaceOf(t, c, "b").tick() > 200
	})
	before := map[string]uint64{"a": faultSurfaceOf(t, c, "a").confirmed(), "b": faultSurfaceOf(t, c, "b").confirmed()}
	filler := filepath.Join(dir, "n1", "filler")
	fill(t, filler)
	full := time.Now()

	var failedAt time.Time
	proctest.Eventually(t, 60*time.Second, "a to fail on n1's full disk", func() bool {
		st := listStatus(t, c)
		if st["a"] == "failed: disk full on n1" || faultSurfaceOf(t, c, "a").Primary == "n2" {
			failedAt = time.Now()
			return true
		}
		return false
	})
	a := ticking(t, c, 5*time.Second, "a", "n2", before["a"])
	t.Logf("a failed %v after the disk filled and ticks on its standby n2 %v later (confirmed %d, before the fill %d)",
		failedAt.Sub(full).Round(time.Millisecond), time.Since(failedAt).Round(time.Millisecond), a.confirmed(), before["a"])
	if a.confirmed() < before["a"] {
		t.Errorf("a lost confirmed ticks: %d before the disk filled, %d after the takeover", before["a"], a.confirmed())
	}
	if !hasEvent(faultSurfaceOf(t, c, "a"), "surface.promoted", "n2") {
		t.Errorf("no promotion event for a")
	}
	proctest.Eventually(t, 10*time.Second, "a surface.failed event for b", func() bool {
		return hasEvent(faultSurfaceOf(t, c, "b"), "surface.failed", "disk full")
	})
	var failed faultSurface
	for _, e := range faultSurfaceOf(t, c, "b").Events {
		if e.Kind == "surface.failed" {
			t.Logf("b: %s", e.Message)
		}
	}
	b := ticking(t, c, 30*time.Second, "b", "n2", before["b"])
	t.Logf("b ticks on n2 %v after the disk filled (tick %d, confirmed %d; confirmed %d before the fill)",
		time.Since(full).Round(time.Millisecond), b.tick(), b.confirmed(), before["b"])
	if b.confirmed() < before["b"] {
		t.Errorf("b lost confirmed ticks: %d before the disk filled, %d after the move", before["b"], b.confirmed())
	}
	if !hasEvent(b, "surface.moved", "disk full on n1") {
		t.Errorf("no surface.moved event for b naming n1's full disk: %+v", b.Events)
	}
	failed = b
	var fs syscall.Statfs_t
	_ = syscall.Statfs(filepath.Join(dir, "n1"), &fs)
	t.Logf("n1's disk after b moved: %d KiB free", fs.Bavail*uint64(fs.Bsize)>>10)
	proctest.Eventually(t, 10*time.Second, "b listed as placed on n2", func() bool {
		return strings.HasPrefix(listStatus(t, c)["b"], "placed")
	})
	// Nothing runs on n1 any more, but its disk is still full: it stays unhealthy.
	if h := nodeHealthOf(t, c, "n1"); h != "disk full" {
		t.Errorf("node n1's health with its disk full is %q, want \"disk full\"", h)
	}
	if out := c.CLI("node", "list"); !strings.Contains(out, "unhealthy (disk full)") {
		t.Errorf("node list does not show n1 unhealthy:\n%s", out)
	}
	// A new surface avoids the unhealthy node, even pinned nowhere and n1 lighter.
	c.CLI("surface", "create", "d", "--replicas", "1")
	proctest.Eventually(t, 30*time.Second, "d placed", func() bool { return faultSurfaceOf(t, c, "d").Primary != "" })
	if p := faultSurfaceOf(t, c, "d").Primary; p != "n2" {
		t.Errorf("new surface d was placed on %s, want n2 (n1's disk is full)", p)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	proctest.Eventually(t, 15*time.Second, "n1 healthy again", func() bool { return nodeHealthOf(t, c, "n1") == "" })
	t.Logf("n1 healthy again %v after the space was freed", time.Since(freed).Round(time.Millisecond))
	b = ticking(t, c, 10*time.Second, "b", "n2", failed.tick())
	if b.confirmed() < failed.confirmed() {
		t.Errorf("b's confirmed tick went back from %d to %d", failed.confirmed(), b.confirmed())
	}
}

// TestDiskFullDuringCheckpoint runs a one-node cluster on a 24 MB tmpfs with a
// checkpoint every 300 ticks, and a megabase-full surface, whose checkpoints take
// megabytes (the tmpfs was 12 MB until the map grew to some 960,000 entities: then
// even with the filler gone the next checkpoint did not fit, and the surface never
// resumed).
// Soon after the surface starts (its store holds only the initial checkpoint, so
// the next one needs new pages: none were freed yet) the disk is filled and then
// given back 128 KiB: enough for the input log's next ticks, not for the
// checkpoint at tick 300, so the checkpoint write is what finds no space. The surface is listed `failed: disk full on n1` with an event (there
// is no other node to move it to), the node is unhealthy, and the shard's
// directory holds no partial checkpoint or temporary file; once the space is
// freed the node is healthy again and the surface resumes on n1 by itself, its
// confirmed tick not gone back.
func TestDiskFullDuringCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	mountTmpfs(t, filepath.Join(dir, "n1"), "24m")
	c := proctest.StartCluster(t, bin, dir)
	n1 := c.StartNode("n1", "--checkpoint-every", "300")
	c.WaitNodes("n1")
	dumpOnFailure(t, c)
	c.CLI("surface", "create", "m", "--map", "megabase-full", "--replicas", "1")
	ticking(t, c, 2*time.Minute, "m", "n1", 0)
	shardDir := filepath.Join(dir, "n1", "shards", "m")
	files := func() []string {
		ents, err := os.ReadDir(shardDir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	had := files()
	before := faultSurfaceOf(t, c, "m")

	filler := filepath.Join(dir, "n1", "filler")
	fill(t, filler)
	fi, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filler, max(0, fi.Size()-128<<10)); err != nil {
		t.Fatal(err)
	}
	full := time.Now()
	if tk := faultSurfaceOf(t, c, "m").tick(); tk >= 290 {
		t.Fatalf("the disk filled at tick %d, too close to the checkpoint at tick 300 to be sure it is what fails", tk)
	}
	proctest.Eventually(t, 60*time.Second, "m listed as failed: disk full on n1", func() bool {
		return listStatus(t, c)["m"] == "failed: disk full on n1"
	})
	t.Logf("m failed %v after the disk filled", time.Since(full).Round(time.Millisecond))
	logText := n1.Log()
	if !regexp.MustCompile(`shard failed; it stops sequencing.*surface=m.*write a checkpoint: disk full`).MatchString(logText) {
		lines := strings.Split(logText, "\n")
		t.Fatalf("the disk was to fill on a checkpoint write; n1 logged:\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	proctest.Eventually(t, 10*time.Second, "a surface.failed event for m", func() bool {
		return hasEvent(faultSurfaceOf(t, c, "m"), "surface.failed", "disk full")
	})
	if h := nodeHealthOf(t, c, "n1"); h != "disk full" {
		t.Errorf("node n1's health with its disk full is %q, want \"disk full\"", h)
	}
	if now := files(); !slices.Equal(now, had) {
		t.Errorf("the failed checkpoint changed the shard's directory: %v before, %v after", had, now)
	}
	stuck := faultSurfaceOf(t, c, "m")
	if stuck.confirmed() < before.confirmed() {
		t.Errorf("m's confirmed tick went back from %d to %d", before.confirmed(), stuck.confirmed())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	m := ticking(t, c, 60*time.Second, "m", "n1", stuck.tick())
	t.Logf("m runs again on n1 %v after the space was freed (tick %d, confirmed %d; confirmed %d when it failed)",
		time.Since(freed).Round(time.Millisecond), m.tick(), m.confirmed(), stuck.confirmed())
	if m.confirmed() < stuck.confirmed() {
		t.Errorf("m lost confirmed ticks: %d when it failed, %d after it resumed", stuck.confirmed(), m.confirmed())
	}
	proctest.Eventually(t, 15*time.Second, "n1 healthy and m placed again", func() bool {
		return nodeHealthOf(t, c, "n1") == "" && strings.HasPrefix(listStatus(t, c)["m"], "placed")
	})
	if now := files(); !slices.Equal(now, had) {
		t.Errorf("the shard's directory after the restart: %v, before the fill %v", now, had)
	}
}

// nodeHealthOf is a node's health as `node list --json` shows it.
func nodeHealthOf(t *testing.T, c *proctest.Cluster, id string) string {
	t.Helper()
	var nodes []struct {
		ID     string `json:"id"`
		Health string `json:"health"`
	}
	c.JSON(&nodes, "node", "list", "--json")
	for _, n := range nodes {
		if n.ID == id {
			return n.Health
		}
	}
	t.Fatalf("node %s not listed", id)
	return ""
}

// TestControllerDiskFullDuringSaveUpload runs the controller on a 3 MB tmpfs and
// uploads a 3.5 MB save with `surface create --map FILE`: the command fails at
// once (exit 1, saying the disk is full, not retrying until --timeout), nothing
// is half-created, and the controller keeps serving: a small surface is created
// and placed right after, and the big one once there is room.
func TestControllerDiskFullDuringSaveUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	mountTmpfs(t, filepath.Join(dir, "controller"), "3m")
	big := filepath.Join(dir, "big.sav")
	if _, errOut, code := proctest.Run(t, bin, 2*time.Minute, "sim", "run", "--map", "megabase-10k", "--ticks", "1", "--save", big); code != 0 {
		t.Fatalf("make a big save: %s", errOut)
	}
	if fi, err := os.Stat(big); err != nil || fi.Size() < 3<<20 {
		t.Fatalf("the save is too small to fill the disk: %v %v", fi.Size(), err)
	}
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	dumpOnFailure(t, c)
	start := time.Now()
	_, errOut, code := proctest.Run(t, bin, time.Minute, "surface", "create", "big", "--map", big, "--controller", c.CtlAddr)
	took := time.Since(start)
	t.Logf("upload on a full disk: exit %d after %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(errOut))
	if code != 1 || !strings.Contains(errOut, "disk full") || took > 15*time.Second {
		t.Fatalf("uploading a save to a controller with a full disk: exit %d after %v\n%s", code, took, errOut)
	}
	if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") {
		t.Errorf("Go runtime text in front of the user:\n%s", errOut)
	}
	// A controller whose disk cannot hold its Raft log refuses to start, saying
	// the disk is full (not that its log is damaged).
	tiny := filepath.Join(dir, "tiny")
	mountTmpfs(t, tiny, "512k")
	out, errTiny, code := proctest.Run(t, bin, 30*time.Second, "controller", "--data-dir", filepath.Join(tiny, "c"),
		"--bind", "127.0.0.1:0", "--raft-bind", "127.0.0.1:0", "--bootstrap")
	if code != 1 || !strings.Contains(errTiny, "disk full") || strings.Contains(errTiny, "damaged") {
		t.Errorf("a controller on a 512 KiB disk: exit %d, want 1 saying the disk is full\n%s%s", code, out, errTiny)
	}
	c.CLI("surface", "create", "small")
	ticking(t, c, 30*time.Second, "small", "n1", 0)
	if st := listStatus(t, c); st["big"] != "" {
		t.Errorf("the failed upload left a surface behind: %q", st["big"])
	}
}
