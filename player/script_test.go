package player

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/sim"
)

func TestParseStep(t *testing.T) {
	st, err := ParseStep("  build bridge-import 0,-2 dir=east label=in ")
	if err != nil {
		t.Fatal(err)
	}
	b := st.Action.Build
	if st.Action.Kind != sim.ActBuild || b.Name != "bridge-import" || b.X != 0 || b.Y != -2 || b.Dir != sim.East || b.Label != "in" || st.At == nil || *st.At != [2]int32{0, -2} {
		t.Errorf("build parsed as %+v", st)
	}
	if st, err := ParseStep("label 3,4"); err != nil || st.Action.Kind != sim.ActSetLabel || st.Action.Name != "" {
		t.Errorf("label without a name (clears it): %+v, %v", st, err)
	}
	if st, err := ParseStep("insert 1,1 iron-plate 50"); err != nil || st.Action.Count != 50 || st.Action.Name != "iron-plate" {
		t.Errorf("insert: %+v, %v", st, err)
	}
	if st, err := ParseStep("walk 2,3"); err != nil || st.At != nil || st.Action.X != 2*sim.TileUnits+sim.TileUnits/2 {
		t.Errorf("walk goes to the tile's centre: %+v, %v", st, err)
	}
	for text, want := range map[string]string{
		"":                                     "an empty step",
		"fly 1,1":                              `unknown action "fly"`,
		"mine 1":                               `tile "1" is not X,Y`,
		"mine 1,2 3,4":                         `write it as "mine X,Y"`,
		"build chest 1,1 dir=up":               `direction "up"`,
		"build chest 1,1 colour=red":           `unknown setting "colour"`,
		"take 1,1 iron-plate -3":               `COUNT "-3"`,
		"insert 1,1 iron-plate":                `write it as "insert X,Y ITEM COUNT"`,
		"walk 1000000000,0":                    "outside the map (tiles -1000000 to 999999",
		"walk 99999999999,0":                   "outside the map",
		"mine 0,1000000":                       "outside the map",
		"label 0,2 " + strings.Repeat("p", 64): "is 64 characters: a label is at most 63 printable ASCII characters",
		"build chest 1,1 label=" + strings.Repeat("p", 70): "is 70 characters: a label is at most 63",
	} {
		if _, err := ParseStep(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStep(%q) = %v, want an error saying %s", text, err, want)
		}
	}
}

// A far tile is approached in steps no longer than a walk may be, and the last
// ends within reach.
func TestWalkingTowardATile(t *testing.T) {
	pos := sim.Vec{X: 128, Y: 128}
	for i := 0; ; i++ {
		to, far := toward(pos, [2]int32{-40, 25})
		if !far {
			break
		}
		if d := dist(pos, to); d > 10*sim.TileUnits {
			t.Fatalf("step %d walks %.1f tiles, more than the limit of 10", i, d/sim.TileUnits)
		}
		if i > 10 {
			t.Fatal("never arrived")
		}
		pos = to
	}
	if d := dist(pos, sim.Vec{X: -40*sim.TileUnits + 128, Y: 25*sim.TileUnits + 128}); d > 10*sim.TileUnits {
		t.Errorf("stopped %.1f tiles away, out of reach", d/sim.TileUnits)
	}
}

// TestMovedText: an insert or take that moved fewer items than asked says how many
// and why; one that moved them all says just how many.
func TestMovedText(t *testing.T) {
	for _, c := range []struct {
		a    sim.Action
		r    sim.Result
		want string
	}{
		{sim.Action{Kind: sim.ActTake, Name: "iron-plate", Count: 50}, sim.Result{Count: 12, Short: "the wooden-chest held 12"},
			"took 12 iron-plate (asked for 50; the wooden-chest held 12)"},
		{sim.Action{Kind: sim.ActTake, Name: "coal", Count: 5}, sim.Result{Count: 5}, "took 5 coal"},
		{sim.Action{Kind: sim.ActInsert, Name: "coal", Count: 80}, sim.Result{Count: 30, Short: "the stone-furnace had room for 30"},
			"put 30 coal in (asked for 80; the stone-furnace had room for 30)"},
	} {
		if got := movedText(c.a, c.r); got != c.want {
			t.Errorf("movedText(%+v, %+v) = %q, want %q", c.a, c.r, got, c.want)
		}
	}
}

// TestSessionEndReadsAsWords: a session that ended is told in words, not in
// gRPC's rendering of its status.
func TestSessionEndReadsAsWords(t *testing.T) {
	for err, want := range map[error]string{
		status.Error(codes.Unavailable, "error reading from server: EOF"):                   "the node's connection broke: error reading from server: EOF",
		status.Error(codes.FailedPrecondition, "surface fulgora no longer runs on node n1"): "surface fulgora no longer runs on node n1",
		errors.New("desync at tick 5"):                                                      "desync at tick 5",
	} {
		if got := endWords(err); got != want || strings.Contains(got, "rpc error") {
			t.Errorf("endWords(%v) = %q, want %q", err, got, want)
		}
	}
}
