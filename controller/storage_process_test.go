package controller_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// runUntilServingOrExit starts a controller and waits until it either exits (its
// exit code and output returned) or serves `surface list` (the names returned,
// and the process stopped).
func runUntilServingOrExit(t *testing.T, bin, logPath string, args []string, api string) (exited bool, code int, out string, names []string) {
	t.Helper()
	var buf bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { os.WriteFile(logPath, buf.Bytes(), 0o644) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			code = 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return true, code, buf.String(), nil
		default:
		}
		stdout, _, c := proctest.Run(t, bin, 5*time.Second, "surface", "list", "--json", "--controller", api, "--timeout", "1s")
		if c == 0 {
			var list []struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal([]byte(stdout), &list); err != nil {
				t.Fatal(err)
			}
			for _, s := range list {
				names = append(names, s.Name)
			}
			cmd.Process.Kill()
			<-done
			return false, 0, buf.String(), names
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-done
	t.Fatalf("controller neither served nor exited in 20s:\n%s", buf.String())
	return
}

// TestDamagedControllerLog writes 20 acknowledged surfaces through a single
// controller, stops it, and damages its raft.db in many ways (each meta page and
// both, 8 KiB of random bytes, 4-byte overwrites at random offsets, truncations,
// an empty file). Every restart must either refuse to start — exit code 1, a message naming
// raft.db and --rebuild-from-peers, never advice to use --bootstrap, no Go panic
// text — or serve all 20 surfaces: never 19.
func TestDamagedControllerLog(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a controller process a few dozen times; runs without -short")
	}
	dir := t.TempDir()
	bin := mustBuild(t, dir)
	ports := freePorts(t, 2)
	data := filepath.Join(dir, "c1")
	args := []string{"controller", "--id", "c1", "--data-dir", data, "--bind", ports[0], "--raft-bind", ports[1],
		"--election-timeout", "300ms", "--bootstrap"}
	p := proctest.Start(t, "c1", bin, filepath.Join(dir, "c1.log"), args...)
	waitFor(t, 15*time.Second, "the controller to lead", func(ctx context.Context) bool {
		st, err := status(ctx, ports[0])
		return err == nil && st.State == "leader"
	})
	for i := 0; i < 20; i++ {
		if _, errOut, code := proctest.Run(t, bin, 20*time.Second, "surface", "create", fmt.Sprintf("s%02d", i), "--controller", ports[0]); code != 0 {
			t.Fatalf("create s%02d: %s", i, errOut)
		}
	}
	p.Stop() // waits for the exit
	orig, err := os.ReadFile(filepath.Join(data, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	// used is the part of the file bbolt's meta page counts (its high-water mark).
	used := int(binary.LittleEndian.Uint64(orig[16+40:])) * ps
	seed := uint64(time.Now().UnixNano())
	t.Logf("damage seed %d; raft.db is %d bytes, %d in use", seed, len(orig), used)
	r := rand.New(rand.NewPCG(seed, 16))
	overwrite := func(off, n int) func([]byte) []byte {
		return func(b []byte) []byte {
			for i := off; i < off+n && i < len(b); i++ {
				b[i] = byte(r.Uint32())
			}
			return b
		}
	}
	type damage struct {
		name  string
		apply func([]byte) []byte
	}
	cases := []damage{
		{"both meta pages", func(b []byte) []byte { overwrite(16, 48)(b); return overwrite(ps+16, 48)(b) }},
		{"meta page 0", overwrite(16, 48)},
		{"meta page 1", overwrite(ps+16, 48)},
		{"8KiB in the middle", overwrite(used/2/ps*ps, 8192)},
		{"truncated to a third", func(b []byte) []byte { return b[:len(b)/3] }},
		{"truncated mid-page", func(b []byte) []byte { return b[:3*ps+123] }},
		{"empty", func(b []byte) []byte { return b[:0] }},
	}
	for i := 0; i < 8; i++ {
		off := 2*ps + r.IntN(used-2*ps-4)
		cases = append(cases, damage{fmt.Sprintf("4 bytes at %d", off), overwrite(off, 4)})
	}
	refused, served := 0, 0
	for i, d := range cases {
		if err := os.WriteFile(filepath.Join(data, "raft.db"), d.apply(bytes.Clone(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		exited, code, out, names := runUntilServingOrExit(t, bin, filepath.Join(dir, fmt.Sprintf("case%02d.log", i)), args, ports[0])
		switch {
		case exited:
			refused++
			if refused == 1 {
				t.Logf("%s: refused:\n%s", d.name, out)
			}
			if code != 1 || !strings.Contains(out, filepath.Join(data, "raft.db")) || !strings.Contains(out, "--rebuild-from-peers") {
				t.Errorf("%s: exit %d, want 1 with a message naming raft.db and the recovery:\n%s", d.name, code, out)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") || strings.Contains(out, "use --bootstrap") || strings.Contains(out, "with --bootstrap") {
				t.Errorf("%s: the output shows a crash or --bootstrap advice:\n%s", d.name, out)
			}
		case len(names) != 20:
			t.Errorf("%s: the controller started and serves %d surfaces, not the 20 acknowledged: %v", d.name, len(names), names)
		default:
			served++
		}
	}
	t.Logf("%d damaged logs refused with a recovery message, %d served all 20 surfaces", refused, served)
}
