package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/starlane/starlane/sim/module"
)

// beaconedAssembler builds an assembling machine 3 at (0,0) making recipe with
// mods, fed from two infinity chests on its west side and emptied into two on
// its east side, with beacons (each holding beaconMods) in rows of up to four
// above and below it, and unlimited power.
func beaconedAssembler(t *testing.T, recipe string, mods []string, beacons int, beaconMods []string, feed []InfinityFilter) (*Surface, EntityID) {
	t.Helper()
	s := newTestSurface(t)
	mustBuild(t, s, BuildSpec{Name: "substation", X: 1, Y: -6})
	mustBuild(t, s, BuildSpec{Name: "electric-energy-interface", X: 3, Y: -6})
	am := mustBuild(t, s, BuildSpec{Name: "assembling-machine-3", X: 0, Y: 0, Recipe: recipe, Modules: mods})
	for k := int32(0); k < 2; k++ {
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: -2, Y: k, Infinity: &InfinitySettings{Filters: feed}})
		mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: -1, Y: k, Dir: West})
		mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 3, Y: k, Dir: West})
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 4, Y: k, Infinity: &InfinitySettings{RemoveUnfiltered: true}})
	}
	xs := []int32{-4, -1, 2, 5}
	for i := 0; i < beacons; i++ {
		y := int32(-3)
		if i >= 4 {
			y = 3
		}
		mustBuild(t, s, BuildSpec{Name: "beacon", X: xs[i%4], Y: y, Modules: beaconMods})
	}
	return s, am
}

func TestBeaconedAssembler3WithProductivityModules(t *testing.T) {
	// The community's standard: an assembling machine 3 with four productivity
	// modules 3 and eight beacons of two speed modules 3. From data/modules.json
	// (item.lua, entities.lua): each beacon gives 2 × 50 % × 1.5 × profile(8) =
	// 0.3535, so 8 × 53.025 % = 424 % speed (truncated to whole percent as the game
	// keeps two decimals); the modules give -60 % speed and +40 % productivity.
	// Crafting speed 1.25 × (1 + 4.24 - 0.60) = 5.8; a red science pack takes 5 s, so
	// 1.16 crafts/s and 1.624 packs/s with productivity: 97.44 a minute.
	s, am := beaconedAssembler(t, "automation-science-pack",
		[]string{"productivity-module-3", "productivity-module-3", "productivity-module-3", "productivity-module-3"},
		8, []string{"speed-module-3", "speed-module-3"},
		[]InfinityFilter{{Item: "copper-plate", Count: 50, Mode: "exactly"}, {Item: "iron-gear-wheel", Count: 50, Mode: "exactly"}})
	info, ok := s.Modules(am)
	if !ok {
		t.Fatal("no module info")
	}
	want := module.Effect{Speed: 424 - 60, Productivity: 40, Consumption: 593 + 320, Pollution: 40}
	if info.Beacons != 8 || info.Effect != want {
		t.Fatalf("%d beacons, effect %+v; want 8 and %+v", info.Beacons, info.Effect, want)
	}
	c := &s.crafters[s.ents[am].slot]
	if c.speed != 125*(100+364) {
		t.Errorf("speed %d, want crafting speed 5.80 (58000)", c.speed)
	}
	// Energy: 375 kW × (1 + 9.13).
	if c.usage != 375_000*1013/100 {
		t.Errorf("usage %d W, want %d", c.usage, 375_000*1013/100)
	}
	packs, _ := s.b.ItemID("automation-science-pack")
	s.Run(600)
	a := s.stats.produced.total[packs]
	s.Run(3600)
	got := s.stats.produced.total[packs] - a
	if got < 96 || got > 99 {
		t.Errorf("made %d packs in a minute, want 97.44 (1.16 crafts/s × 1.4)", got)
	}
	// Eight beacons draw 8 × 480 kW whatever the machine does.
	if p := s.Power(); p.Networks == 0 {
		t.Fatalf("no network: %+v", p)
	}
}

func TestBeaconProfileByCount(t *testing.T) {
	// 2.0 transmission: n beacons each give profile(n) of their effect × 1.5.
	for _, tc := range []struct {
		beacons int
		speed   int32 // percent, truncated
	}{
		{1, 150}, // 100 % × 1.5 × 1
		{2, 212}, // 2 × 150 × 0.7071
		{4, 300}, // 4 × 150 × 0.5
		{8, 424}, // 8 × 150 × 0.3535
	} {
		s, am := beaconedAssembler(t, "iron-gear-wheel", nil, tc.beacons, []string{"speed-module-3", "speed-module-3"}, nil)
		info, _ := s.Modules(am)
		if info.Beacons != int32(tc.beacons) || info.Effect.Speed != tc.speed {
			t.Errorf("%d beacons: %d counted, speed +%d %%, want +%d %%", tc.beacons, info.Beacons, info.Effect.Speed, tc.speed)
		}
	}
}

func TestModuleEffectsFollowChangesNotTicks(t *testing.T) {
	s, am := beaconedAssembler(t, "iron-gear-wheel", nil, 2, []string{"speed-module-3", "speed-module-3"}, nil)
	speed := func() int32 { info, _ := s.Modules(am); return info.Effect.Speed }
	if got := speed(); got != 212 {
		t.Fatalf("two beacons: +%d %%, want +212", got)
	}
	// Taking a module out of one beacon halves what it sends.
	bc := s.EntityAt(-1, -3)
	if _, _, err := s.doTake(nil, -1, -3, "speed-module-3", 1); err != nil {
		t.Fatal(err)
	}
	if got := speed(); got != (150+75)*7071/10000 {
		t.Errorf("after taking a module: +%d %%, want +%d", got, (150+75)*7071/10000)
	}
	// Removing the beacon leaves one: profile(1) = 1.
	if _, err := s.Remove(bc); err != nil {
		t.Fatal(err)
	}
	if got := speed(); got != 150 {
		t.Errorf("one beacon left: +%d %%, want +150", got)
	}
	// Without power a beacon sends nothing.
	if _, err := s.Remove(s.EntityAt(1, -6)); err != nil {
		t.Fatal(err)
	}
	if got := speed(); got != 0 {
		t.Errorf("unpowered beacon: +%d %%, want 0", got)
	}
}

func TestModuleLimitsAndRefusals(t *testing.T) {
	s := newTestSurface(t)
	powered(t, s, 20, 0)
	// Two efficiency modules 3 ask -100 % energy; the floor is -80 %.
	am2 := mustBuild(t, s, BuildSpec{Name: "assembling-machine-2", X: 14, Y: 0, Recipe: "iron-gear-wheel",
		Modules: []string{"efficiency-module-3", "efficiency-module-3"}})
	s.Step(nil)
	if c := &s.crafters[s.ents[am2].slot]; c.usage != 30_000 {
		t.Errorf("usage %d W, want 150 kW × 20 %% = 30000", c.usage)
	}
	for _, tc := range []struct {
		sp   BuildSpec
		want string
	}{
		{BuildSpec{Name: "assembling-machine-3", X: 0, Y: 10, Modules: []string{"quality-module"}}, "quality is not simulated"},
		{BuildSpec{Name: "beacon", X: 0, Y: 10, Modules: []string{"productivity-module"}}, "does not accept productivity-module"},
		{BuildSpec{Name: "assembling-machine-1", X: 0, Y: 10, Modules: []string{"speed-module"}}, "2 module slots"[2:]},
		{BuildSpec{Name: "assembling-machine-2", X: 0, Y: 10, Modules: []string{"speed-module", "speed-module", "speed-module"}}, "3 modules, assembling-machine-2 has 2 module slots"},
		{BuildSpec{Name: "assembling-machine-3", X: 0, Y: 10, Recipe: "transport-belt", Modules: []string{"productivity-module"}}, "intermediate products"},
		{BuildSpec{Name: "electric-mining-drill", X: 0, Y: 10, Modules: []string{"iron-plate"}}, "iron-plate is not a module"},
	} {
		_, err := s.Build(tc.sp)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("build %s with %v: %v, want an error containing %q", tc.sp.Name, tc.sp.Modules, err, tc.want)
		}
	}
	// A productivity module cannot go into a machine making a final product, and a
	// machine with one cannot switch to such a recipe.
	am3 := mustBuild(t, s, BuildSpec{Name: "assembling-machine-3", X: 14, Y: 4, Recipe: "transport-belt"})
	if _, _, err := s.doInsert(nil, 14, 4, "productivity-module", 1); err == nil || !strings.Contains(err.Error(), "intermediate") {
		t.Errorf("prod module into a belt machine: %v", err)
	}
	if _, err := s.doSetRecipe(nil, 14, 4, "iron-gear-wheel"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.doInsert(nil, 14, 4, "productivity-module", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.doSetRecipe(nil, 14, 4, "inserter"); err == nil || !strings.Contains(err.Error(), "intermediate") {
		t.Errorf("switch to a final product with a prod module: %v", err)
	}
	if info, _ := s.Modules(am3); len(info.Modules) != 1 || info.Effect.Productivity != 4 {
		t.Errorf("modules %+v, want one productivity module (+4 %%)", info)
	}
	if _, _, err := s.doInsert(nil, 14, 4, "quality-module-3", 1); err == nil || !strings.Contains(err.Error(), "quality is not simulated") {
		t.Errorf("quality module insert: %v", err)
	}
}

func TestProductivityOnDrillsAndLabs(t *testing.T) {
	// An electric mining drill with three productivity modules 3: speed 0.5 × (1 - 0.45)
	// = 0.275 ore/s mined, +30 % productivity: 0.3575 ore/s, 21.45 a minute, while the
	// patch loses only 16.5.
	iron, _ := DefaultBundle().ItemID("iron-ore")
	s, err := NewSurface(DefaultBundle(), Config{Name: "t", Seed: 1, Patches: []Patch{{X: -20, Y: -20, W: 60, H: 60},
		{Resource: iron, X: -1, Y: -1, W: 5, H: 5, Amount: 100_000}}})
	if err != nil {
		t.Fatal(err)
	}
	powered(t, s, 6, 0)
	mustBuild(t, s, BuildSpec{Name: "electric-mining-drill", X: 0, Y: 0, Dir: South,
		Modules: []string{"productivity-module-3", "productivity-module-3", "productivity-module-3"}})
	mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 1, Y: 3})
	s.Run(600)
	a := s.stats.produced.total[iron]
	left := func() (n int64) {
		for y := int32(-1); y < 4; y++ {
			for x := int32(-1); x < 4; x++ {
				_, amt := s.ResourceAt(x, y)
				n += int64(amt)
			}
		}
		return n
	}
	before := left()
	s.Run(3600)
	got := s.stats.produced.total[iron] - a
	if got < 21 || got > 22 {
		t.Errorf("drill made %d ore a minute, want 21.45", got)
	}
	if mined := before - left(); mined < 16 || mined > 17 {
		t.Errorf("the patch lost %d ore in a minute, want 16.5 (productivity is not taken from the ground)", mined)
	}

	// A lab with two productivity modules 3: research speed 1 × (1 - 0.3), +20 %
	// research productivity.
	lab := mustBuild(t, s, BuildSpec{Name: "lab", X: 10, Y: 10, Modules: []string{"productivity-module-3", "productivity-module-3"}})
	s.Step(nil)
	l := &s.labs[s.ents[lab].slot]
	if l.speed != 100*70 || l.prod != 20 {
		t.Errorf("lab speed %d, productivity %d; want 7000 (0.70) and 20", l.speed, l.prod)
	}
}

func TestModulesSurviveSaveAndLoad(t *testing.T) {
	s, am := beaconedAssembler(t, "automation-science-pack",
		[]string{"productivity-module-3", "productivity-module-3", "productivity-module-3", "productivity-module-3"},
		8, []string{"speed-module-3", "speed-module-3"},
		[]InfinityFilter{{Item: "copper-plate", Count: 50, Mode: "exactly"}, {Item: "iron-gear-wheel", Count: 50, Mode: "exactly"}})
	s.Run(777)
	l := reload(t, s)
	if l.FullHash() != s.FullHash() {
		t.Fatal("loaded state differs")
	}
	info, _ := l.Modules(am)
	if info.Beacons != 8 || len(info.Modules) != 4 || info.Effect.Productivity != 40 {
		t.Errorf("after load: %+v", info)
	}
	if c := &l.crafters[l.ents[am].slot]; c.bonus != s.crafters[s.ents[am].slot].bonus {
		t.Errorf("productivity bar %d after load, was %d", c.bonus, s.crafters[s.ents[am].slot].bonus)
	}
	for i := 0; i < 1000; i++ {
		s.Step(nil)
		l.Step(nil)
		if s.Hash() != l.Hash() {
			t.Fatalf("tick %d after load: hashes differ", i)
		}
	}
}

func TestSaveMigratesVersion4(t *testing.T) {
	// A version 4 save (before modules) loads: work counters move to the new unit
	// and the run continues exactly as the surface it came from.
	s, v3 := starterSave(t, 4)
	l, err := Load(DefaultBundle(), bytes.NewReader(v3))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		s.Step(nil)
		l.Step(nil)
		if s.Hash() != l.Hash() {
			t.Fatalf("tick %d after loading a version 4 save: hashes differ", i)
		}
	}
	if l.FullHash() != s.FullHash() {
		t.Error("full state differs after 600 ticks")
	}
}

func TestBuildActionCarriesModules(t *testing.T) {
	plain := Action{Kind: ActBuild, Build: BuildSpec{Name: "assembling-machine-3", X: 1, Y: 2, Recipe: "iron-gear-wheel"}}
	with := plain
	with.Build.Modules = []string{"speed-module", "productivity-module-2"}
	encPlain, encWith := EncodeAction(plain), EncodeAction(with)
	if !bytes.HasPrefix(encWith, encPlain) {
		t.Error("a build with modules does not start like the same build without them")
	}
	a, err := DecodeAction(encPlain)
	if err != nil || a.Build.Modules != nil {
		t.Errorf("plain build decodes with modules %v (%v)", a.Build.Modules, err)
	}
	a, err = DecodeAction(encWith)
	if err != nil || len(a.Build.Modules) != 2 || a.Build.Modules[1] != "productivity-module-2" {
		t.Errorf("build with modules decodes to %v (%v)", a.Build.Modules, err)
	}
	// Too many modules is malformed, not a panic.
	bad := append(append([]byte(nil), encPlain...), 9)
	if _, err := DecodeAction(bad); err == nil {
		t.Error("a build with 9 modules decoded")
	}
}
