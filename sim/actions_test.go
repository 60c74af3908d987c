package sim

import "testing"

// TestInsertAndTakeReportWhatMoved: an insert or take's result says how many items
// it moved, and when that is fewer than asked for, why — a take of 50 from a chest
// holding 12 is applied with 12, not reported as if all 50 came out.
func TestInsertAndTakeReportWhatMoved(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "empty", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	act := func(a Action) Result {
		t.Helper()
		s.Step([]Input{{Player: 1, Data: EncodeAction(a)}})
		r := s.LastResults()
		if len(r) != 1 {
			t.Fatalf("%d results for one input", len(r))
		}
		return r[0]
	}
	if r := act(Action{Kind: ActJoin, Name: "p"}); r.Err != "" {
		t.Fatal(r.Err)
	}
	p, _ := s.Player(1)
	x, y := floorDiv(p.Pos.X, TileUnits)+1, floorDiv(p.Pos.Y, TileUnits)
	if r := act(Action{Kind: ActBuild, Build: BuildSpec{Name: "wooden-chest", X: x, Y: y}}); r.Err != "" {
		t.Fatal(r.Err)
	}
	for _, c := range []struct {
		name   string
		kind   ActionKind
		count  int32
		moved  int32
		short  string
		errMsg string
	}{
		{"insert all", ActInsert, 12, 12, "", ""},
		{"take fewer than the chest holds", ActTake, 5, 5, "", ""},
		{"take more than the chest holds", ActTake, 50, 7, "the wooden-chest held 7", ""},
		{"take from an empty chest", ActTake, 1, 0, "", "wooden-chest holds no iron-plate to take"},
	} {
		r := act(Action{Kind: c.kind, X: x, Y: y, Name: "iron-plate", Count: c.count})
		if r.Err != c.errMsg || r.Count != c.moved || r.Short != c.short {
			t.Errorf("%s: result %+v, want count %d, short %q, error %q", c.name, r, c.moved, c.short, c.errMsg)
		}
	}
	p, _ = s.Player(1)
	for _, st := range p.Inventory {
		if s.b.Items[st.Item-1].Name == "iron-plate" && st.Count != 200 {
			t.Errorf("the character has %d iron-plate after putting 12 in and taking them out, want 200", st.Count)
		}
	}
}
