package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/starlane/starlane/sim/blueprint"
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

// communityWant is what pasting one blueprint of a community string does.
type communityWant struct {
	refused string         // a part of the refusal; "" when the blueprint pastes whole
	built   int            // entities built (with PasteSkipUnknown when refused)
	recipes map[string]int // machines by recipe after the paste
	modules map[string]int // modules in machines and beacons after the paste
}

// communityPastes names, for every blueprint of every string in
// testdata/blueprints/community (books by "name#index", as --index counts),
// what a paste builds, or why it is refused and what --skip-unknown builds.
// Strings that hold no blueprint (planners) are in communityNothing.
var communityPastes = map[string]communityWant{
	// Pasted whole.
	"beacons_2_0":   {built: 10, modules: map[string]int{"speed-module-3": 6}},
	"drill_fac_1_1": {built: 41, recipes: map[string]int{"copper-cable": 1, "electric-mining-drill": 1, "electronic-circuit": 1, "iron-gear-wheel": 1}},
	"pipe_lint_1_1": {built: 4},
	"pipe_lint_2_0": {built: 4},
	"pipes_1_1":     {built: 51},
	// Refused for what is not simulated; what --skip-unknown builds.
	"capsules_book_1_1#0": {refused: "recipe defender-capsule ×2 (a base-game recipe Starlane does not simulate)", built: 83,
		recipes: map[string]int{"firearm-magazine": 1, "iron-gear-wheel": 1, "piercing-rounds-magazine": 2, "speed-module": 1}, modules: map[string]int{"speed-module": 2}},
	"capsules_book_1_1#1": {refused: "storage-chest ×2 (logistic robots are not simulated)", built: 83,
		recipes: map[string]int{"firearm-magazine": 1, "iron-gear-wheel": 1, "piercing-rounds-magazine": 2, "speed-module": 1}, modules: map[string]int{"speed-module": 2}},
	// 0.15 and 0.16 science packs under their 0.17 names.
	"jump_start_base_0_15": {refused: "small-lamp ×11 (lamps and circuit networks are not simulated)", built: 495,
		recipes: map[string]int{"automation-science-pack": 5, "copper-cable": 1, "electronic-circuit": 1, "firearm-magazine": 2, "inserter": 1, "iron-gear-wheel": 2, "logistic-science-pack": 6, "transport-belt": 1}},
	"nilaus_starter_base_0_16#0": {refused: "recipe splitter ×1 (a base-game recipe Starlane does not simulate)", built: 540,
		recipes: map[string]int{"assembling-machine-1": 1, "automation-science-pack": 5, "copper-cable": 2, "electric-mining-drill": 1, "electronic-circuit": 2, "inserter": 1, "iron-gear-wheel": 3, "logistic-science-pack": 6, "transport-belt": 1}},
	"legacy_rails_2_0": {refused: "legacy-straight-rail ×56 (rails and trains are not simulated)"},
	// 1.x effectivity modules made as efficiency modules; tiers 2 and 3 are not in the bundle.
	"modules_book_1_1#0": {refused: "recipe speed-module-3 ×1 (a base-game recipe Starlane does not simulate)", built: 205,
		recipes: map[string]int{"efficiency-module": 1, "productivity-module": 7, "speed-module": 7}},
	"modules_book_1_1#1": {refused: "circuit settings on fast-inserter (circuit networks are not simulated) ×10", built: 194,
		recipes: map[string]int{"efficiency-module": 1, "productivity-module": 7, "speed-module": 7}},
	"modules_book_1_1#2": {refused: "circuit wire (circuit networks are not simulated) ×11", built: 184,
		recipes: map[string]int{"efficiency-module": 1, "productivity-module": 7, "speed-module": 7}},
	"modules_book_1_1#3": {refused: "recipe efficiency-module-2 ×1 (a base-game recipe Starlane does not simulate)", built: 204,
		recipes: map[string]int{"efficiency-module": 2, "productivity-module": 7, "speed-module": 7}},
	"modules_book_1_1#4": {refused: "recipe productivity-module-2 ×2 (a base-game recipe Starlane does not simulate)", built: 192,
		recipes: map[string]int{"productivity-module": 9, "speed-module": 9}},
	"power_switch_radar_1_1": {refused: "radar ×1 (a base-game entity Starlane does not simulate)", built: 2},
	"red_circuits_1_1":       {refused: "small-lamp ×6 (lamps and circuit networks are not simulated)", built: 252, recipes: map[string]int{"advanced-circuit": 18, "copper-cable": 6}},
	"red_circuits_block_2_0": {refused: "constant-combinator ×4 (circuit networks are not simulated)", built: 250, recipes: map[string]int{"advanced-circuit": 12, "copper-cable": 2}},
	// 1.x module requests land in the machines, also where the recipe is left out.
	"splitter_production_1_1": {refused: "a hand stack size override on inserter (not simulated) ×3", built: 46,
		recipes: map[string]int{"iron-gear-wheel": 1, "transport-belt": 1}, modules: map[string]int{"speed-module": 4, "speed-module-3": 4}},
	"torture_book_2_0#0":  {refused: "filters by quality on bulk-inserter (quality is not simulated) ×1", built: 2},
	"torture_book_2_0#1":  {refused: "recipe parameter-0 ×1 (a blueprint parameter, which the game asks a value for when the blueprint is placed; Starlane pastes no parameters)", built: 6},
	"torture_book_2_0#2":  {refused: "roboport ×1 (robots are not simulated)"},
	"train_schedules_1_1": {refused: "locomotive ×2 (rails and trains are not simulated)"},
}

// communityNothing holds the strings with nothing to paste, with a part of the
// error that says so.
var communityNothing = map[string]string{
	"decon_planner_1_1":   `the string is a deconstruction planner ("Coal Rocks"), which has nothing to paste`,
	"upgrade_planner_1_1": `the string is an upgrade planner ("Furnaces"), which has nothing to paste`,
}

// TestCommunityBlueprintsPasteAndRun pastes every blueprint of the community
// strings onto an empty surface and runs it for ten seconds: those made only of
// simulated entities and settings paste as they are, the others are refused
// naming what is not simulated and why, and paste without it when asked.
func TestCommunityBlueprintsPasteAndRun(t *testing.T) {
	files, err := filepath.Glob("../testdata/blueprints/community/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no community strings: %v", err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		str := strings.TrimSpace(string(raw))
		o, err := blueprint.Decode(str)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		entries := o.Blueprints()
		if len(entries) == 0 {
			seen[name] = true
			_, err := newTestSurface(t).Paste(str, 0, 0, 0, PasteSkipUnknown)
			if want, ok := communityNothing[name]; !ok || err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: paste: %v, want %q", name, err, want)
			}
			continue
		}
		for _, e := range entries {
			key := name
			if o.Kind == blueprint.KindBook {
				key = fmt.Sprintf("%s#%d", name, e.Index)
			}
			seen[key] = true
			t.Run(key, func(t *testing.T) {
				w, known := communityPastes[key]
				s := newTestSurface(t)
				res, err := s.Paste(str, 0, 0, e.Index, 0)
				refused := ""
				if err != nil {
					refused = err.Error()
					s = newTestSurface(t)
					res, err = s.Paste(str, 0, 0, e.Index, PasteSkipUnknown)
					if err != nil {
						t.Fatalf("paste with skip-unknown: %v", err)
					}
				}
				got := communityWant{built: res.Built, recipes: map[string]int{}, modules: map[string]int{}}
				for _, id := range res.Entities {
					if info, _ := s.Entity(id); info.Recipe != "" {
						got.recipes[info.Recipe]++
					}
					if m, ok := s.Modules(id); ok {
						for _, n := range m.Modules {
							got.modules[n]++
						}
					}
				}
				s.Run(600)
				if key == "beacons_2_0" {
					// The one beacon in reach of the assembler, powered by the
					// blueprint's interface, gives it its two speed modules 3:
					// 2 × 50 % × distribution effectivity 1.5 × profile(1) = 150 %.
					for _, id := range res.Entities {
						if info, _ := s.Entity(id); info.Name == "assembling-machine-3" {
							m, _ := s.Modules(id)
							if m.Beacons != 1 || m.Effect.Speed != 150 {
								t.Errorf("assembler reached by %d beacons, speed %+d %%; want 1 beacon, +150 %%", m.Beacons, m.Effect.Speed)
							}
						}
					}
				}
				// What was built exports back to the blueprint's own entities
				// (older names migrated, the unknown ones left out), and that
				// export pastes to the same machines, recipes and modules.
				migrated, _, err := blueprint.Migrate(e.Blueprint)
				if err != nil {
					t.Fatal(err)
				}
				var kept blueprint.Blueprint
				for _, be := range migrated.Entities {
					if s.b.Has(be.Name) {
						kept.Entities = append(kept.Entities, be)
					}
				}
				exp, err := s.ExportBlueprint(-10000, -10000, 10000, 10000, res.Shift, "export")
				if err != nil {
					t.Fatal(err)
				}
				want, have := entitiesOf(&kept, 0, 0), entitiesOf(exp, 0, 0)
				sortPlaced(want)
				sortPlaced(have)
				if d := cmp.Diff(want, have); d != "" {
					t.Errorf("export of the paste differs from the blueprint (-want +got):\n%s", d)
				}
				expStr, err := blueprint.EncodeBlueprint(exp)
				if err != nil {
					t.Fatal(err)
				}
				s2 := newTestSurface(t)
				res2, err := s2.Paste(expStr, 0, 0, 0, 0)
				if err != nil {
					t.Fatalf("paste of the export: %v", err)
				}
				again := communityWant{built: res2.Built, recipes: map[string]int{}, modules: map[string]int{}}
				for _, id := range res2.Entities {
					if info, _ := s2.Entity(id); info.Recipe != "" {
						again.recipes[info.Recipe]++
					}
					if m, ok := s2.Modules(id); ok {
						for _, n := range m.Modules {
							again.modules[n]++
						}
					}
				}
				if d := cmp.Diff(got, again, cmp.AllowUnexported(communityWant{})); d != "" {
					t.Errorf("paste of the export differs from the paste (-paste +again):\n%s", d)
				}
				if !known {
					t.Fatalf("a community blueprint this test does not know; it built %d entities, recipes %v, modules %v, refused: %q",
						got.built, got.recipes, got.modules, refused)
				}
				switch {
				case w.refused == "" && refused != "":
					t.Errorf("refused: %s", refused)
				case w.refused != "" && !strings.Contains(refused, w.refused):
					t.Errorf("paste: %q, want a refusal naming %q", refused, w.refused)
				}
				if w.recipes == nil {
					w.recipes = map[string]int{}
				}
				if w.modules == nil {
					w.modules = map[string]int{}
				}
				w.refused = ""
				if diff := cmp.Diff(w, got, cmp.AllowUnexported(communityWant{})); diff != "" {
					t.Errorf("paste (-want +got):\n%s", diff)
				}
			})
		}
	}
	var missing []string
	for k := range communityPastes {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	for k := range communityNothing {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("expected blueprints not found: %v", missing)
	}
}
