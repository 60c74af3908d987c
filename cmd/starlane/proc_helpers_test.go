package main

import (
	"testing"

	"github.com/starlane/starlane/internal/proctest"
)

// processTest starts a test that runs starlane processes: it is skipped under
// -short (saying why), and gets a fresh directory and the binary built into it.
func processTest(t *testing.T, why string) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
	dir = t.TempDir()
	bin, err := proctest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, bin
}
