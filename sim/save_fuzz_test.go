package sim

import (
	"bytes"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the save and checkpoint decoder (a
// checkpoint is a save): it must refuse what it cannot read with an error,
// never panic, and never hold more state than its limit.
func FuzzLoad(f *testing.F) {
	b := DefaultBundle()
	for _, m := range []string{"empty", "starter", "outpost"} {
		s, err := NewMap(b, m, 3, "fuzz")
		if err != nil {
			f.Fatal(err)
		}
		s.Run(30)
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:len(buf.Bytes())/2])
	}
	f.Add(bombSave(f, 4<<20, false, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadLimited(b, bytes.NewReader(data), 2<<20)
		if err != nil {
			return
		}
		// What loads must save and load again to the same state.
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatalf("a loaded save does not save: %v", err)
		}
		back, err := LoadLimited(b, bytes.NewReader(buf.Bytes()), 2<<20)
		if err != nil {
			t.Fatalf("a re-saved save does not load: %v", err)
		}
		if back.Hash() != s.Hash() {
			t.Fatal("a re-saved save loads to another state")
		}
	})
}
