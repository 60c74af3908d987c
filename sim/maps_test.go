package sim

import "testing"

func TestStarterMakesRedScience(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	// Everything electric must be on a network.
	for i := range s.crafters {
		if c := &s.crafters[i]; c.ent != 0 && !c.burner && c.net < 0 {
			t.Errorf("machine #%d is not powered", c.ent)
		}
	}
	for i := range s.ins {
		if in := &s.ins[i]; in.ent != 0 && in.net < 0 {
			t.Errorf("inserter #%d is not powered", in.ent)
		}
	}
	for i := range s.drills {
		if d := &s.drills[i]; d.ent != 0 && d.net < 0 {
			t.Errorf("drill #%d is not powered", d.ent)
		}
	}
	for i := range s.labs {
		if l := &s.labs[i]; l.ent != 0 && l.net < 0 {
			t.Errorf("lab #%d is not powered", l.ent)
		}
	}
	s.Run(60 * 300)
	p := s.Production()
	if p.Produced["automation-science-pack"] < 20 {
		t.Errorf("starter made %d red science in 5 minutes, want at least 20 (production %v)", p.Produced["automation-science-pack"], p.Produced)
	}
	if p.SPMByPack["automation-science-pack"] <= 0 {
		t.Errorf("labs consumed no red science in the last minute: %v", p.SPMByPack)
	}
	if p.Researched == 0 {
		t.Errorf("no research finished in 5 minutes")
	}
}
