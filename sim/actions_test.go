package sim

import (
	"strings"
	"testing"
)

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

// TestLabelsAreAtMostABridgePortName: a label longer than a bridge port's name can
// be (63 printable ASCII characters) is refused, naming the limit, when set or
// built with; one of 63 is kept and a bridge finds the port by it.
func TestLabelsAreAtMostABridgePortName(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "loop", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	port, _, err := s.BridgePort("in")
	if err != nil {
		t.Fatal(err)
	}
	long, max := strings.Repeat("x", 64), strings.Repeat("x", 63)
	for _, c := range []struct {
		a    Action
		want string
	}{
		{Action{Kind: ActSetLabel, X: 0, Y: 2, Name: long}, `label "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… is 64 characters: a label is at most 63 printable ASCII characters, the longest name a bridge port can have`},
		{Action{Kind: ActSetLabel, X: 0, Y: 2, Name: "in\n"}, "is not printable ASCII: a label is at most 63"},
		{Action{Kind: ActBuild, Build: BuildSpec{Name: "wooden-chest", X: 10, Y: 10, Label: long}}, "cannot build wooden-chest: label"},
		{Action{Kind: ActSetLabel, X: 0, Y: 2, Name: max}, ""},
	} {
		s.Step([]Input{{Player: 0, Data: EncodeAction(c.a)}})
		if got := s.LastResults()[0].Err; (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v %q: result %q, want %q", c.a.Kind, c.a.Name+c.a.Build.Label, got, c.want)
		}
	}
	if id, _, err := s.BridgePort(max); err != nil || id != port {
		t.Errorf("the port labelled with 63 characters resolves to #%d (%v), want #%d", id, err, port)
	}
}
