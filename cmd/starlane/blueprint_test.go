package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/starlane/starlane/sim/blueprint"
)

const blueprintDir = "../../testdata/blueprints"

// runStarlane runs the CLI with args and stdin, returning stdout, stderr and
// the error Execute returned (main turns any error into a non-zero exit).
func runStarlane(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestBlueprintInspectJSONContract(t *testing.T) {
	path := filepath.Join(blueprintDir, "oil_processing_1_1.txt")
	out, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 {
		t.Errorf("--json printed %d lines, want one object on one line:\n%s", n+1, out)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%s", err, out)
	}
	want := map[string]string{
		"kind":         `"blueprint"`,
		"label":        `"Crude Oil Processing - step 1"`,
		"game_version": `"1.1.8.0"`,
		"blueprints":   `1`,
		"entities":     `242`,
		"wires":        `10`,
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	var counts map[string]int
	if err := json.Unmarshal(got["entity_counts"], &counts); err != nil || counts["pipe-to-ground"] != 114 || counts["steel-chest"] != 1 || len(counts) != 10 {
		t.Errorf("entity_counts = %s (%v)", got["entity_counts"], err)
	}
	if _, ok := got["unsupported"]; !ok {
		t.Error("no unsupported field")
	}
	// Each unsupported name comes with the reason the text output gives.
	var reasons map[string]string
	if err := json.Unmarshal(got["unsupported_reasons"], &reasons); err != nil ||
		reasons["constant-combinator"] != "circuit networks are not simulated" || reasons["small-lamp"] != "lamps and circuit networks are not simulated" {
		t.Errorf("unsupported_reasons = %s (%v)", got["unsupported_reasons"], err)
	}
}

func TestBlueprintInspectStdinAndText(t *testing.T) {
	s, err := os.ReadFile(filepath.Join(blueprintDir, "rs_latch_2_0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runStarlane(t, string(s), "blueprint", "inspect", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`blueprint "RS Latch" (Factorio 2.0.12.2)`, "6 entities, 7 wires, 5 parameters", "3  decider-combinator", "1  power-switch"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A 1.x name the bundle lacks under its 2.0 name is listed with that name and its
// reason, as a paste would refuse it.
func TestBlueprintInspectGivesTheReasonOfA1xName(t *testing.T) {
	str := `0eJxNjFEKwjAQRO8y36nY0tq6VxERWxZdaNKabMQScnej/ggDjxmGlzDOkVcvTkEJomxBf5vBk32QxYGaoW77Y9N3h5J2MGCnosIBdEq/sl1ctCN7UG3grpaLa15uElSmarpz0MrzIxaWj8G6hCL4uBNeoP2uM9i+zPmc8xsCLjPi`
	out, _, err := runStarlane(t, str, "blueprint", "inspect", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "logistic-chest-requester    as requester-chest: logistic robots are not simulated") {
		t.Errorf("inspect of a 1.x requester chest:\n%s\nwant its 2.0 name and reason", out)
	}
}

func TestBlueprintInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(blueprintDir, "belt_balancer_4x4.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{"empty", "", "empty input"},
		{"version", "2" + string(good[1:]), "unsupported exchange string version '2'"},
		{"base64", string(good[:30]) + "%%%" + string(good[33:]), "malformed base64 at character 31"},
		{"cut short", string(good[:len(good)/2]), "cut short"},
		{"truncated", string(good[:len(good)/2+1]), "truncated zlib data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".txt")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", path)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q, want it to name the file and contain %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("printed %q on failure", out)
			}
		})
	}
	if _, _, err := runStarlane(t, "", "blueprint", "inspect", filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := runStarlane(t, "", "blueprint", "inspect"); err == nil {
		t.Error("no FILE argument accepted")
	}
}

// beltsOnly is a bundle that simulates transport belts and nothing else.
type beltsOnly struct{}

func (beltsOnly) Has(name string) bool { return name == "transport-belt" }
func (beltsOnly) ShortHash() string    { return "0123456789ab" }
func (beltsOnly) UnsupportedReason(name string) string {
	if name == "splitter" {
		return "splitters are off today"
	}
	return "not in prototype bundle 0123456789ab"
}

func TestBlueprintInspectUnsupportedNames(t *testing.T) {
	cmd := newBlueprintCmdWith(func() entityBundle { return beltsOnly{} })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"inspect", filepath.Join(blueprintDir, "belt_balancer_4x4.txt")})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	i := strings.Index(text, "not in prototype bundle 0123456789ab")
	if i < 0 {
		t.Fatalf("no unsupported section:\n%s", text)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text[i:]), "\n")[1:] {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	want := []string{"6 splitter splitters are off today", "4 underground-belt"}
	if !slices.Equal(lines, want) {
		t.Errorf("unsupported lines %q, want %q", lines, want)
	}
}

// TestBlueprintInspectUsesSimBundle checks the CLI asks the simulation's own
// bundle: combinators and lamps are out of scope (sim/DESIGN.md); fluids,
// inserters and chests are in.
func TestBlueprintInspectUsesSimBundle(t *testing.T) {
	out, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", filepath.Join(blueprintDir, "oil_processing_1_1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Unsupported map[string]int `json:"unsupported"`
		Bundle      string         `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Unsupported["constant-combinator"] != 4 || got.Unsupported["small-lamp"] != 5 {
		t.Errorf("combinators and lamps not reported unsupported: %v", got.Unsupported)
	}
	for _, name := range []string{"inserter", "steel-chest", "pipe", "oil-refinery", "storage-tank"} {
		if _, bad := got.Unsupported[name]; bad {
			t.Errorf("%s reported unsupported: %v", name, got.Unsupported)
		}
	}
	if got.Bundle == "" {
		t.Error("no bundle hash in --json output")
	}
}

// What a paste leaves out with --skip-unknown is listed with the reason the
// refusal gives, and inspect words a mod's entity as no Factorio prototype.
func TestBlueprintSkippedAndUnsupportedNamesSayWhy(t *testing.T) {
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "radar", Position: blueprint.Position{X: 384, Y: 384}},
		{Number: 2, Name: "kr-advanced-assembling-machine", Position: blueprint.Position{X: 1664, Y: 384}},
		{Number: 3, Name: "transport-belt", Position: blueprint.Position{X: 2432, Y: 128}},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runStarlane(t, str, "sim", "run", "--map", "empty", "--blueprint", "-", "--ticks", "1", "--skip-unknown")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1 radar (a base-game entity Starlane does not simulate)",
		"1 kr-advanced-assembling-machine (no Factorio 2.0 entity has this name: a mod's, or misspelt)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sim run --skip-unknown output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runStarlane(t, str, "sim", "run", "--map", "empty", "--blueprint", "-", "--ticks", "1", "--skip-unknown", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"skipped_reasons":{"kr-advanced-assembling-machine":"no Factorio 2.0 entity has this name: a mod's, or misspelt","radar":"a base-game entity Starlane does not simulate"}`) {
		t.Errorf("sim run --json lacks the skipped reasons:\n%s", out)
	}
	out, _, err = runStarlane(t, str, "blueprint", "inspect", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`kr-advanced-assembling-machine +no Factorio 2\.0 entity has this name: a mod's, or misspelt`).MatchString(out) {
		t.Errorf("inspect does not say a mod's entity is no Factorio prototype:\n%s", out)
	}
}

// Fuel a blueprint requests is not put in by a paste; sim run says so.
func TestPasteUndeliveredRequestsNamedBySimRun(t *testing.T) {
	o, err := blueprint.DecodeJSON([]byte(`{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"stone-furnace","position":{"x":1,"y":1},"items":{"coal":5}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runStarlane(t, str, "sim", "run", "--map", "empty", "--blueprint", "-", "--ticks", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "built without the items it requests, which the game's robots deliver: coal ×5") {
		t.Errorf("sim run does not name the undelivered coal:\n%s", out)
	}
	out, _, err = runStarlane(t, str, "sim", "run", "--map", "empty", "--blueprint", "-", "--ticks", "1", "--json")
	if err != nil || !strings.Contains(out, `"undelivered":{"coal":5}`) {
		t.Errorf("sim run --json: %v\n%s", err, out)
	}
}

// A paste onto a map's entities says where it collides and how to place it.
func TestPasteCollisionSaysHowToPlace(t *testing.T) {
	_, _, err := runStarlane(t, "", "sim", "run", "--map", "starter", "--ticks", "1", "--skip-unknown",
		"--blueprint", filepath.Join(blueprintDir, "community", "nilaus_starter_base_0_16.txt"))
	if err == nil || !strings.Contains(err.Error(), "collides with") || !strings.Contains(err.Error(), "paste it elsewhere with --at X,Y, or onto --map empty") {
		t.Errorf("paste onto the starter map's entities: %v", err)
	}
}

// Pasting a book says which of its blueprints went in and how to pick another.
func TestSimRunSaysWhichBookEntryItPasted(t *testing.T) {
	path := filepath.Join(blueprintDir, "community", "modules_book_1_1.txt")
	out, _, err := runStarlane(t, "", "sim", "run", "--map", "empty", "--ticks", "1", "--skip-unknown", "--blueprint", path, "--index", "4")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `book entry 4 of 5 ("ageuhega"; --index N pastes another): pasted 192 entities`) {
		t.Errorf("sim run of a book entry:\n%s", out)
	}
}

// Every community string goes through the commands a new user runs: inspect
// (text and --json) succeeds, and sim run --skip-unknown pastes every blueprint
// of it, or, for a planner, fails saying there is nothing to paste.
func TestCommunityBlueprintsThroughTheCLI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(blueprintDir, "community", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no community strings: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, _, err := runStarlane(t, "", "blueprint", "inspect", path); err != nil {
				t.Fatalf("inspect: %v", err)
			}
			out, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", path)
			if err != nil {
				t.Fatalf("inspect --json: %v", err)
			}
			var sum struct {
				Kind    string `json:"kind"`
				Entries []struct {
					Index int `json:"index"`
				} `json:"entries"`
			}
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatal(err)
			}
			if len(sum.Entries) == 0 {
				_, _, err := runStarlane(t, "", "sim", "run", "--map", "empty", "--ticks", "1", "--skip-unknown", "--blueprint", path)
				if err == nil || !strings.Contains(err.Error(), "has nothing to paste") {
					t.Errorf("sim run of a %s: %v", sum.Kind, err)
				}
				return
			}
			for _, e := range sum.Entries {
				if _, _, err := runStarlane(t, "", "sim", "run", "--map", "empty", "--ticks", "60", "--skip-unknown",
					"--blueprint", path, "--index", strconv.Itoa(e.Index)); err != nil {
					t.Errorf("sim run --index %d: %v", e.Index, err)
				}
			}
		})
	}
}

// inspect tells, for each blueprint of a book, whether it pastes whole, needs
// --skip-unknown or is refused, so a reader of a big book need not try each.
func TestInspectSaysWhatEachBookEntryPastes(t *testing.T) {
	path := filepath.Join(blueprintDir, "community", "capsules_book_1_1.txt")
	out, _, err := runStarlane(t, "", "blueprint", "inspect", path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)paste at 0,0\n  0 .*needs --skip-unknown\n  1 .*needs --skip-unknown$`).MatchString(out) {
		t.Errorf("inspect of a book:\n%s", out)
	}
	out, _, err = runStarlane(t, "", "blueprint", "inspect", "--json", filepath.Join(blueprintDir, "community", "pipe_lint_2_0.txt"))
	if err != nil || !strings.Contains(out, `"pastes":["whole"]`) {
		t.Errorf("inspect --json of a blueprint that pastes whole: %v\n%s", err, out)
	}
}
