package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/sim"
)

// modBundle writes a copy of the built-in bundle under another name and
// version (a mod pack with its own hash) to file and returns it.
func modBundle(t *testing.T, file, name, version string) *sim.Bundle {
	t.Helper()
	var buf bytes.Buffer
	if err := sim.DefaultBundle().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := sim.LoadBundle(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b.Name, b.Version = name, version
	buf.Reset()
	if err := b.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := sim.LoadBundle(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBundleCommands uploads a mod pack to a real controller process, creates a
// surface with it on a node that has never seen it (the node fetches it by
// hash and the surface ticks), and checks every refusal an operator or player
// can meet: an unknown bundle, a node that cannot get the bundle, a save made
// with a bundle the cluster lacks, a delete of a bundle in use, a file that is
// no bundle, and a player whose bundle differs.
func TestBundleCommands(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and two nodes")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.StartNode("n2", "--fixed-bundles")
	c.StartNode("n3")
	c.WaitNodes("n1", "n2", "n3")

	// Nodes report the bundles they hold, by name, and whether they fetch others.
	var n2 struct {
		Bundles      []string `json:"bundles"`
		BundleNames  []string `json:"bundle_names"`
		BundlesFixed bool     `json:"bundles_fixed"`
	}
	c.JSON(&n2, "node", "get", "n2", "--json")
	if len(n2.Bundles) != 1 || n2.Bundles[0] != sim.DefaultBundle().Hash() || n2.BundleNames[0] != "vanilla" || !n2.BundlesFixed {
		t.Fatalf("node get n2: %+v", n2)
	}
	if out := c.CLI("node", "get", "n2"); !strings.Contains(out, "vanilla ("+sim.DefaultBundle().Hash()[:12]+"); fixed") {
		t.Errorf("node get n2 does not show its bundle and that it fetches no other:\n%s", out)
	}

	file := filepath.Join(dir, "space-age.json")
	mod := modBundle(t, file, "space-age", "2.0.76")
	var up struct {
		Name     string `json:"name"`
		Hash     string `json:"hash"`
		Replicas int    `json:"replicas"`
	}
	c.JSON(&up, "bundle", "upload", file)
	if up.Name != "space-age" || up.Hash != mod.Hash() || up.Replicas != 1 {
		t.Fatalf("upload answered %+v; want space-age with hash %s", up, mod.Hash())
	}
	var list []struct {
		Name    string `json:"name"`
		Hash    string `json:"hash"`
		Builtin bool   `json:"builtin"`
	}
	c.JSON(&list, "bundle", "list", "--json")
	if len(list) != 2 || !list[0].Builtin || list[0].Hash != sim.DefaultBundle().Hash() || list[1].Name != "space-age" {
		t.Fatalf("bundle list: %+v", list)
	}
	back := filepath.Join(dir, "back.json")
	c.CLI("bundle", "download", "space-age", "--out", back)
	if got, err := os.Open(back); err != nil {
		t.Fatal(err)
	} else if b, err := sim.LoadBundle(got); err != nil || b.Hash() != mod.Hash() {
		t.Fatalf("the downloaded bundle: %v, hash %v", err, b)
	}

	// n1 and n3 have never held space-age: each fetches it by hash, n1 runs the
	// surface and n3 keeps a hot standby that simulates it too and compares
	// hashes (n2 runs only the bundles it holds, so it is no candidate).
	c.CLI("surface", "create", "nauvis", "--bundle", "space-age", "--node", "n1", "--replicas", "2")
	proctest.Eventually(t, 90*time.Second, "nauvis, made with an uploaded bundle, to tick on n1 with a synced standby on n3", func() bool {
		var s struct {
			Bundle      string                 `json:"bundle"`
			Primary     string                 `json:"primary"`
			Stats       *struct{ Tick uint64 } `json:"stats"`
			Replication *struct{ Synced []string }
		}
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "nauvis", "--json", "--controller", c.CtlAddr)
		return code == 0 && jsonInto(out, &s) && s.Bundle == mod.Hash() && s.Primary == "n1" && s.Stats != nil && s.Stats.Tick > 60 &&
			s.Replication != nil && len(s.Replication.Synced) == 1 && s.Replication.Synced[0] == "n3"
	})
	var events struct {
		Events []struct{ Kind, Message string }
	}
	c.JSON(&events, "surface", "get", "nauvis", "--json")
	for _, e := range events.Events {
		if strings.Contains(e.Kind, "desync") || strings.Contains(e.Kind, "refused") {
			t.Errorf("event %s: %s", e.Kind, e.Message)
		}
	}

	// A save made with a bundle the cluster does not have.
	other := modBundle(t, filepath.Join(dir, "krastorio.json"), "krastorio", "1.3.0")
	s, err := sim.NewMap(other, "starter", 1, "vulcanus")
	if err != nil {
		t.Fatal(err)
	}
	var save bytes.Buffer
	if err := s.Save(&save); err != nil {
		t.Fatal(err)
	}
	saveFile := filepath.Join(dir, "krastorio.sav")
	os.WriteFile(saveFile, save.Bytes(), 0o644)
	corrupt := filepath.Join(dir, "corrupt.json")
	os.WriteFile(corrupt, []byte(`{"name": "broken", "items": 7}`), 0o644)
	// A bundle that loads but holds none of what the built-in maps are built from.
	canon, err := sim.DefaultBundle().CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var bare map[string]any
	if err := json.Unmarshal(canon, &bare); err != nil {
		t.Fatal(err)
	}
	bare["name"] = "bare"
	for _, k := range []string{"items", "recipes", "entities", "technologies"} {
		bare[k] = []any{}
	}
	bareFile := filepath.Join(dir, "bare.json")
	if data, err := json.Marshal(bare); err != nil || os.WriteFile(bareFile, data, 0o644) != nil {
		t.Fatal(err)
	}
	c.CLI("bundle", "upload", bareFile)

	vanilla := "'vanilla' (" + sim.DefaultBundle().Hash()[:12] + "…)"
	spaceAge := "'space-age' (" + mod.Hash()[:12] + "…)"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown bundle on create", []string{"surface", "create", "gleba", "--bundle", "nosuch"}, `there is no bundle "nosuch"`},
		{"unknown bundle hash on create", []string{"surface", "create", "gleba", "--bundle", other.Hash()}, "there is no bundle"},
		{"bundle mismatch at placement (create)", []string{"surface", "create", "fulgora", "--bundle", "space-age", "--node", "n2"},
			"bundle mismatch: surface fulgora needs bundle " + spaceAge + ", node n2 has " + vanilla},
		{"bundle mismatch at placement (move)", []string{"surface", "move", "nauvis", "--to", "n2"},
			"bundle mismatch: surface nauvis needs bundle " + spaceAge + ", node n2 has " + vanilla},
		{"save with an unknown bundle (upload)", []string{"save", "upload", saveFile}, "save was made with prototype bundle (" + other.Hash()[:12] + "…), which this cluster does not have"},
		{"save with an unknown bundle (create)", []string{"surface", "create", "vulcanus", "--map", saveFile}, "which this cluster does not have"},
		{"delete of a bundle in use", []string{"bundle", "delete", "space-age"}, "bundle " + spaceAge + " is in use by surface nauvis"},
		{"delete of the built-in bundle", []string{"bundle", "delete", "vanilla"}, "is built in and cannot be deleted"},
		{"a map the bundle lacks the resources of", []string{"surface", "create", "barren", "--bundle", "bare"},
			"surface barren: map starter cannot be generated with bundle \"bare\": generate map starter: planet nauvis: resource iron-ore is not in the prototype bundle"},
		{"corrupt bundle upload", []string{"bundle", "upload", corrupt}, "corrupt.json is not a prototype bundle Starlane can load: read prototype bundle: field items (byte"},
	} {
		out, errOut, code := proctest.Run(t, bin, 30*time.Second, append(tc.args, "--controller", c.CtlAddr)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: %v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.name, tc.args, code, out, errOut, tc.want)
		}
	}
	c.CLI("bundle", "delete", "bare")
	// A save sent as a bundle by mistake is refused, and costs the cluster
	// nothing: the save it already holds with that content stays whole.
	vs, err := sim.NewMap(sim.DefaultBundle(), "starter", 1, "aquilo")
	if err != nil {
		t.Fatal(err)
	}
	save.Reset()
	vs.Save(&save)
	vanillaSave := filepath.Join(dir, "aquilo.sav")
	os.WriteFile(vanillaSave, save.Bytes(), 0o644)
	c.CLI("save", "upload", vanillaSave)
	if _, errOut, code := proctest.Run(t, bin, 30*time.Second, "bundle", "upload", vanillaSave, "--controller", c.CtlAddr); code != 1 || !strings.Contains(errOut, "not a prototype bundle") {
		t.Errorf("a save uploaded as a bundle: exit %d, %q", code, errOut)
	}
	saveBack := filepath.Join(dir, "aquilo-back.sav")
	c.CLI("save", "download", "aquilo", "--out", saveBack)
	if got, _ := os.ReadFile(saveBack); !bytes.Equal(got, save.Bytes()) {
		t.Error("the save's content was lost when the same file was refused as a bundle")
	}

	var surfaces []struct{ Name string }
	c.JSON(&surfaces, "surface", "list", "--json")
	if len(surfaces) != 1 {
		t.Fatalf("refused surfaces were stored: %+v", surfaces)
	}

	// A player whose client has the built-in bundle is told both sides.
	var n1 struct{ Address string }
	c.JSON(&n1, "node", "get", "n1", "--json")
	_, errOut, code := proctest.Run(t, bin, 60*time.Second, "bot", "--node", n1.Address, "--surface", "nauvis", "--count", "1", "--ticks", "60", "--controller", c.CtlAddr)
	want := "bundle mismatch: surface nauvis runs bundle 'space-age 2.0.76' (" + mod.Hash()[:12] + "…), your client has " + vanilla
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(errOut, "rpc error") {
		t.Errorf("a bot with the built-in bundle: exit %d, %q; want exit 1 and %q", code, errOut, want)
	}

	// A save of it, as a file.
	moddedFile := filepath.Join(t.TempDir(), "nauvis.sav")
	c.CLI("surface", "save", "nauvis", "--out", moddedFile)

	// Once nothing uses it, the bundle goes.
	c.CLI("surface", "delete", "nauvis", "--yes")
	c.CLI("bundle", "delete", "space-age")
	c.JSON(&list, "bundle", "list", "--json")
	if len(list) != 1 || !list[0].Builtin {
		t.Fatalf("bundle list after delete: %+v", list)
	}
	// Its saves can then run nowhere: an upload right after the delete is
	// refused (the controller that takes it may not have applied the delete
	// yet; the leader checks again), and so is the next.
	for _, args := range [][]string{{"save", "upload", moddedFile, "--name", "modded"}, {"save", "upload", moddedFile, "--name", "again"}} {
		_, errOut, code := proctest.Run(t, bin, 60*time.Second, append(args, "--controller", c.CtlAddr)...)
		if code != 1 || !strings.Contains(errOut, "which this cluster does not have") {
			t.Errorf("starlane %s after the bundle was deleted: exit %d, %q", strings.Join(args, " "), code, errOut)
		}
	}
}
