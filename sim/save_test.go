package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func starterSave(t *testing.T, version uint32) (*Surface, []byte) {
	t.Helper()
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(60 * 90)
	var buf bytes.Buffer
	if err := s.save(&buf, version); err != nil {
		t.Fatal(err)
	}
	return s, buf.Bytes()
}

func TestSaveRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, good := starterSave(t, SaveVersion)
	newer := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(newer[8:], SaveVersion+1)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	other := append([]byte(nil), good...)
	other[30] ^= 1 // bundle hash
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a Starlane save"},
		{"not a save", []byte("hello, this is not a save file at all, not even close........"), "bad magic"},
		{"truncated header", good[:20], "not a Starlane save"},
		{"truncated body", good[:len(good)-10], "truncated save"},
		{"corrupt body", flipped, "checksum mismatch"},
		{"newer version", newer, fmt.Sprintf("format version %d, this build reads versions 1 to %d", SaveVersion+1, SaveVersion)},
		{"other bundle", other, "prototype bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(DefaultBundle(), bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	_, err := Load(DefaultBundle(), bytes.NewReader(newer))
	if !errors.Is(err, ErrNewerSave) {
		t.Errorf("a newer save's error does not match ErrNewerSave: %v", err)
	}
}

// TestSaveMigratesVersion1 loads a version 1 save (production statistics without their
// last-minute rings) and checks everything else comes back and the rings start empty.
func TestSaveMigratesVersion1(t *testing.T) {
	t.Parallel()
	s, old := starterSave(t, 1)
	info, err := ReadSaveInfo(bytes.NewReader(old))
	if err != nil || info.Version != 1 || info.Tick != s.Tick() {
		t.Fatalf("save info %+v, %v", info, err)
	}
	loaded, err := Load(DefaultBundle(), bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Hash() != s.Hash() {
		t.Fatalf("hash %016x after migration, %016x before", loaded.Hash(), s.Hash())
	}
	a, b := s.Production(), loaded.Production()
	if a.Produced["iron-plate"] != b.Produced["iron-plate"] || b.Produced["iron-plate"] == 0 {
		t.Errorf("totals not kept: %d vs %d", a.Produced["iron-plate"], b.Produced["iron-plate"])
	}
	if len(b.ProducedPerMinute) != 0 {
		t.Errorf("version 1 has no per-minute figures, the migration invented %v", b.ProducedPerMinute)
	}
	// After another minute the figures are back.
	loaded.Run(60 * 61)
	if loaded.Production().ProducedPerMinute["iron-plate"] == 0 {
		t.Errorf("per-minute figures did not resume after migration")
	}
}

func TestLoadNeverPanicsOnCorruptBodies(t *testing.T) {
	t.Parallel()
	s, _ := starterSave(t, SaveVersion)
	body := s.encodeState(SaveVersion)
	r := newRNG(3)
	for i := 0; i < 500; i++ {
		mut := append([]byte(nil), body...)
		for k := 0; k < 1+int(r.intn(4)); k++ {
			mut[r.intn(uint64(len(mut)))] = byte(r.next())
		}
		if r.intn(3) == 0 {
			mut = mut[:r.intn(uint64(len(mut)))]
		}
		// Either an error or a consistent surface that can run; never a panic.
		got, err := decodeState(DefaultBundle(), mut, SaveVersion, nil)
		if err == nil {
			got.Run(10)
		}
	}
}

// TestLoadsSavesOfEarlierBuilds loads saves builds before modules and fluids
// wrote (`starlane sim run --map starter --ticks 3600 --save`, at formats 3 and
// 4): each loads, keeps making red science and saves again in this format.
func TestLoadsSavesOfEarlierBuilds(t *testing.T) {
	for _, v := range []uint32{3, 4} {
		t.Run(fmt.Sprintf("format %d", v), func(t *testing.T) { loadEarlierSave(t, v) })
	}
}

func loadEarlierSave(t *testing.T, version uint32) {
	raw, err := os.ReadFile(fmt.Sprintf("testdata/saves/starter-v%d.sav", version))
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadSaveInfo(bytes.NewReader(raw))
	if err != nil || info.Version != version || info.Tick != 3600 {
		t.Fatalf("save info %+v (%v), want format %d at tick 3600", info, err, version)
	}
	// The save's bundle (before modules, fluids and the rocket) is an earlier vanilla
	// one: its indexes map to this bundle's by name.
	if info.BundleHash == DefaultBundle().Hash() {
		t.Fatal("the old save has this build's bundle; the test proves nothing")
	}
	s, err := Load(DefaultBundle(), bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	red, _ := s.b.ItemID("automation-science-pack")
	gears, _ := s.b.ItemID("iron-gear-wheel")
	made := s.stats.produced.total[red]
	if made == 0 || s.stats.produced.total[gears] == 0 {
		t.Fatalf("statistics lost in the migration: %d red science, %d gears", made, s.stats.produced.total[gears])
	}
	counts := map[string]int{}
	s.Entities(func(e EntityInfo) bool { counts[e.Name]++; return true })
	for _, n := range []string{"transport-belt", "electric-mining-drill", "electric-furnace", "assembling-machine-1", "lab", "solar-panel"} {
		if counts[n] == 0 {
			t.Errorf("no %s after the migration: %v", n, counts)
		}
	}
	s.Run(3600)
	if s.stats.produced.total[red] <= made {
		t.Errorf("the migrated base made no red science in a minute (%d, before %d)", s.stats.produced.total[red], made)
	}
	// It saves as this format, with this bundle, and loads back the same.
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := Load(DefaultBundle(), bytes.NewReader(buf.Bytes()))
	if err != nil || l.FullHash() != s.FullHash() {
		t.Fatalf("resave: %v", err)
	}
	if ni, _ := ReadSaveInfo(bytes.NewReader(buf.Bytes())); ni.Version != SaveVersion || ni.BundleHash != DefaultBundle().Hash() {
		t.Errorf("resaved as %+v", ni)
	}
	// An unknown bundle is still refused by name.
	bad := append([]byte(nil), raw...)
	bad[30] ^= 0xff
	if _, err := Load(DefaultBundle(), bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "load it with the same bundle") {
		t.Errorf("unknown bundle: %v", err)
	}
}

// reload saves s and loads the save back.
func reload(t *testing.T, s *Surface) *Surface {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := Load(DefaultBundle(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
