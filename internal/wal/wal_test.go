package wal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func appendSync(t *testing.T, s *Stream, gen, tick uint64, data string) {
	t.Helper()
	done := make(chan error, 1)
	s.Append(gen, tick, []byte(data), func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func scanAll(t *testing.T, dir string) []Entry {
	t.Helper()
	var out []Entry
	if err := Scan(dir, func(e Entry) error {
		e.Data = append([]byte(nil), e.Data...)
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Entries of several streams come back in order, and a frame cut short by a
// crash ends the scan of its segment without an error.
func TestScanStopsAtATornFrame(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.Stream("a"), l.Stream("b")
	appendSync(t, a, 1, 1, "a1")
	appendSync(t, b, 1, 1, "b1")
	appendSync(t, a, 1, 2, "a2")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := segments(dir)
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	fi, _ := os.Stat(segs[0])
	if err := os.Truncate(segs[0], fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, dir)
	if len(got) != 2 || got[0].Stream != "a" || string(got[0].Data) != "a1" || got[1].Stream != "b" || got[1].Tick != 1 {
		t.Fatalf("after cutting the last frame short: %+v", got)
	}
}

// A segment is deleted once every stream that wrote to it released its entries
// there (or closed); recovered segments go with DropRecovered.
func TestSegmentsGoOnceReleased(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.Stream("a"), l.Stream("b")
	for i := uint64(1); i <= 20; i++ {
		appendSync(t, a, 1, i, "0123456789012345678901234567890123456789")
	}
	appendSync(t, b, 1, 1, "b")
	count := func() int { s, _ := segments(dir); return len(s) }
	// The committer deletes segments right after telling the writers.
	settle := func(want int) int {
		for end := time.Now().Add(5 * time.Second); count() > want && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		return count()
	}
	if n := count(); n < 10 {
		t.Fatalf("%d segments for 21 entries of 50 bytes with 64-byte segments", n)
	}
	a.Release(20)
	appendSync(t, b, 1, 2, "b") // a commit collects
	if n := settle(3); n > 3 {
		t.Fatalf("%d segments left after a released everything (b wrote only the last two)", n)
	}
	b.Close()
	appendSync(t, a, 1, 21, "a")
	if n := settle(1); n != 1 {
		t.Fatalf("%d segments left with everything released, want only the active one", n)
	}
	l.Close()

	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := scanAll(t, dir); len(got) == 0 || got[len(got)-1].Tick != 21 {
		t.Fatalf("recovered entries: %+v", got)
	}
	if err := l.DropRecovered(); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, dir); len(got) != 0 {
		t.Fatalf("entries after DropRecovered: %+v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.wal")); len(m) != 1 {
		t.Fatalf("files after DropRecovered: %v", m)
	}
}

// Appends arriving while a commit waits for its interval share one commit.
func TestIntervalGroupsAppends(t *testing.T) {
	commits := 0
	l, err := Open(t.TempDir(), Options{Interval: 50 * time.Millisecond, Hook: func(s Stage) {
		if s == BeforeWrite {
			commits++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendSync(t, l.Stream("warm"), 1, 1, "x") // the next commit waits an interval
	done := make(chan error, 50)
	for i := range 50 {
		l.Stream("s").Append(1, uint64(i), []byte("x"), func(err error) { done <- err })
	}
	for range 50 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if commits > 3 {
		t.Fatalf("51 appends took %d commits", commits)
	}
}

// A lazy entry waits for the idle delay unless another entry needs a commit or
// someone hurries it.
func TestLazyEntriesWaitForTheIdleDelay(t *testing.T) {
	l, err := Open(t.TempDir(), Options{IdleDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := l.Stream("s")
	lazy := func(tick uint64) chan error {
		done := make(chan error, 1)
		s.AppendLazy(1, tick, []byte("x"), func(err error) { done <- err })
		return done
	}
	start := time.Now()
	if err := <-lazy(1); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("a lazy entry alone was committed after %v, before the idle delay", took)
	}
	start = time.Now()
	d := lazy(2)
	appendSync(t, l.Stream("u"), 1, 1, "urgent")
	if err := <-d; err != nil {
		t.Fatal(err)
	}
	d = lazy(3)
	s.Hurry()
	if err := <-d; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("lazy entries with an urgent one or hurried took %v", took)
	}
}

// A frame damaged in the middle of a segment (valid frames after it) is not a
// torn tail: Scan returns the entries before it and an error wrapping
// ErrCorrupt, whether the damage hit a frame's payload, its checksum or its
// length. A torn tail of zeros (a write the disk never finished) is still a
// torn tail.
func TestScanTellsDamageFromATornTail(t *testing.T) {
	write := func(t *testing.T) (string, string, []int64) {
		dir := t.TempDir()
		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := l.Stream("a")
		var ends []int64
		segs := func() string { s, _ := segments(dir); return s[0] }
		for tick := uint64(1); tick <= 5; tick++ {
			appendSync(t, a, 1, tick, "tick data of some length")
			fi, _ := os.Stat(segs())
			ends = append(ends, fi.Size())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, segs(), ends
	}
	for _, c := range []struct {
		name string
		off  func(ends []int64) int64 // where to write 0xdeadbeef
	}{
		{"payload", func(e []int64) int64 { return e[1] + 12 }},
		{"checksum", func(e []int64) int64 { return e[1] + 4 }},
		{"length", func(e []int64) int64 { return e[1] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, seg, ends := write(t)
			f, err := os.OpenFile(seg, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, c.off(ends)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			var ticks []uint64
			err = Scan(dir, func(e Entry) error { ticks = append(ticks, e.Tick); return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("damage to the third frame's %s: Scan returned %v, want ErrCorrupt", c.name, err)
			}
			if len(ticks) != 2 || ticks[1] != 2 {
				t.Fatalf("entries before the damage: %v, want ticks 1 and 2", ticks)
			}
		})
	}
	t.Run("torn tail of zeros", func(t *testing.T) {
		dir, seg, ends := write(t)
		if err := os.Truncate(seg, ends[3]); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(seg, ends[4]+4096); err != nil { // the last frame and more read as zeros
			t.Fatal(err)
		}
		if got := scanAll(t, dir); len(got) != 4 {
			t.Fatalf("a torn tail of zeros: %d entries, want 4", len(got))
		}
	})
}
