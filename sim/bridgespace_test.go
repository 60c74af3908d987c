package sim

import (
	"bytes"
	"strings"
	"testing"
)

// stepOK runs one tick with system inputs and returns each input's error ("" if none).
func stepSys(s *Surface, data ...[]byte) []string {
	in := make([]Input, len(data))
	for i, d := range data {
		in[i] = Input{Player: 0, Data: d}
	}
	s.Step(in)
	out := make([]string, len(data))
	for i, r := range s.LastResults() {
		if i < len(out) {
			out[i] = r.Err
		}
	}
	return out
}

func loopPair(t *testing.T) (a, b *Surface, out, in uint32) {
	t.Helper()
	var err error
	if a, err = NewMap(DefaultBundle(), "loop", 1, "a"); err != nil {
		t.Fatal(err)
	}
	if b, err = NewMap(DefaultBundle(), "loop", 1, "b"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = a.BridgePort("out")
	in, _, _ = b.BridgePort("in")
	return a, b, out, in
}

type outEntry struct {
	seq   uint64
	item  string
	count int32
}

func outboxOf(s *Surface, port uint32) []outEntry {
	var es []outEntry
	s.BridgeOutbox(port, 0, func(seq, _ uint64, item string, n int32) bool {
		es = append(es, outEntry{seq, item, n})
		return true
	})
	return es
}

// deliverAll hands a's outbox to b in space and returns the errors.
func deliverAll(b *Surface, in uint32, space, base uint64, es []outEntry) []string {
	if len(es) == 0 {
		return nil
	}
	var names []string
	var counts []int32
	for _, e := range es {
		names, counts = append(names, e.item), append(counts, e.count)
	}
	return stepSys(b, BridgeCodec{}.DeliverSpaceInput(in, space, base, es[0].seq, names, counts))
}

// TestSequenceSpaces checks the rules that bind an export port's numbers to the marks
// of the surface receiving them: a new space starts at the sender's acknowledged floor,
// never at another space's mark (on the old main, a re-created sender's first entries
// fell at or below the old mark and were dropped as duplicates); acks of another space
// or above the port's counter are refused.
func TestSequenceSpaces(t *testing.T) {
	a, b, out, in := loopPair(t)
	c := BridgeCodec{}
	// An unbound port takes no credit: acks name a space.
	if errs := stepSys(a, c.AckSpaceInput(out, 7, 0, 10)); errs[0] == "" {
		t.Fatal("an ack for an unbound port was accepted")
	}
	if errs := stepSys(a, c.BindInput(out, 7, "b:in"), c.AckSpaceInput(out, 7, 0, 10)); errs[0] != "" || errs[1] != "" {
		t.Fatalf("bind and ack: %v", errs)
	}
	a.Run(600)
	es := outboxOf(a, out)
	if len(es) == 0 || len(es) > 10 {
		t.Fatalf("outbox holds %d entries with credit 10", len(es))
	}
	if errs := deliverAll(b, in, 7, 0, es); errs[0] != "" {
		t.Fatalf("deliver: %v", errs)
	}
	last := es[len(es)-1].seq
	if hwm, known := b.BridgeImportMark(7); !known || hwm != last {
		t.Fatalf("mark of space 7 is %d (known %v), want %d", hwm, known, last)
	}
	// Acks of another space, or above anything the port numbered, are refused.
	if errs := stepSys(a, c.AckSpaceInput(out, 8, last, 10)); !strings.Contains(errs[0], "space") {
		t.Fatalf("an ack of another space: %q", errs[0])
	}
	if errs := stepSys(a, c.AckSpaceInput(out, 7, last+1000, 10)); !strings.Contains(errs[0], "only used") {
		t.Fatalf("an ack above the counter: %q", errs[0])
	}
	if got := len(outboxOf(a, out)); got == 0 {
		t.Fatal("a refused ack pruned the outbox")
	}

	// A re-created source (a new surface, same map): its space is new, its numbers
	// restart at 1, and every one of them is applied.
	a2, err := NewMap(DefaultBundle(), "loop", 1, "a")
	if err != nil {
		t.Fatal(err)
	}
	stepSys(a2, c.BindInput(out, 9, "b:in"), c.AckSpaceInput(out, 9, 0, 10))
	a2.Run(600)
	es2 := outboxOf(a2, out)
	if len(es2) == 0 || es2[0].seq != 1 {
		t.Fatalf("the new source's outbox: %v", es2)
	}
	before := b.ItemTotals()["iron-plate"]
	var sum int64
	for _, e := range es2 {
		sum += int64(e.count)
	}
	if errs := deliverAll(b, in, 9, 0, es2); errs[0] != "" {
		t.Fatalf("deliver the new space: %v", errs)
	}
	if got := b.ItemTotals()["iron-plate"] - before; got != sum {
		t.Fatalf("the re-created source sent %d plates, %d arrived", sum, got)
	}
	// The old space keeps its mark: its duplicates are still ignored.
	if errs := deliverAll(b, in, 7, 0, es); errs[0] != "" {
		t.Fatalf("duplicate of space 7: %v", errs)
	}
	if got := b.ItemTotals()["iron-plate"] - before; got != sum {
		t.Fatalf("a duplicate of the old space was applied: %d plates arrived, want %d", got, sum)
	}
	// A known space whose sender says more was acknowledged than this surface applied:
	// the gap is counted as lost, not skipped silently.
	if errs := stepSys(b, c.DeliverSpaceInput(in, 9, es2[len(es2)-1].seq+5, es2[len(es2)-1].seq+6, []string{"iron-plate"}, []int32{1})); errs[0] != "" {
		t.Fatalf("deliver past a gap: %v", errs)
	}
	if lost := b.BridgeImportLost(in); lost != 5 {
		t.Fatalf("lost %d, want 5", lost)
	}

	// Marks and spaces survive a save.
	lb := reload(t, b)
	if lb.Hash() != b.Hash() || lb.BridgeImportLost(in) != 5 {
		t.Fatalf("reloaded: hash %x vs %x, lost %d", lb.Hash(), b.Hash(), lb.BridgeImportLost(in))
	}
	if h1, _ := lb.BridgeImportMark(7); h1 != last {
		t.Fatalf("reloaded mark of space 7: %d, want %d", h1, last)
	}
}

// TestPortWithOutboxIsNotLost checks that an export port holding unacknowledged entries
// cannot be mined, relabelled or bound to another destination (on the old main, mining
// voided the outbox and a relabelled port's entries stayed behind with no sender), and
// that all three work once the outbox is empty.
func TestPortWithOutboxIsNotLost(t *testing.T) {
	a, _, out, _ := loopPair(t)
	c := BridgeCodec{}
	stepSys(a, c.BindInput(out, 7, "b:in"), c.AckSpaceInput(out, 7, 0, 5))
	a.Run(600)
	es := outboxOf(a, out)
	if len(es) == 0 {
		t.Fatal("nothing in the outbox")
	}
	info, _ := a.Entity(EntityID(out))
	x, y := info.X, info.Y
	if ent := a.EntityAt(x, y); ent != EntityID(out) {
		t.Fatalf("port at %d,%d is #%d, not #%d", x, y, ent, out)
	}
	mine := EncodeAction(Action{Kind: ActMine, X: x, Y: y})
	relabel := EncodeAction(Action{Kind: ActSetLabel, X: x, Y: y, Name: "elsewhere"})
	for what, in := range map[string][]byte{"mine": mine, "relabel": relabel, "rebind": c.BindInput(out, 8, "c:in")} {
		errs := stepSys(a, in)
		if errs[0] == "" || !strings.Contains(errs[0], "unacknowledged") && !strings.Contains(errs[0], "not acknowledged") {
			t.Fatalf("%s with %d outbox entries: %q", what, len(es), errs[0])
		}
	}
	if got := len(outboxOf(a, out)); got < len(es) {
		t.Fatalf("refused actions shrank the outbox from %d to %d", len(es), got)
	}
	if sp, dest := a.BridgePortSpace(out); sp != 7 || dest != "b:in" {
		t.Fatalf("binding changed to %x %s", sp, dest)
	}
	// Stop the flow (only copper may enter), acknowledge everything: now it may go.
	stepSys(a, c.FilterInput(out, []string{"copper-plate"}))
	for i := 0; i < 20; i++ {
		last, _, _ := a.BridgeExportState(out)
		stepSys(a, c.AckSpaceInput(out, 7, last, 5))
	}
	if got := outboxOf(a, out); len(got) != 0 {
		t.Fatalf("outbox not empty after acks: %v", got)
	}
	if errs := stepSys(a, c.BindInput(out, 8, "c:in")); errs[0] != "" {
		t.Fatalf("rebind with an empty outbox: %s", errs[0])
	}
	if sp, dest := a.BridgePortSpace(out); sp != 8 || dest != "c:in" {
		t.Fatalf("rebind gave %x %s", sp, dest)
	}
	if _, _, credit := a.BridgeExportState(out); credit != 0 {
		t.Fatalf("a new destination kept the old one's credit %d", credit)
	}
	if errs := stepSys(a, relabel, mine); errs[0] != "" || errs[1] != "" {
		t.Fatalf("relabel and mine with an empty outbox: %v", errs)
	}
	// The filter can be cleared.
	a2, _, out2, _ := loopPair(t)
	stepSys(a2, c.FilterInput(out2, []string{"copper-plate"}))
	stepSys(a2, c.FilterInput(out2, nil))
	if f := a2.BridgePortFilter(out2); len(f) != 0 {
		t.Fatalf("filter not cleared: %v", f)
	}
}

// TestLegacyMarkContinues checks the migration from saves before spaces: an import port
// that applied deliveries without a space hands its mark to the first space it meets.
func TestLegacyMarkContinues(t *testing.T) {
	_, b, _, in := loopPair(t)
	c := BridgeCodec{}
	stepSys(b, c.DeliverInput(in, 1, []string{"iron-plate", "iron-plate"}, []int32{10, 10}))
	if hwm, _ := b.BridgeImportState(in); hwm != 2 {
		t.Fatalf("legacy mark %d", hwm)
	}
	before := b.ItemTotals()["iron-plate"]
	// The upgraded sender resends 1..3 in its new space with floor 0.
	stepSys(b, c.DeliverSpaceInput(in, 5, 0, 1, []string{"iron-plate", "iron-plate", "iron-plate"}, []int32{10, 10, 10}))
	if got := b.ItemTotals()["iron-plate"] - before; got != 10 {
		t.Fatalf("%d plates applied, want 10 (entry 3 only)", got)
	}
	if hwm, known := b.BridgeImportMark(5); !known || hwm != 3 {
		t.Fatalf("mark %d known %v", hwm, known)
	}
}

// TestSaveVersion3MigratesPorts loads a format-3 save (before sequence spaces) whose
// export port has an outbox and whose import port a mark: the export port is unbound
// and keeps its entries (a sender binds it and carries them into its space), and the
// import port's mark is continued by the first space delivered to it.
func TestSaveVersion3MigratesPorts(t *testing.T) {
	a, b, out, in := loopPair(t)
	c := BridgeCodec{}
	stepSys(a, c.AckInput(out, 0, 5)) // format 3: credit without a space
	a.Run(300)
	stepSys(b, c.DeliverInput(in, 1, []string{"iron-plate", "iron-plate", "iron-plate"}, []int32{10, 10, 10}))
	var bufA, bufB bytes.Buffer
	if err := a.save(&bufA, 3); err != nil {
		t.Fatal(err)
	}
	if err := b.save(&bufB, 3); err != nil {
		t.Fatal(err)
	}
	la, err := Load(DefaultBundle(), &bufA)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := Load(DefaultBundle(), &bufB)
	if err != nil {
		t.Fatal(err)
	}
	es := outboxOf(la, out)
	if len(es) == 0 {
		t.Fatal("the migrated export port lost its outbox")
	}
	if sp, _ := la.BridgePortSpace(out); sp != 0 {
		t.Fatalf("a format-3 port is bound to space %x", sp)
	}
	if errs := stepSys(la, c.BindInput(out, 11, "b:in")); errs[0] != "" {
		t.Fatalf("binding a migrated port with an outbox: %s", errs[0])
	}
	if got := outboxOf(la, out); len(got) < len(es) {
		t.Fatalf("binding dropped entries: %d, had %d", len(got), len(es))
	}
	before := lb.ItemTotals()["iron-plate"]
	stepSys(lb, c.DeliverSpaceInput(in, 11, 0, 1, []string{"iron-plate", "iron-plate", "iron-plate", "iron-plate"}, []int32{10, 10, 10, 10}))
	if got := lb.ItemTotals()["iron-plate"] - before; got != 10 {
		t.Fatalf("%d plates applied after migration, want 10 (entry 4 only)", got)
	}
}
