package node_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// Several standbys, with real node processes: the confirmation rule and the promotion
// rule must agree however many standbys a surface has, and killing processes at any
// moment (SIGKILL) must neither lose nor duplicate a plate on the bridges.

// flowing waits until both bridges of the loop world delivered more than before.
func flowing(t *testing.T, c *proctest.Cluster, d time.Duration, what string) {
	t.Helper()
	before := delivered(t, c, "ab") + delivered(t, c, "ba")
	proctest.Eventually(t, d, what, func() bool { return delivered(t, c, "ab")+delivered(t, c, "ba") > before+20 })
}

// TestTwoStandbysLosePrimaryAndBestStandby gives surface a two synced standbys,
// freezes one of them (SIGSTOP) long enough to fall well behind while still counting
// as synced, then kills the primary and the other, up-to-date standby together. The
// frozen one is the only copy left and is promoted. No plate may be lost or
// duplicated. Failed on the old main: the primary confirmed ticks as soon as the best
// standby held them, so the promoted copy lacked ticks whose bridge entries and acks
// had already left (plates were lost), and an ack above the rewound port's counter
// pruned entries that had never been sent.
func TestTwoStandbysLosePrimaryAndBestStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (~1 min)")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	nodes := []string{"n1", "n2", "n3", "n4"}
	for _, n := range nodes {
		c.StartNode(n, "--checkpoint-every", "300", "--standby-drop-after", "4s")
	}
	c.WaitNodes(nodes...)
	c.CLI("surface", "create", "a", "--map", "loop", "--node", "n1", "--replicas", "3")
	c.CLI("surface", "create", "b", "--map", "loop", "--node", "n4", "--replicas", "1")
	c.CLI("bridge", "create", "--from", "a:out", "--to", "b:in", "--name", "ab")
	c.CLI("bridge", "create", "--from", "b:out", "--to", "a:in", "--name", "ba")
	unpinWhenPlaced(t, c, map[string]string{"a": "n1", "b": "n4"})
	proctest.Eventually(t, 90*time.Second, "a to have two synced standbys", func() bool {
		return len(surfaceOf(t, c, "a").Replication.Synced) == 2
	})
	flowing(t, c, 60*time.Second, "plates to cross both bridges")

	sa := surfaceOf(t, c, "a")
	slow, best := sa.Replication.Synced[0], sa.Replication.Synced[1]
	c.Nodes[slow].Pause()
	time.Sleep(1500 * time.Millisecond) // ~90 ticks behind; synced until 4 s
	c.Nodes["n1"].Kill()
	c.Nodes[best].Kill()
	c.Nodes[slow].Resume()
	t.Logf("froze %s, killed the primary n1 and the best standby %s", slow, best)
	proctest.Eventually(t, 60*time.Second, "a to be promoted on "+slow, func() bool { return surfaceOf(t, c, "a").Primary == slow })
	flowing(t, c, 60*time.Second, "the bridges to flow again")
	c.Nodes[slow].Stop()
	c.Nodes["n4"].Stop()
	if got := plates(t, dir, map[string]string{"a": slow, "b": "n4"}); got != 4000 {
		t.Fatalf("%d plates after the promotion, the maps started with 4000", got)
	}
}

// TestRandomKillsWithStandbys kills (SIGKILL) a random node of four at random moments
// while both loop surfaces run with two standbys each and their bridges flow; each
// killed node comes back after a random pause, sometimes before the cluster noticed.
// At the end the plates on both surfaces plus those in flight, read from the final
// primaries' stores, must be the 4,000 the maps started with.
func TestRandomKillsWithStandbys(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (~2 min)")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	nodes := []string{"n1", "n2", "n3", "n4"}
	for _, n := range nodes {
		c.StartNode(n, "--checkpoint-every", "300")
	}
	c.WaitNodes(nodes...)
	c.CLI("surface", "create", "a", "--map", "loop", "--node", "n1", "--replicas", "3")
	c.CLI("surface", "create", "b", "--map", "loop", "--node", "n2", "--replicas", "3")
	c.CLI("bridge", "create", "--from", "a:out", "--to", "b:in", "--name", "ab")
	c.CLI("bridge", "create", "--from", "b:out", "--to", "a:in", "--name", "ba")
	unpinWhenPlaced(t, c, map[string]string{"a": "n1", "b": "n2"})
	synced := func(min int) func() bool {
		return func() bool {
			for _, s := range []string{"a", "b"} {
				sf := surfaceOf(t, c, s)
				if sf.Primary == "" || len(sf.Replication.Synced) < min {
					return false
				}
			}
			return true
		}
	}
	proctest.Eventually(t, 90*time.Second, "both surfaces to have two synced standbys", synced(2))
	flowing(t, c, 60*time.Second, "plates to cross both bridges")

	rng := rand.New(rand.NewPCG(17, 4))
	kills := 0
	for round := 0; round < 6; round++ {
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
		// Prefer a node running a primary: that is where a kill can hurt.
		victim := nodes[rng.IntN(len(nodes))]
		if rng.IntN(2) == 0 {
			victim = surfaceOf(t, c, []string{"a", "b"}[rng.IntN(2)]).Primary
		}
		if victim == "" || !slices.Contains(nodes, victim) {
			continue
		}
		c.Nodes[victim].Kill()
		kills++
		time.Sleep(time.Duration(rng.IntN(6000)) * time.Millisecond)
		c.Nodes[victim].Restart(t)
		proctest.Eventually(t, 90*time.Second, "both surfaces to run with a synced standby again", synced(1))
		flowing(t, c, 60*time.Second, "the bridges to flow again")
	}
	if kills < 4 {
		t.Fatalf("only %d kills ran", kills)
	}
	final := map[string]string{"a": surfaceOf(t, c, "a").Primary, "b": surfaceOf(t, c, "b").Primary}
	for _, n := range nodes {
		c.Nodes[n].Stop()
	}
	if got := plates(t, dir, final); got != 4000 {
		t.Fatalf("%d plates after %d kills, the maps started with 4000", got, kills)
	}
	t.Logf("%d kills; the plates are all there", kills)
}
