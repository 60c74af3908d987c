package controller_test

import (
	"bytes"
	"context"
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
// controller, stops it, and damages its Raft log (raft-wal/) in many ways: the
// segment file (8 KiB of random bytes, 4-byte overwrites at random offsets of the
// written part, truncations, an empty file) and the meta file wal-meta.db (each
// bbolt meta page and both). Every restart must either refuse to start — exit
// code 1, a message naming the log and --rebuild-from-peers, never advice to use
// --bootstrap, no Go panic text — or serve all 20 surfaces: never 19.
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
	walDir := filepath.Join(data, "raft-wal")
	segs, _ := filepath.Glob(filepath.Join(walDir, "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("want one WAL segment, have %v", segs)
	}
	seg, meta := segs[0], filepath.Join(walDir, "wal-meta.db")
	origSeg, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	origMeta, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	// used is the written part of the preallocated segment.
	used := len(bytes.TrimRight(origSeg, "\x00"))
	seed := uint64(time.Now().UnixNano())
	t.Logf("damage seed %d; the segment has %d bytes written", seed, used)
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
		file  string
		apply func([]byte) []byte
	}
	cases := []damage{
		{"meta: both meta pages", meta, func(b []byte) []byte { overwrite(16, 48)(b); return overwrite(ps+16, 48)(b) }},
		{"meta: meta page 0", meta, overwrite(16, 48)},
		{"meta: meta page 1", meta, overwrite(ps+16, 48)},
		{"meta: empty", meta, func(b []byte) []byte { return b[:0] }},
		{"segment: 8KiB in the middle", seg, overwrite(used/2, 8192)},
		{"segment: the file header", seg, overwrite(0, 8)},
		{"segment: truncated after the written part", seg, func(b []byte) []byte { return b[:used] }},
		{"segment: truncated to a third", seg, func(b []byte) []byte { return b[:used/3] }},
		{"segment: empty", seg, func(b []byte) []byte { return b[:0] }},
	}
	for i := 0; i < 10; i++ {
		off := 32 + r.IntN(used-32-4)
		cases = append(cases, damage{fmt.Sprintf("segment: 4 bytes at %d", off), seg, overwrite(off, 4)})
	}
	restore := func() {
		for f, b := range map[string][]byte{seg: origSeg, meta: origMeta} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	refused, served := 0, 0
	for i, d := range cases {
		restore()
		orig := origSeg
		if d.file == meta {
			orig = origMeta
		}
		if err := os.WriteFile(d.file, d.apply(bytes.Clone(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		exited, code, out, names := runUntilServingOrExit(t, bin, filepath.Join(dir, fmt.Sprintf("case%02d.log", i)), args, ports[0])
		switch {
		case exited:
			refused++
			if refused == 1 {
				t.Logf("%s: refused:\n%s", d.name, out)
			}
			if code != 1 || !strings.Contains(out, walDir) || !strings.Contains(out, "--rebuild-from-peers") {
				t.Errorf("%s: exit %d, want 1 with a message naming the Raft log and the recovery:\n%s", d.name, code, out)
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
