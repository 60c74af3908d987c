package devcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data dir holds its cluster's ports: an explicit --port elsewhere is refused
// (the cluster cannot move), the same port or none starts it where it was.
func TestGivenPortMustMatchTheDataDirsCluster(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "dev.json"), []byte(`{"host":"127.0.0.1","controllers":[{"name":"c1","dir":"c1","api":17400,"raft":17401,"metrics":17402}],"nodes":[]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		port  int
		given bool
		want  string
	}{
		{19400, true, "listens from port 17400 (controller c1's API); --port 19400 cannot move it"},
		{17400, true, ""},
		{0, true, ""},
		{7400, false, ""}, // the flag's default, not asked for
	} {
		d := &cluster{dir: dir, shape: smallShape, portGiven: tc.given}
		err := d.loadPorts(tc.port)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("--port %d (given %v): %v", tc.port, tc.given, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("--port %d: %v, want %q", tc.port, err, tc.want)
		case tc.want == "" && d.ports.Controllers[0].API != 17400:
			t.Errorf("--port %d (given %v): controller API %d, want the data dir's 17400", tc.port, tc.given, d.ports.Controllers[0].API)
		}
	}
}

// dev refuses a directory that holds other things, and takes a new, empty or
// dev-made one.
func TestDataDirOfOtherThingsIsRefused(t *testing.T) {
	junk := t.TempDir()
	if err := os.WriteFile(filepath.Join(junk, "notes.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkDataDir(junk); err == nil || !strings.Contains(err.Error(), "holds other files (notes.txt) and no `starlane dev` cluster") {
		t.Errorf("a directory of notes: %v", err)
	}
	ours := t.TempDir()
	if err := os.WriteFile(filepath.Join(ours, "dev.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(junk, "new"), t.TempDir(), ours} {
		if err := checkDataDir(dir); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}
