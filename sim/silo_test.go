package sim

import (
	"bytes"
	"testing"
)

func TestRocketLaunch(t *testing.T) {
	// A rocket silo builds 100 rocket parts (3 s each at crafting speed 1: 300 s),
	// then, with a satellite loaded, launches for 25.75 s (doors, rising, blinking,
	// engine start: 1,545 ticks) and puts 1,000 space science packs (the satellite's
	// launch products) in its result slot.
	s, silo, out := siloSurface(t)
	space, _ := s.b.ItemID("space-science-pack")
	rp, _ := s.b.ItemID("rocket-part")
	c := &s.crafters[s.ents[silo].slot]
	// 300 s of parts plus the launch, and a little for the first ingredients.
	for tick := 0; tick < 310*60 && c.x.silo.launch == 0; tick++ {
		s.Step(nil)
	}
	if c.x.silo.launch == 0 || c.x.silo.parts != 100 || c.x.silo.cargo == 0 {
		t.Fatalf("no launch after 310 s: %d parts, cargo %d", c.x.silo.parts, c.x.silo.cargo)
	}
	started := s.Tick()
	if started < 300*60 {
		t.Errorf("the launch started at tick %d, before 100 parts could take 18,000 ticks", started)
	}
	for c.x.silo.launch > 0 {
		s.Step(nil)
	}
	if took := s.Tick() - started; took != 1545 {
		t.Errorf("the launch took %d ticks, want 1,545 (25.75 s)", took)
	}
	if got := s.stats.produced.total[space]; got != 1000 {
		t.Errorf("space science from one launch: %d, want 1,000", got)
	}
	if got := s.stats.consumed.total[rp]; got != 100 {
		t.Errorf("rocket parts used: %d, want 100", got)
	}
	s.Run(3000) // a bulk inserter with 12 a hand every 26 ticks
	if got := countIn(s, out, "space-science-pack"); got != 1000 {
		t.Errorf("space science taken out of the silo: %d, want 1,000", got)
	}
	// The silo builds the next rocket meanwhile.
	if c.x.silo.parts == 0 {
		t.Error("no parts for the next rocket")
	}
}

func TestResearchUsesAllSevenPacks(t *testing.T) {
	// refined-flammables-7: one of each pack a unit, 60 s a unit. Two labs fed all
	// seven packs research 2 units a minute, and spm counts each pack type: 2.
	s, err := NewSurface(DefaultBundle(), Config{Name: "t", Seed: 1, Research: "refined-flammables-7", Repeat: true})
	if err != nil {
		t.Fatal(err)
	}
	powered(t, s, 8, 6)
	packs := []string{"automation-science-pack", "logistic-science-pack", "military-science-pack", "chemical-science-pack",
		"production-science-pack", "utility-science-pack", "space-science-pack"}
	var filters []InfinityFilter
	for _, p := range packs {
		filters = append(filters, InfinityFilter{Item: p, Count: 10, Mode: "exactly"})
	}
	for k := int32(0); k < 2; k++ {
		x := 4 * k
		mustBuild(t, s, BuildSpec{Name: "lab", X: x, Y: 0})
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: x + 1, Y: 4, Infinity: &InfinitySettings{Filters: filters}})
		mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: x + 1, Y: 3, Dir: South})
	}
	s.Run(3 * 3600)
	p := s.Production()
	for _, name := range packs {
		if r := p.SPMByPack[name]; r < 1.9 || r > 2.1 {
			t.Errorf("%s: %.2f a minute, want 2", name, r)
		}
	}
	if p.SPM < 1.9 || p.SPM > 2.1 {
		t.Errorf("spm %.2f, want 2 (the smallest per-pack rate)", p.SPM)
	}
}

// siloSurface builds a powered rocket silo fed from infinity chests, with an
// inserter loading satellites and a chest taking space science out.
func siloSurface(t *testing.T) (s *Surface, silo, out EntityID) {
	t.Helper()
	s, err := NewSurface(DefaultBundle(), Config{Name: "t", Seed: 1, BulkBonus: 10})
	if err != nil {
		t.Fatal(err)
	}
	powered(t, s, 3, -5)
	mustBuild(t, s, BuildSpec{Name: "substation", X: 3, Y: 12})
	silo = mustBuild(t, s, BuildSpec{Name: "rocket-silo", X: 0, Y: 0})
	// Parts' ingredients from infinity chests through bulk inserters on the north side.
	for k, item := range []string{"processing-unit", "low-density-structure", "rocket-fuel"} {
		x := int32(2 + 2*k)
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: x, Y: -2, Infinity: &InfinitySettings{
			Filters: []InfinityFilter{{Item: item, Count: 20, Mode: "exactly"}}}})
		mustBuild(t, s, BuildSpec{Name: "bulk-inserter", X: x, Y: -1, Dir: North})
	}
	// A satellite in, space science out, on the south side.
	mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 2, Y: 10, Infinity: &InfinitySettings{
		Filters: []InfinityFilter{{Item: "satellite", Count: 1, Mode: "exactly"}}}})
	mustBuild(t, s, BuildSpec{Name: "inserter", X: 2, Y: 9, Dir: South})
	mustBuild(t, s, BuildSpec{Name: "bulk-inserter", X: 6, Y: 9, Dir: North})
	out = mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 6, Y: 10})
	return s, silo, out
}

// A save taken while a rocket is being built and one taken during its launch load
// into surfaces that continue exactly as the original (the same hash every tick,
// the same bytes when saved again).
func TestRocketSiloSaveLoadRoundTrip(t *testing.T) {
	s, silo, _ := siloSurface(t)
	c := &s.crafters[s.ents[silo].slot]
	for _, stage := range []string{"building parts", "launching"} {
		if stage == "launching" {
			for tick := 0; tick < 310*60 && c.x.silo.launch == 0; tick++ {
				s.Step(nil)
			}
			if c.x.silo.launch == 0 {
				t.Fatal("no launch after 310 s")
			}
			s.Run(200)
		} else {
			s.Run(3000)
		}
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatal(err)
		}
		loaded, err := Load(s.b, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if loaded.FullHash() != s.FullHash() {
			t.Fatalf("%s: the loaded surface differs from the saved one", stage)
		}
		for i := 0; i < 2000; i++ {
			s.Step(nil)
			loaded.Step(nil)
			if s.Hash() != loaded.Hash() {
				t.Fatalf("%s: tick %d: the loaded copy diverged", stage, s.Tick())
			}
		}
		var a, b bytes.Buffer
		if err := s.Save(&a); err != nil {
			t.Fatal(err)
		}
		if err := loaded.Save(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%s: the two surfaces save differently", stage)
		}
	}
}
