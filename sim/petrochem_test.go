package sim

import "testing"

func TestPetrochemRunsOnSteam(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "petrochem", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(3600)
	plastic, _ := s.b.ItemID("plastic-bar")
	gears, _ := s.b.ItemID("iron-gear-wheel")
	gas, _ := s.b.ItemID("petroleum-gas")
	p0, g0, gas0 := s.stats.produced.total[plastic], s.stats.produced.total[gears], s.stats.produced.total[gas]
	s.Run(3600)
	// 150 % crude: 15/s, three quarters of a refinery (9 gas/s at 20 crude/s): 6.75
	// gas/s, 405 a minute; plastic takes 20 gas a craft: 20 crafts, 40 plastic.
	if d := s.stats.produced.total[gas] - gas0; d < 395 || d > 415 {
		t.Errorf("petroleum gas a minute: %d, want 405", d)
	}
	if d := s.stats.produced.total[plastic] - p0; d < 38 || d > 42 {
		t.Errorf("plastic a minute: %d, want 40 (6.75 gas/s ÷ 20 × 2)", d)
	}
	// Gears: crafting speed 5.8, 0.5 s a craft, +40 %: 16.24/s, but two fast inserters
	// feeding 2 plates a gear cap it at their rate.
	if d := s.stats.produced.total[gears] - g0; d < 60 {
		t.Errorf("gears a minute: %d, want the beaconed machine working", d)
	}
	if sat := s.Power().Satisfaction; len(sat) != 1 || sat[0] != 1 {
		t.Errorf("power: %v, want one fully satisfied network on steam", sat)
	}
}
