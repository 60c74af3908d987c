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
		{"outpost", []string{"out", "out2", "in"}},
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

func TestBridgePortViewAndFilter(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	out, export, err := s.BridgePort("out")
	if err != nil || !export {
		t.Fatalf("port out: %d %v %v", out, export, err)
	}
	in, export, err := s.BridgePort("in")
	if err != nil || export {
		t.Fatalf("port in: %d %v %v", in, export, err)
	}
	if _, _, err := s.BridgePort("nope"); err == nil {
		t.Fatal("a missing label resolved")
	}
	// Only copper may leave: iron stays on the belt.
	s.Step([]Input{
		{Player: 0, Data: BridgeCodec{}.FilterInput(out, []string{"copper-plate"})},
		{Player: 0, Data: BridgeCodec{}.AckInput(out, 0, 100)},
	})
	for _, r := range s.LastResults() {
		if r.Err != "" {
			t.Fatal(r.Err)
		}
	}
	s.Run(60 * 300)
	n := 0
	s.BridgeOutbox(out, 0, func(seq, tick uint64, item string, count int32) bool {
		if item != "copper-plate" {
			t.Errorf("entry %d carries %s through a copper-only port", seq, item)
		}
		n++
		return true
	})
	if n == 0 {
		t.Fatal("nothing left through the port in five minutes")
	}
	last, acked, credit := s.BridgeExportState(out)
	if last != uint64(n) || acked != 0 || credit != 100 {
		t.Errorf("export state %d %d %d, want %d 0 100", last, acked, credit, n)
	}
	// Deliver two stacks to the import port, one twice: the duplicate is ignored.
	s.Step([]Input{
		{Player: 0, Data: BridgeCodec{}.DeliverInput(in, 1, []string{"coal"}, []int32{10})},
		{Player: 0, Data: BridgeCodec{}.DeliverInput(in, 1, []string{"coal"}, []int32{10})},
		{Player: 0, Data: BridgeCodec{}.DeliverInput(in, 3, []string{"coal"}, []int32{10})}, // gap: refused
		{Player: 0, Data: BridgeCodec{}.DeliverInput(in, 2, []string{"stone"}, []int32{5})},
	})
	if hwm, _ := s.BridgeImportState(in); hwm != 2 {
		t.Fatalf("high-water mark %d, want 2", hwm)
	}
	if got := s.Production().BridgedIn; got["coal"] != 10 || got["stone"] != 5 {
		t.Fatalf("bridged in %v", got)
	}
	// A player cannot forge deliveries.
	s.Step([]Input{{Player: 5, Data: BridgeCodec{}.DeliverInput(in, 3, []string{"coal"}, []int32{10})}})
	if r := s.LastResults()[0]; r.Err == "" {
		t.Fatal("a player delivered items")
	}
}

// TestItemTotalsBalanceWithStatistics checks the census against the statistics on the
// busy starter factory with players acting: everything held equals everything created,
// produced and bridged in, minus everything consumed, voided and bridged out.
func TestItemTotalsBalanceWithStatistics(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Step([]Input{{Player: 0, Data: BridgeCodec{}.AckInput(uint32(s.FindByLabel("out")), 0, 20)}})
	ri := newRandomInputs(s.b, 4, 3)
	for i := 2; i <= 20000; i++ {
		s.Step(ri.tick(s, uint64(i)))
	}
	outbox := map[string]int64{}
	s.BridgeOutbox(uint32(s.FindByLabel("out")), 0, func(_, _ uint64, item string, n int32) bool {
		outbox[item] += int64(n)
		return true
	})
	p := s.Production()
	have := s.ItemTotals()
	names := map[string]bool{}
	for _, m := range []map[string]int64{have, p.Produced, p.Consumed, p.Created, p.Voided, p.BridgedIn, p.BridgedOut} {
		for k := range m {
			names[k] = true
		}
	}
	for k := range names {
		want := p.Created[k] + p.Produced[k] + p.BridgedIn[k] - p.Consumed[k] - p.Voided[k] - p.BridgedOut[k] - p.Spilled[k]
		if have[k] != want {
			t.Errorf("%s: the surface holds %d, the statistics say %d", k, have[k], want)
		}
	}
	if len(outbox) == 0 {
		t.Errorf("nothing went through the export port")
	}
}
