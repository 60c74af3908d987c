package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// The bridge phase: two loop surfaces (2,000 iron plates each) bridged both ways, each
// with two standbys (a copy on every node), under a fault mix of bridge re-creation,
// docker kill of a primary, docker kill of a primary together with its most
// up-to-date standby (the third copy is promoted), a paused standby, and a re-created
// surface. Conservation is checked by counting plates on both surfaces and in flight
// between them, read from the nodes' stores after a clean stop (the checkpoint plus
// the input log, replayed as a restart would), never from the bridges' counters.

var loopPair = []string{"la", "lb"}

func bridgeCreate() error {
	if err := cli(nil, "bridge", "create", "--from", "la:out", "--to", "lb:in", "--name", "lab"); err != nil {
		return err
	}
	return cli(nil, "bridge", "create", "--from", "lb:out", "--to", "la:in", "--name", "lba")
}

func bridgeDelete(names ...string) error {
	for _, n := range names {
		if err := cli(nil, "bridge", "delete", n); err != nil {
			return err
		}
	}
	return nil
}

func delivered(name string) int64 {
	var g struct {
		Delivered int64 `json:"delivered"`
	}
	if err := cli(&g, "bridge", "get", name); err != nil {
		return -1
	}
	return g.Delivered
}

// flowing waits until both bridges delivered more than they had.
func flowing(what string) error {
	a, b := delivered("lab"), delivered("lba")
	_, err := waitFor(90*time.Second, what, func() error {
		na, nb := delivered("lab"), delivered("lba")
		if na > a+10 && nb > b+10 {
			return nil
		}
		return fmt.Errorf("delivered %d and %d, were %d and %d", na, nb, a, b)
	})
	return err
}

// loopHealthy: both loop surfaces tick on a primary with at least min synced standbys.
func loopHealthy(min int) func() error {
	return func() error {
		m, err := surfaces()
		if err != nil {
			return err
		}
		for _, n := range loopPair {
			s := m[n]
			if _, ok := s.confirmedOn(""); !ok {
				return fmt.Errorf("%s: no primary ticking", n)
			}
			if len(s.Replication.Synced) < min {
				return fmt.Errorf("%s: %d synced standbys, want %d", n, len(s.Replication.Synced), min)
			}
		}
		return nil
	}
}

// loopCensus is one loop surface's plates and bridge state at its last durable tick.
type loopCensus struct {
	plates int64
	given  int64            // plates in the starter kits of the characters made here (`starlane act`)
	outbox map[uint64]int64 // iron plates by sequence
	space  uint64           // the export port's sequence space
	s      *sim.Surface
}

// census stops the nodes (docker stop: they flush their logs), copies each loop
// surface's store from the node running its primary, and rebuilds the surfaces.
func census() (map[string]loopCensus, error) {
	// All at once, so that no standby outlives its primary long enough to take over.
	if err := docker("stop", "--time", "10", container("n1"), container("n2"), container("n3")); err != nil {
		return nil, err
	}
	// Where the primaries are now (the controllers keep running).
	m, err := surfaces()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "starlane-census-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := map[string]loopCensus{}
	for _, name := range loopPair {
		p := m[name].Primary
		if p == "" {
			return nil, fmt.Errorf("%s has no primary", name)
		}
		local := filepath.Join(dir, name+".db")
		if err := docker("cp", container(p)+":/data/shards/"+name+"/shard.db", local); err != nil {
			return nil, err
		}
		c, err := readCensus(local)
		if err != nil {
			return nil, fmt.Errorf("%s (primary %s): %w", name, p, err)
		}
		out[name] = c
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		if err := docker("start", container(n)); err != nil {
			return nil, err
		}
	}
	if _, err := waitFor(90*time.Second, "the nodes back after the census", func() error { return nodesUp(3) }); err != nil {
		return nil, err
	}
	return out, nil
}

func readCensus(path string) (loopCensus, error) {
	var c loopCensus
	ss, err := shard.Replay(path, func(r io.Reader) (shard.Simulation, error) { return sim.Load(sim.DefaultBundle(), r) })
	if err != nil {
		return c, err
	}
	s := ss.(*sim.Surface)
	c.plates, c.outbox, c.s = s.ItemTotals()["iron-plate"], map[uint64]int64{}, s
	c.given = int64(len(s.Players())) * int64(sim.StarterKit()["iron-plate"])
	out, _, err := s.BridgePort("out")
	if err != nil {
		return c, err
	}
	c.space, _ = s.BridgePortSpace(out)
	s.BridgeOutbox(out, 0, func(seq, _ uint64, item string, n int32) bool {
		if item == "iron-plate" {
			c.outbox[seq] += int64(n)
		}
		return true
	})
	return c, nil
}

// inFlight sums a sender's outbox entries above the receiver's mark for its space.
func inFlight(from, to loopCensus) int64 {
	hwm, _ := to.s.BridgeImportMark(from.space)
	var n int64
	for seq, k := range from.outbox {
		if seq > hwm {
			n += k
		}
	}
	return n
}

// conserved checks la + lb + in flight both ways against want, not counting the
// plates a character was given when it was made.
func conserved(c map[string]loopCensus, want int64, when string) error {
	a, b := c["la"], c["lb"]
	ab, ba := inFlight(a, b), inFlight(b, a)
	got := a.plates + b.plates + ab + ba - a.given - b.given
	fmt.Printf("   %s: la %d, lb %d, in flight la->lb %d, lb->la %d, less %d given to characters: %d plates, %d expected\n",
		when, a.plates, b.plates, ab, ba, a.given+b.given, got, want)
	if got != want {
		return fmt.Errorf("%s: %d plates exist, %d should: the bridges lost or duplicated %d", when, got, want, got-want)
	}
	return nil
}

// Faults of the mix, run in the order given (each kind at least once per run).
const (
	faultRecreateBridge = iota
	faultKillPrimary
	faultKillPrimaryAndBest
	faultPauseStandby
	faultRebuildPorts
)

// bridgeFaults runs the given faults on a loop surface chosen at random.
func bridgeFaults(rng *rand.Rand, faults ...int) error {
	for _, k := range faults {
		m, err := surfaces()
		if err != nil {
			return err
		}
		s := m[loopPair[rng.IntN(2)]]
		switch k {
		case faultRecreateBridge:
			fmt.Println("   bridge delete lab; bridge create lab")
			if err := bridgeDelete("lab"); err != nil {
				return err
			}
			if err := cli(nil, "bridge", "create", "--from", "la:out", "--to", "lb:in", "--name", "lab"); err != nil {
				return err
			}
		case faultKillPrimary:
			fmt.Printf("   docker kill %s (primary of %s), then docker start it\n", s.Primary, s.Name)
			if err := killAndPromote(s, s.Primary); err != nil {
				return err
			}
		case faultKillPrimaryAndBest:
			best, bestTick := "", uint64(0)
			if s.Stats != nil {
				for _, sh := range s.Stats.Shards {
					if sh.Node != s.Primary && sh.Confirmed >= bestTick {
						best, bestTick = sh.Node, sh.Confirmed
					}
				}
			}
			if best == "" && len(s.Replication.Synced) > 0 {
				best = s.Replication.Synced[0]
			}
			if best == "" {
				return fmt.Errorf("%s has no standby to kill with its primary", s.Name)
			}
			fmt.Printf("   docker kill %s (primary of %s) and %s (its most up-to-date standby) together; the third copy takes over\n", s.Primary, s.Name, best)
			if err := killAndPromote(s, s.Primary, best); err != nil {
				return err
			}
		case faultPauseStandby:
			if len(s.Standbys) == 0 {
				return fmt.Errorf("%s has no standby to pause", s.Name)
			}
			sb := s.Standbys[rng.IntN(len(s.Standbys))]
			fmt.Printf("   docker pause %s (a standby of %s) for 1.5s\n", sb, s.Name)
			if err := docker("pause", container(sb)); err != nil {
				return err
			}
			time.Sleep(1500 * time.Millisecond)
			if err := docker("unpause", container(sb)); err != nil {
				return err
			}
		case faultRebuildPorts:
			if err := rebuildPorts(s.Name); err != nil {
				return err
			}
		}
		began := time.Now()
		if _, err := waitFor(120*time.Second, "both loop surfaces ticking with a synced standby", loopHealthy(1)); err != nil {
			return err
		}
		if err := flowing("the bridges to flow again"); err != nil {
			return err
		}
		fmt.Printf("     healthy and flowing again %.0fs later\n", time.Since(began).Seconds())
	}
	return nil
}

// rebuildPorts rebuilds a loop surface's ports as a player would, with `starlane
// act`: the import port "in" is mined (what it holds goes to the character's
// inventory, which the census counts) and built again with its label, so the
// surface-wide marks carry on; then the export port "out" is mined and rebuilt,
// which starts a new sequence space, unless it holds unacknowledged entries: the
// surface must then refuse the mine and keep them (bridge/DESIGN.md, invariant 4).
func rebuildPorts(surface string) error {
	fmt.Printf("   starlane act --surface %s 'mine 0,2' 'build bridge-import 0,2 label=in' (rebuild the import port)\n", surface)
	if _, err := act(surface, "mine 0,2", "build bridge-import 0,2 label=in"); err != nil {
		return err
	}
	fmt.Printf("   starlane act --surface %s 'mine 2,0' 'build bridge-export 2,0 label=out' (rebuild the export port)\n", surface)
	out, err := act(surface, "mine 2,0", "build bridge-export 2,0 label=out")
	if err == nil {
		return nil
	}
	if len(out) == 1 && !out[0].OK && strings.Contains(out[0].Error, "not acknowledged yet") {
		fmt.Printf("     refused, as it must be with entries in flight: %s\n", out[0].Error)
		return nil
	}
	return err
}

// actOutcome is one step of `starlane act --json`.
type actOutcome struct {
	Step  string `json:"step"`
	OK    bool   `json:"ok"`
	Tick  uint64 `json:"tick"`
	Error string `json:"error"`
}

// act runs `starlane act` as the player "chaos" in a container on the cluster's
// network, with the operator's certificate and token, and returns its outcomes
// (also when a step was refused, with the error).
func act(surface string, steps ...string) ([]actOutcome, error) {
	args := []string{"run", "--rm", "--network", network(), "-v", *project + "_tls:/tls:ro", *image,
		"act", "--surface", surface, "--name", "chaos", "--node", "n1:7500", "--controller", "c1:7400,c2:7400,c3:7400",
		"--token", composeToken(), "--timeout", "90s", "--json",
		"--tls-ca", "/tls/ca.pem", "--tls-cert", "/tls/operator.pem", "--tls-key", "/tls/operator-key.pem"}
	out, err := cmd("docker", append(args, steps...)...)
	var res []actOutcome
	if jerr := json.Unmarshal(out, &res); jerr != nil && err == nil {
		return nil, fmt.Errorf("starlane act printed %q: %v", out, jerr)
	}
	for _, o := range res {
		fmt.Printf("     %s: ok=%v at tick %d %s\n", o.Step, o.OK, o.Tick, o.Error)
	}
	return res, err
}

// killAndPromote kills nodes, waits until the surface runs on a node it did not kill,
// and starts them again.
func killAndPromote(s surfaceJSON, victims ...string) error {
	for _, v := range victims {
		if err := docker("kill", container(v)); err != nil {
			return err
		}
	}
	if _, err := waitFor(60*time.Second, s.Name+" promoted on a surviving node", func() error {
		m, err := surfaces()
		if err != nil {
			return err
		}
		now := m[s.Name]
		for _, v := range victims {
			if now.Primary == v {
				return fmt.Errorf("primary still %s", v)
			}
		}
		if _, ok := now.confirmedOn(""); !ok {
			return fmt.Errorf("primary %s not ticking yet", now.Primary)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, v := range victims {
		if err := docker("start", container(v)); err != nil {
			return err
		}
	}
	_, err := waitFor(90*time.Second, "the killed nodes back", func() error { return nodesUp(3) })
	return err
}

// bridgePhase is step 5 of the suite.
func bridgePhase() error {
	start := time.Now()
	for _, n := range loopPair {
		if err := cli(nil, "surface", "create", n, "--map", "loop", "--replicas", "3"); err != nil {
			return err
		}
	}
	if err := bridgeCreate(); err != nil {
		return err
	}
	if _, err := waitFor(120*time.Second, "la and lb with two synced standbys each", loopHealthy(2)); err != nil {
		return err
	}
	if err := flowing("plates to cross both bridges"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(5, 17))
	if err := bridgeFaults(rng, faultKillPrimaryAndBest, faultRebuildPorts, faultRecreateBridge, faultPauseStandby); err != nil {
		return err
	}

	// Count, then re-create la: the bridges go first (their ends stop), the count is
	// taken from the stores, la is deleted and created again from its map, and the
	// bridges are created again into and out of the new la.
	fmt.Println("   bridge delete lab lba; census; surface delete la; surface create la; bridge create lab lba")
	if err := bridgeDelete("lab", "lba"); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	c, err := census()
	if err != nil {
		return err
	}
	fmt.Printf("   census taken at %.0fs into the phase\n", time.Since(start).Seconds())
	if err := conserved(c, 4000, "before la is re-created"); err != nil {
		return err
	}
	// What survives la's deletion: lb's plates and everything lb's export port still
	// owes la (it is delivered to the new la; the old one took what it had with it).
	var owed int64
	for _, n := range c["lb"].outbox {
		owed += n
	}
	survive := c["lb"].plates - c["lb"].given + owed
	if _, err := waitFor(120*time.Second, "both loop surfaces ticking after the census", loopHealthy(1)); err != nil {
		return err
	}
	if err := cli(nil, "surface", "delete", "la", "--yes"); err != nil {
		return err
	}
	if err := cli(nil, "surface", "create", "la", "--map", "loop", "--replicas", "3"); err != nil {
		return err
	}
	if err := bridgeCreate(); err != nil {
		return err
	}
	if _, err := waitFor(120*time.Second, "the new la ticking with a synced standby", loopHealthy(1)); err != nil {
		return err
	}
	if err := flowing("plates to cross both bridges after la was re-created"); err != nil {
		return err
	}
	if err := bridgeFaults(rng, faultKillPrimary, faultRebuildPorts); err != nil {
		return err
	}
	c, err = census()
	if err != nil {
		return err
	}
	if err := conserved(c, survive+2000, "at the end"); err != nil {
		return err
	}
	fmt.Printf("   bridge phase done in %.0fs\n", time.Since(start).Seconds())
	for _, n := range loopPair {
		if err := cli(nil, "surface", "delete", n, "--yes"); err != nil {
			return err
		}
	}
	return nil
}
