package blueprint

import (
	"fmt"
	"slices"
	"testing"
)

// benchCopies sets of the four real blueprints make the benchmark book:
// 28 × 288 entities = 8,064 entities.
const benchCopies = 28

// benchBook builds the benchmark input honestly from the real strings in
// testdata/blueprints: a Factorio 2.0 book whose slots hold the four real
// blueprints again and again (two 1.x, two 2.0, so both read paths run),
// each copy moved by its own whole-tile offset so no two entries are the
// same JSON, encoded by Encode (zlib level 9, as the game).
func benchBook(tb testing.TB, copies int) string {
	tb.Helper()
	real := realStrings(tb)
	names := make([]string, 0, len(real))
	for n := range real {
		names = append(names, n)
	}
	slices.Sort(names)
	book := &Book{Label: "benchmark: real blueprints repeated", Version: MakeVersion(2, 0, 72, 0)}
	for k := range copies {
		for _, n := range names {
			bp := mustDecode(tb, real[n]).Blueprint
			off := TilePosition(int32(k*70-980), int32(k*37-500))
			for i := range bp.Entities {
				bp.Entities[i].Position = bp.Entities[i].Position.Add(off)
			}
			bp.Label = fmt.Sprintf("%s #%d", n, k)
			book.Entries = append(book.Entries, BookEntry{Slot: len(book.Entries), Item: Object{Kind: KindBlueprint, Blueprint: bp}})
		}
	}
	s, err := Encode(&Object{Kind: KindBook, Book: book})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestBenchmarkBookShape keeps the benchmark input what the target names: a
// book of about 75 KB holding about 8,000 entities.
func TestBenchmarkBookShape(t *testing.T) {
	s := benchBook(t, benchCopies)
	sum := Inspect(mustDecode(t, s), nil)
	t.Logf("benchmark book: %d bytes, %d blueprints, %d entities, %d wires", len(s), sum.Blueprints, sum.Entities, sum.Wires)
	if sum.Entities < 7500 || sum.Entities > 8500 {
		t.Errorf("%d entities, want about 8,000", sum.Entities)
	}
	if len(s) < 60_000 || len(s) > 90_000 {
		t.Errorf("string is %d bytes, want about 75 KB", len(s))
	}
}

// BenchmarkDecodeInspectBook measures the target: decoding plus
// inspecting a ~75 KB book with ~8,000 entities (≤ 50 ms on the 2-core
// machine). See docs/benchmarks.md.
func BenchmarkDecodeInspectBook(b *testing.B) {
	s := benchBook(b, benchCopies)
	supported := func(name string) bool { return name != "pipe" }
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		o, err := Decode(s)
		if err != nil {
			b.Fatal(err)
		}
		if sum := Inspect(o, supported); sum.Entities == 0 {
			b.Fatal("no entities")
		}
	}
}

// BenchmarkEncodeBook measures writing the same book back out.
func BenchmarkEncodeBook(b *testing.B) {
	o := mustDecode(b, benchBook(b, benchCopies))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(o); err != nil {
			b.Fatal(err)
		}
	}
}
