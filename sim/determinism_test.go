package sim

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/starlane/starlane/internal/proctest"
)

// randomInputs drives a surface with a few players acting randomly: building whatever
// they carry at random spots, rotating, mining, feeding machines and taking products.
// The same seed always gives the same inputs; many of them are rejected (collisions, no
// room, out of reach), which is part of what is being tested.
type randomInputs struct {
	r       rng
	players []uint32
	b       *Bundle
}

func newRandomInputs(b *Bundle, seed uint64, players int) *randomInputs {
	ri := &randomInputs{r: newRNG(seed), b: b}
	for i := 0; i < players; i++ {
		ri.players = append(ri.players, uint32(i+1))
	}
	return ri
}

var randomBuildable = []string{
	"transport-belt", "fast-transport-belt", "underground-belt", "splitter", "burner-inserter", "inserter",
	"long-handed-inserter", "fast-inserter", "wooden-chest", "iron-chest", "stone-furnace",
	"burner-mining-drill", "electric-mining-drill", "assembling-machine-1", "lab", "small-electric-pole",
	"medium-electric-pole", "solar-panel", "accumulator",
}

var randomRecipes = []string{"iron-gear-wheel", "copper-cable", "electronic-circuit", "automation-science-pack", "transport-belt", "inserter"}
var randomItems = []string{"coal", "iron-plate", "copper-plate", "iron-ore", "copper-ore", "iron-gear-wheel", "automation-science-pack"}

// near returns a random tile within reach of a player, preferring tiles with an entity so
// that actions on entities often hit one.
func (ri *randomInputs) near(s *Surface, pid uint32) (int32, int32) {
	cx, cy := int32(0), int32(0)
	if p := s.findPlayer(pid); p != nil {
		cx, cy = tileOfPos(p.pos.X), tileOfPos(p.pos.Y)
	}
	x, y := cx+int32(ri.r.intn(14))-7, cy+int32(ri.r.intn(14))-7
	for try := 0; try < 8; try++ {
		tx, ty := cx+int32(ri.r.intn(14))-7, cy+int32(ri.r.intn(14))-7
		if s.EntityAt(tx, ty) != 0 {
			return tx, ty
		}
	}
	return x, y
}

func (ri *randomInputs) tick(s *Surface, t uint64) []Input {
	var in []Input
	if t == 1 {
		for _, p := range ri.players {
			in = append(in, Input{Player: p, Data: EncodeAction(Action{Kind: ActJoin, Name: fmt.Sprintf("bot%d", p)})})
		}
		return in
	}
	if t%600 == 2 {
		// The shard tops up everyone's inventory.
		for _, p := range ri.players {
			for _, name := range []string{"transport-belt", "inserter", "coal", "iron-plate", "electric-mining-drill", "small-electric-pole"} {
				in = append(in, Input{Player: 0, Data: EncodeAction(Action{Kind: ActGive, Target: p, Name: name, Count: 20})})
			}
		}
	}
	for _, p := range ri.players {
		if ri.r.intn(4) != 0 {
			continue
		}
		x, y := ri.near(s, p)
		var a Action
		switch ri.r.intn(9) {
		case 0, 1, 2:
			a = Action{Kind: ActBuild, Build: BuildSpec{Name: randomBuildable[ri.r.intn(uint64(len(randomBuildable)))],
				X: x, Y: y, Dir: Dir(ri.r.intn(4) * 4)}}
			if a.Build.Name == "assembling-machine-1" {
				a.Build.Recipe = randomRecipes[ri.r.intn(uint64(len(randomRecipes)))]
			}
			if a.Build.Name == "underground-belt" && ri.r.intn(2) == 0 {
				a.Build.Underground = "output"
			}
		case 3:
			a = Action{Kind: ActMine, X: x, Y: y}
		case 4:
			a = Action{Kind: ActRotate, X: x, Y: y}
		case 5:
			a = Action{Kind: ActInsert, X: x, Y: y, Name: randomItems[ri.r.intn(uint64(len(randomItems)))], Count: int32(1 + ri.r.intn(10))}
		case 6:
			a = Action{Kind: ActTake, X: x, Y: y, Name: randomItems[ri.r.intn(uint64(len(randomItems)))], Count: int32(1 + ri.r.intn(10))}
		case 7:
			a = Action{Kind: ActSetRecipe, X: x, Y: y, Name: randomRecipes[ri.r.intn(uint64(len(randomRecipes)))]}
		case 8:
			// Wander towards a random entity, at most a few tiles at a time.
			tx, ty := int32(ri.r.intn(40))-10, int32(ri.r.intn(30))-20
			if len(s.ents) > 1 {
				if e := &s.ents[1+ri.r.intn(uint64(len(s.ents)-1))]; e.alive() {
					tx, ty = e.x, e.y
				}
			}
			px, py := x, y
			if pl := s.findPlayer(p); pl != nil {
				px, py = tileOfPos(pl.pos.X), tileOfPos(pl.pos.Y)
			}
			step := func(from, to int32) int32 { return from + max(-6, min(6, to-from)) }
			a = Action{Kind: ActMove, X: step(px, tx)*TileUnits + 128, Y: step(py, ty)*TileUnits + 128}
		}
		in = append(in, Input{Player: p, Data: EncodeAction(a)})
	}
	return in
}

// hashRun runs a map with random inputs and returns the hash after every tick. It fails
// the test if too few of the random actions took effect to exercise the simulation.
func hashRun(t testing.TB, mapName string, ticks int, sleeping bool) []uint64 {
	t.Helper()
	s, err := NewMap(DefaultBundle(), mapName, 7, "")
	if err != nil {
		t.Fatal(err)
	}
	s.SetSleeping(sleeping)
	ri := newRandomInputs(s.b, 99, 3)
	out := make([]uint64, 0, ticks)
	applied := map[ActionKind]int{}
	for i := 1; i <= ticks; i++ {
		s.Step(ri.tick(s, uint64(i)))
		for _, r := range s.LastResults() {
			if r.Err == "" {
				applied[r.Kind]++
			}
		}
		out = append(out, s.Hash())
	}
	for _, k := range []ActionKind{ActBuild, ActMine, ActRotate, ActInsert} {
		if applied[k] < 5 {
			t.Fatalf("only %d %s actions took effect in %d ticks: %v", applied[k], k, ticks, applied)
		}
	}
	return out
}

func TestDeterminismSleepingChangesNothing(t *testing.T) {
	t.Parallel()
	const ticks = 6000
	for _, m := range determinismMaps {
		a := hashRun(t, m, ticks, true)
		b := hashRun(t, m, ticks, false)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s, tick %d: hash %016x with sleeping, %016x without: sleeping changed the simulation", m, i+1, a[i], b[i])
			}
		}
	}
}

// determinismMaps are the maps the determinism tests run: the starter base (belts,
// inserters, machines, solar) and petrochem (fluids, steam power, modules, beacons).
var determinismMaps = []string{"starter", "petrochem"}

func TestDeterminismSaveLoadContinues(t *testing.T) {
	t.Parallel()
	for _, m := range determinismMaps {
		t.Run(m, func(t *testing.T) { saveLoadContinues(t, m) })
	}
}

func saveLoadContinues(t *testing.T, mapName string) {
	b := DefaultBundle()
	s, err := NewMap(b, mapName, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	ri := newRandomInputs(b, 5, 3)
	var inputs [][]Input
	for i := 1; i <= 4000; i++ {
		inputs = append(inputs, ri.tick(s, uint64(i)))
		s.Step(inputs[i-1])
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	loaded, err := Load(b, bytes.NewReader(saved))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Hash() != s.Hash() || loaded.FullHash() != s.FullHash() {
		t.Fatalf("after load: hash %016x/%016x, before save %016x/%016x", loaded.Hash(), loaded.FullHash(), s.Hash(), s.FullHash())
	}
	for i := 4001; i <= 9000; i++ {
		in := ri.tick(s, uint64(i))
		s.Step(in)
		loaded.Step(in)
		if s.Hash() != loaded.Hash() {
			t.Fatalf("tick %d: the loaded copy diverged (%016x vs %016x)", s.Tick(), loaded.Hash(), s.Hash())
		}
	}
	if s.FullHash() != loaded.FullHash() {
		t.Fatalf("full hashes differ at the end")
	}
	// Saving again gives the same bytes: the save is canonical.
	var a, c bytes.Buffer
	if err := s.Save(&a); err != nil {
		t.Fatal(err)
	}
	if err := loaded.Save(&c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatalf("the two surfaces save differently")
	}
}

// TestDeterminismAcrossProcesses runs the same inputs in child processes with GOMAXPROCS
// 1 and 2 and compares their hash sequences with this process's.
func TestDeterminismAcrossProcesses(t *testing.T) {
	if os.Getenv("STARLANE_DETERMINISM_CHILD") != "" {
		return
	}
	const ticks = 3000
	want := digestMaps(t, ticks)
	proctest.SameAcrossProcesses(t, "TestDeterminismChild", "STARLANE_DETERMINISM_CHILD", ticks, want)
}

func TestDeterminismChild(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("STARLANE_DETERMINISM_CHILD"))
	if err != nil {
		return // only does something as a child of TestDeterminismAcrossProcesses
	}
	fmt.Printf("DIGEST %s (GOMAXPROCS %d)\n", digestMaps(t, n), runtime.GOMAXPROCS(0))
}

func digestMaps(t testing.TB, ticks int) string {
	var parts []string
	for _, m := range determinismMaps {
		parts = append(parts, digest(hashRun(t, m, ticks, true)))
	}
	return strings.Join(parts, "+")
}

func digest(hs []uint64) string {
	h := fnv.New64a()
	for _, v := range hs {
		fmt.Fprintf(h, "%x,", v)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func TestEntityHashesNameTheEntityThatDiffers(t *testing.T) {
	t.Parallel()
	a, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	a.Run(600)
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := Load(DefaultBundle(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	// Tamper with one lab in the copy, as a desync would.
	var lab EntityID
	b.Entities(func(e EntityInfo) bool {
		if e.Kind == KindLab {
			lab = e.ID
			return false
		}
		return true
	})
	b.labs[b.ents[lab].slot].packs[0] += 3
	ha, hb := a.EntityHashes(), b.EntityHashes()
	var differ []uint32
	for id, h := range ha {
		if hb[id] != h {
			differ = append(differ, id)
		}
	}
	if len(differ) != 1 || differ[0] != uint32(lab) {
		t.Fatalf("entities that differ: %v, want just the lab #%d", differ, lab)
	}
}

// An inserter feeding a lab from a belt that carries only what the lab does not
// take sleeps, and wakes when a pack first reaches the belt's lane; with sleeping
// off every tick hashes the same, and the lab gets its packs.
func TestBeltInserterSleepsUntilAWantedTypeArrives(t *testing.T) {
	build := func(sleeping bool) (*Surface, EntityID, EntityID) {
		s := newTestSurface(t)
		powered(t, s, 4, -5)
		for x := int32(0); x < 10; x++ {
			mustBuild(t, s, BuildSpec{Name: "transport-belt", X: x, Y: 0, Dir: East})
		}
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 1, Y: -2, Infinity: &InfinitySettings{
			Filters: []InfinityFilter{{Item: "iron-plate", Count: 50, Mode: "exactly"}}}})
		mustBuild(t, s, BuildSpec{Name: "inserter", X: 1, Y: -1, Dir: North})
		mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 3, Y: -2})
		mustBuild(t, s, BuildSpec{Name: "inserter", X: 3, Y: -1, Dir: North})
		// The belt's end is emptied into a void, past the lab's inserter.
		mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 9, Y: -1, Dir: South})
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 9, Y: -2, Infinity: &InfinitySettings{RemoveUnfiltered: true}})
		feeder := mustBuild(t, s, BuildSpec{Name: "inserter", X: 8, Y: 1, Dir: North})
		lab := mustBuild(t, s, BuildSpec{Name: "lab", X: 7, Y: 2})
		s.SetSleeping(sleeping)
		return s, feeder, lab
	}
	a, feeder, lab := build(true)
	b, _, _ := build(false)
	step := func(n int) {
		for i := 0; i < n; i++ {
			a.Step(nil)
			b.Step(nil)
			if a.Hash() != b.Hash() {
				t.Fatalf("tick %d: hash %016x with sleeping, %016x without", a.Tick(), a.Hash(), b.Hash())
			}
		}
	}
	step(900)
	if slot := a.ents[feeder].slot; a.active[KindInserter].has(slot) {
		t.Error("the lab's inserter is awake with only iron plates on the belt")
	}
	for _, s := range []*Surface{a, b} {
		if _, _, err := s.doInsert(nil, 3, -2, "automation-science-pack", 10); err != nil {
			t.Fatal(err)
		}
	}
	step(900)
	if got := countIn(b, lab, "iron-plate"); got != 0 {
		t.Fatalf("the lab took %d iron plates", got)
	}
	if got := countIn(a, lab, "automation-science-pack"); got != labPackLimit {
		t.Errorf("the lab holds %d red packs, want %d", got, labPackLimit)
	}
}
