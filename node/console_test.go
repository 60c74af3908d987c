package node

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Console saves do not pile up: each surface keeps its newest consoleSavesKept
// by tick, and another surface's saves (even one whose name starts the same)
// and other files are left alone.
func TestConsoleSavesArePruned(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for tick := 1; tick <= 15; tick++ {
		touch(fmt.Sprintf("a-t%d.save", tick*100))
	}
	for _, other := range []string{"a-t5-t3.save", "b-t1.save", "a-tx.save", "notes.txt"} {
		touch(other)
	}
	if got := pruneConsoleSaves(dir, "a", 10); got != 5 {
		t.Fatalf("removed %d saves, want 5", got)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	for tick := 1; tick <= 15; tick++ {
		name := fmt.Sprintf("a-t%d.save", tick*100)
		if kept := slices.Contains(left, name); kept != (tick > 5) {
			t.Errorf("%s kept %v, want the newest 10 kept", name, kept)
		}
	}
	for _, other := range []string{"a-t5-t3.save", "b-t1.save", "a-tx.save", "notes.txt"} {
		if !slices.Contains(left, other) {
			t.Errorf("%s was removed", other)
		}
	}
	if got := pruneConsoleSaves(dir, "a", 10); got != 0 {
		t.Fatalf("a second prune removed %d", got)
	}
}

// A player may say chatBurst lines at once and then chatPerSecond a second.
func TestChatBucket(t *testing.T) {
	start := time.Unix(1000, 0)
	b := chatBucket{tokens: chatBurst, at: start}
	sent := 0
	for range 50 {
		if b.take(start) {
			sent++
		}
	}
	if sent != chatBurst {
		t.Fatalf("a burst sent %d lines, want %d", sent, chatBurst)
	}
	sent = 0
	for i := range 100 { // ten seconds, a line every 100 ms
		if b.take(start.Add(time.Duration(i+1) * 100 * time.Millisecond)) {
			sent++
		}
	}
	if sent < 10*chatPerSecond-1 || sent > 10*chatPerSecond+1 {
		t.Fatalf("ten seconds at ten lines a second sent %d, want about %d", sent, 10*chatPerSecond)
	}
}
