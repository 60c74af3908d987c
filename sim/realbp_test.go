package sim

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/starlane/starlane/sim/fluid"
)

// TestRealBlueprintsPasteAndRun pastes every real blueprint in testdata/blueprints
// (the repository's copies of the shared real inputs): those made only of simulated
// entities paste as they are; the others are refused with the list of what is not
// simulated, and paste without it when asked.
func TestRealBlueprintsPasteAndRun(t *testing.T) {
	files, err := os.ReadDir("../testdata/blueprints")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		refused string         // "" when the whole blueprint is simulated
		built   int            // entities built (with --skip-unknown when refused)
		recipes map[string]int // machines by recipe after the paste
	}{
		"belt_balancer_4x4.txt":       {built: 24},
		"underground_lint_2_0_72.txt": {built: 16},
		"rs_latch_2_0.txt":            {refused: "decider-combinator ×3 (circuit networks are not simulated), power-switch ×1", built: 2},
		"oil_processing_1_1.txt": {refused: "constant-combinator ×4 (circuit networks are not simulated), small-lamp ×5", built: 233,
			recipes: map[string]int{"basic-oil-processing": 8, "lubricant": 1, "solid-fuel-from-light-oil": 1}},
	}
	seen := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".txt") {
			continue
		}
		w, ok := want[f.Name()]
		if !ok {
			t.Errorf("%s: a real blueprint this test does not know; add what it should do", f.Name())
			continue
		}
		seen++
		t.Run(f.Name(), func(t *testing.T) {
			str := realBlueprint(t, f.Name())
			s := newTestSurface(t)
			res, err := s.Paste(str, 0, 0, 0, 0)
			if err == nil {
				// Accepted whole: start again for the skip-unknown paste below.
				if res.Built != w.built {
					t.Errorf("built %d entities, want %d", res.Built, w.built)
				}
				s = newTestSurface(t)
			}
			switch {
			case w.refused == "" && err != nil:
				t.Fatalf("paste: %v", err)
			case w.refused != "" && (err == nil || !strings.Contains(err.Error(), w.refused)):
				t.Fatalf("paste: %v, want a refusal naming %s", err, w.refused)
			}
			res, err = s.Paste(str, 0, 0, 0, PasteSkipUnknown)
			if err != nil {
				t.Fatal(err)
			}
			if res.Built != w.built {
				t.Errorf("built %d entities, want %d", res.Built, w.built)
			}
			recipes := map[string]int{}
			for _, id := range res.Entities {
				if e, _ := s.Entity(id); e.Recipe != "" {
					recipes[e.Recipe]++
				}
			}
			if w.recipes == nil {
				w.recipes = map[string]int{}
			}
			if diff := cmp.Diff(w.recipes, recipes); diff != "" {
				var names []string
				for n := range recipes {
					names = append(names, n)
				}
				sort.Strings(names)
				t.Errorf("recipes (-want +got):\n%s", diff)
			}
			if f.Name() != "oil_processing_1_1.txt" {
				s.Run(600)
				return
			}
			// Power it and fill the refineries' crude inputs (their second input box,
			// as basic oil processing uses): 8 refineries make 45 gas per 100 crude
			// every 5 s, so 10 s give 8 × 2 × 45 = 720 petroleum gas.
			var refinery EntityID
			var pole EntityInfo
			for _, id := range res.Entities {
				e, _ := s.Entity(id)
				if e.Name == "oil-refinery" && refinery == 0 {
					refinery = id
				}
				if e.Name == "medium-electric-pole" && pole.ID == 0 {
					pole = e
				}
			}
			// An unlimited source wired to the blueprint's poles: the first free 2×4
			// spot within a medium pole's reach.
			placed := false
			for r := int32(1); r <= 6 && !placed; r++ {
				for _, d := range [][2]int32{{r, 0}, {-r - 1, 0}, {0, r}, {0, -r - 3}, {r, r}, {-r - 1, -r - 3}} {
					x, y := pole.X+d[0], pole.Y+d[1]
					if _, err := s.Build(BuildSpec{Name: "substation", X: x, Y: y}); err != nil {
						continue
					}
					if _, err := s.Build(BuildSpec{Name: "electric-energy-interface", X: x, Y: y + 2}); err != nil {
						s.Remove(s.EntityAt(x, y))
						continue
					}
					placed = true
					break
				}
			}
			if !placed {
				t.Fatal("no room for a power source next to the blueprint's poles")
			}
			s.Step(nil)
			crude, _ := s.b.ItemID("crude-oil")
			seg := s.seg(s.fnodeSeg[s.nodeOf(refinery, 1)])
			seg.Put(fluid.ID(crude), 20_000*fluid.Unit)
			t.Logf("crude segment holds %d units of %d capacity", seg.Amount/fluid.Unit, seg.Cap/fluid.Unit)
			gas, _ := s.b.ItemID("petroleum-gas")
			s.Run(600)
			t.Logf("petroleum gas made in 10 s: %d", s.stats.produced.total[gas])
			if got := s.stats.produced.total[gas]; got != 720 {
				t.Errorf("petroleum gas made in 10 s: %d, want 720", got)
			}
		})
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d known real blueprints", seen, len(want))
	}
}
