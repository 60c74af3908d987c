package blueprint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sourceFacts are what SOURCES.md, written when the strings were collected,
// says about one real string.
type sourceFacts struct {
	kind       Kind
	version    string
	blueprints int
	entities   int
	wires20    int
	directions []int // raw values as written in the string
	label      string
	names      map[string]int
}

func readSources(t *testing.T) map[string]sourceFacts {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realDir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sourceFacts{}
	for _, sec := range strings.Split(string(b), "\n## ")[1:] {
		name := strings.TrimSuffix(strings.SplitN(sec, "\n", 2)[0], ".txt")
		grab := func(re string) []string {
			m := regexp.MustCompile(re).FindStringSubmatch(sec)
			if m == nil {
				t.Fatalf("SOURCES.md %s: no match for %s", name, re)
			}
			return m
		}
		atoi := func(s string) int {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		f := sourceFacts{names: map[string]int{}}
		f.kind = Kind(grab("top-level key: `([a-z_]+)`")[1])
		f.version = grab(`Game version\(s\): ([0-9.]+);`)[1]
		f.blueprints = atoi(grab(`blueprints: (\d+);`)[1])
		f.entities = atoi(grab(`Entity count \(all blueprints\): (\d+);`)[1])
		f.wires20 = atoi(grab("top-level 2.0 `wires` entries: (\\d+);")[1])
		if ds := grab(`direction values seen: \[([0-9, ]*)\]`)[1]; ds != "" {
			for _, d := range strings.Split(ds, ",") {
				f.directions = append(f.directions, atoi(strings.TrimSpace(d)))
			}
		}
		if l := grab(`Labels: \[(.*)\]`)[1]; l != "None" && !strings.Contains(l, ",") {
			f.label = strings.Trim(l, "'")
		}
		for _, m := range regexp.MustCompile(`([a-z0-9-]+) x(\d+)`).FindAllStringSubmatch(grab(`Entity names: (.*)`)[1], -1) {
			f.names[m[1]] = atoi(m[2])
		}
		out[name] = f
	}
	return out
}

// TestInspectRealStringsMatchSources checks inspect against the facts
// recorded with each real string when it was collected.
func TestInspectRealStringsMatchSources(t *testing.T) {
	facts := readSources(t)
	for name := range facts {
		if strings.HasPrefix(name, "community/") {
			delete(facts, name)
		}
	}
	strs := realStrings(t)
	if len(facts) != len(strs) {
		t.Fatalf("SOURCES.md describes %d strings, %s holds %d", len(facts), realDir, len(strs))
	}
	for name, s := range strs {
		t.Run(name, func(t *testing.T) {
			f, ok := facts[name]
			if !ok {
				t.Fatalf("%s is not in SOURCES.md", name)
			}
			o := mustDecode(t, s)
			sum := Inspect(o, nil)
			if sum.Kind != KindBlueprint || sum.GameVersion != f.version || sum.Blueprints != f.blueprints ||
				sum.Entities != f.entities || sum.Label != f.label {
				t.Errorf("summary %+v, SOURCES.md says %+v", sum, f)
			}
			if diff := cmp.Diff(f.names, sum.EntityCounts); diff != "" {
				t.Errorf("entity_counts differ from SOURCES.md (-want +got):\n%s", diff)
			}
			if f.wires20 > 0 && sum.Wires != f.wires20 {
				t.Errorf("wires = %d, SOURCES.md lists %d top-level wires", sum.Wires, f.wires20)
			}
			// Directions: 1.x strings double (8-way to 16-way), 2.0 keep theirs.
			scale := 1
			if strings.HasPrefix(f.version, "0.") || strings.HasPrefix(f.version, "1.") {
				scale = 2
			}
			var want, got []int
			for _, d := range f.directions {
				want = append(want, d*scale)
			}
			for _, e := range o.Blueprint.Entities {
				if e.Direction != North && !slices.Contains(got, int(e.Direction)) {
					got = append(got, int(e.Direction))
				}
			}
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("normalised directions %v, want %v (raw %v)", got, want, f.directions)
			}
		})
	}
}

// TestInspectCommunityBlueprintsMatchSources checks inspect against the facts
// recorded with each community string (books and planners among them), and
// that each encodes back to the same model.
func TestInspectCommunityBlueprintsMatchSources(t *testing.T) {
	facts := readSources(t)
	files, err := filepath.Glob(filepath.Join(realDir, "community", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no community strings: %v", err)
	}
	for _, path := range files {
		name := "community/" + strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			f, ok := facts[name]
			if !ok {
				t.Fatalf("%s is not in SOURCES.md", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			o := mustDecode(t, string(raw))
			sum := Inspect(o, nil)
			if sum.Kind != f.kind || sum.GameVersion != f.version || sum.Blueprints != f.blueprints || sum.Entities != f.entities {
				t.Errorf("summary kind %s version %s, %d blueprints, %d entities; SOURCES.md says %s %s, %d, %d",
					sum.Kind, sum.GameVersion, sum.Blueprints, sum.Entities, f.kind, f.version, f.blueprints, f.entities)
			}
			if diff := cmp.Diff(f.names, sum.EntityCounts); diff != "" {
				t.Errorf("entity_counts differ from SOURCES.md (-want +got):\n%s", diff)
			}
			if f.wires20 > 0 && sum.Wires < f.wires20 {
				t.Errorf("wires = %d, SOURCES.md lists %d top-level wires", sum.Wires, f.wires20)
			}
			enc, err := Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(o, mustDecode(t, enc)); diff != "" {
				t.Errorf("decode(encode(x)) differs (-orig +round trip):\n%s", diff)
			}
		})
	}
	for name := range facts {
		if strings.HasPrefix(name, "community/") && !slices.Contains(files, filepath.Join(realDir, name+".txt")) {
			t.Errorf("SOURCES.md describes %s, which is not there", name)
		}
	}
}

// rawEntity is an entity as encoding/json sees it: the independent oracle.
type rawEntity struct {
	Number     uint32             `json:"entity_number"`
	Name       string             `json:"name"`
	Position   map[string]float64 `json:"position"`
	Direction  int                `json:"direction"`
	Neighbours []uint32           `json:"neighbours"`
	Type       string             `json:"type"`
	Recipe     string             `json:"recipe"`
}

type rawBlueprint struct {
	Blueprint struct {
		Entities []rawEntity `json:"entities"`
		Wires    [][4]int    `json:"wires"`
		Version  uint64      `json:"version"`
	} `json:"blueprint"`
}

// TestDecodeRealStringsAgainstEncodingJSON compares every entity with what
// encoding/json reads from the same inflated text.
func TestDecodeRealStringsAgainstEncodingJSON(t *testing.T) {
	for name, s := range realStrings(t) {
		t.Run(name, func(t *testing.T) {
			var raw rawBlueprint
			if err := json.Unmarshal(unpack(t, s), &raw); err != nil {
				t.Fatal(err)
			}
			bp := mustDecode(t, s).Blueprint
			legacy := raw.Blueprint.Version>>48 < 2
			if len(bp.Entities) != len(raw.Blueprint.Entities) {
				t.Fatalf("%d entities, encoding/json sees %d", len(bp.Entities), len(raw.Blueprint.Entities))
			}
			var wantWires []Wire
			for i, r := range raw.Blueprint.Entities {
				e := bp.Entities[i]
				dir := r.Direction
				if legacy {
					dir *= 2
				}
				want := Position{int32(r.Position["x"] * 256), int32(r.Position["y"] * 256)}
				if e.Number != r.Number || e.Name != r.Name || e.Position != want || int(e.Direction) != dir ||
					e.Type != r.Type || e.Recipe != r.Recipe {
					t.Errorf("entity %d: got %+v, encoding/json reads %+v", i, e, r)
				}
				for _, n := range r.Neighbours {
					if r.Number < n {
						wantWires = append(wantWires, Wire{r.Number, Copper, n, Copper})
					}
				}
			}
			for _, w := range raw.Blueprint.Wires {
				wantWires = append(wantWires, Wire{uint32(w[0]), WireConnector(w[1]), uint32(w[2]), WireConnector(w[3])})
			}
			if legacy {
				slices.SortFunc(wantWires, compareWires)
			}
			if diff := cmp.Diff(wantWires, bp.Wires); diff != "" {
				t.Errorf("wires (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTripRealStrings encodes every real string and checks the result
// decodes to the same model and carries the same JSON as the game wrote.
func TestRoundTripRealStrings(t *testing.T) {
	for name, s := range realStrings(t) {
		t.Run(name, func(t *testing.T) {
			o := mustDecode(t, s)
			enc, err := Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(o, mustDecode(t, enc)); diff != "" {
				t.Fatalf("decode(encode(x)) differs (-orig +round trip):\n%s", diff)
			}
			// The JSON itself: same keys and values (key order and number
			// spelling aside). 1.x strings list pole neighbours in no
			// particular order, so compare those as sets.
			var want, got any
			if err := json.Unmarshal(unpack(t, s), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(unpack(t, enc), &got); err != nil {
				t.Fatal(err)
			}
			sortNeighbours(want)
			sortNeighbours(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("re-encoded JSON differs from the game's (-game +ours):\n%s", diff)
			}
		})
	}
}

func sortNeighbours(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if n, ok := c.([]any); ok && k == "neighbours" {
				slices.SortFunc(n, func(a, b any) int { return int(a.(float64) - b.(float64)) })
			}
			sortNeighbours(c)
		}
	case []any:
		for _, c := range x {
			sortNeighbours(c)
		}
	}
}
