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

func TestDevWorldMapsRunPoweredWithTheirPorts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []string
	}{
		{"starter", []string{"out", "in"}},
		{"outpost", []string{"out", "in"}},
		{"hub", []string{"in1", "in2", "in3", "in4", "out1", "out2", "out3", "out4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewMap(DefaultBundle(), tc.name, 1, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.ports {
				if s.FindByLabel(p) == 0 {
					t.Errorf("no port labelled %q", p)
				}
			}
			for i := range s.ins {
				if in := &s.ins[i]; in.ent != 0 && !in.burner && in.net < 0 {
					t.Errorf("inserter #%d is not powered", in.ent)
				}
			}
			for i := range s.drills {
				if d := &s.drills[i]; d.ent != 0 && d.net < 0 {
					t.Errorf("drill #%d is not powered", d.ent)
				}
			}
			for i := range s.gens {
				if g := &s.gens[i]; g.ent != 0 && g.net < 0 {
					t.Errorf("%s #%d is on no network", g.kind, g.ent)
				}
			}
			if len(s.nets) != 1 {
				t.Errorf("%d electric networks, want one", len(s.nets))
			}
			s.Run(60 * 120)
		})
	}
}

// TestExportPortsFillWithoutABridge checks that, with no bridge granting credit, items put
// into an export port stay there (nothing leaves the surface) and back up.
func TestExportPortsFillWithoutABridge(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "outpost", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(60 * 120)
	out := s.FindByLabel("out")
	if len(s.Outbox(out)) != 0 {
		t.Fatalf("items left through an export port without credit: %v", s.Outbox(out))
	}
	if countIn(s, out, "coal")+countIn(s, out, "stone") == 0 {
		t.Fatalf("the outpost put nothing into its export port in two minutes")
	}
	// Granting credit moves the contents to the outbox, one stack per entry.
	s.Step([]Input{{Player: 0, Data: EncodeAction(Action{Kind: ActAck, Entity: out, Seq: 0, Credit: 3})}})
	s.Step(nil)
	if n := len(s.Outbox(out)); n == 0 || n > 3 {
		t.Fatalf("with credit 3 the outbox holds %d entries", n)
	}
}
