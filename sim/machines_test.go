package sim

import "testing"

// A row of machines that backed up behind a full belt, each holding a full stack, is
// drained from upstream when the belt's end starts to take again: every gap the
// taker makes runs back to the tail of the queue, where the first machine's output
// inserter fills it from its stack, so that machine crafts at its full speed while it
// delivers faster, and the machines after it keep their stacks and make nothing. The
// row makes less than it delivers until the stacks upstream of the first machine the
// gaps no longer outrun have run down; then it makes what is taken, and the machines
// past that one keep their stacks for good (sim/megabase/DESIGN.md, "Why a row that
// backed up makes fewer packs than it delivers"). With sleeping off every tick hashes
// the same.
func TestBackedUpRowDrainsItsStacksFromUpstream(t *testing.T) {
	const machines = 3
	build := func(sleeping bool) (*Surface, [machines]EntityID) {
		s := newTestSurface(t)
		powered(t, s, -5, -4)
		powered(t, s, 13, -4)
		for x := int32(0); x < 16; x++ {
			mustBuild(t, s, BuildSpec{Name: "transport-belt", X: x, Y: 0, Dir: East})
		}
		// Gear machines (one craft a second) fed from chests, putting gears on the
		// belt with a fast inserter each: the first machine at the belt's tail.
		var row [machines]EntityID
		for k := range row {
			x := int32(4 * k)
			mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: x + 1, Y: -6, Infinity: &InfinitySettings{
				Filters: []InfinityFilter{{Item: "iron-plate", Count: 50, Mode: "exactly"}}}})
			mustBuild(t, s, BuildSpec{Name: "bulk-inserter", X: x + 1, Y: -5, Dir: North})
			row[k] = mustBuild(t, s, BuildSpec{Name: "assembling-machine-1", X: x, Y: -4, Recipe: "iron-gear-wheel"})
			mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: x + 1, Y: -1, Dir: North})
		}
		s.SetSleeping(sleeping)
		return s, row
	}
	a, row := build(true)
	b, _ := build(false)
	step := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			a.Step(nil)
			b.Step(nil)
			if a.Hash() != b.Hash() {
				t.Fatalf("tick %d: hash %016x with sleeping, %016x without", a.Tick(), a.Hash(), b.Hash())
			}
		}
	}
	stacks := func() (out [machines]int64) {
		for k, id := range row {
			out[k] = countIn(a, id, "iron-gear-wheel")
		}
		return out
	}
	gear, _ := a.b.ItemID("iron-gear-wheel")
	full := int64(a.b.Item(gear).StackSize)
	// Nothing takes from the belt: it backs up and every machine fills its stack.
	step(5 * 3600)
	if got := stacks(); got != [machines]int64{full, full, full} {
		t.Fatalf("the backed-up row holds %v gears, want a full stack (%d) in each machine", got, full)
	}
	// The belt's end now empties into a void with a fast inserter, 138 gears a
	// minute: faster than one machine crafts (60), slower than the row (180).
	for _, s := range []*Surface{a, b} {
		mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 15, Y: 1, Dir: North})
		mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 15, Y: 2, Infinity: &InfinitySettings{RemoveUnfiltered: true}})
	}
	window := func(minutes int) (made, taken int64) {
		t.Helper()
		p0 := a.Production()
		step(minutes * 3600)
		p1 := a.Production()
		return p1.Produced["iron-gear-wheel"] - p0.Produced["iron-gear-wheel"], p1.Voided["iron-gear-wheel"] - p0.Voided["iron-gear-wheel"]
	}
	made, taken := window(1)
	got := stacks()
	t.Logf("first minute: %d gears made, %d taken; stacks %v", made, taken, got)
	if got[0] >= full || got[1] != full || got[2] != full {
		t.Errorf("after a minute the machines hold %v gears; want the first below a full stack (%d), the others full", got, full)
	}
	if made*5 > taken*4 {
		t.Errorf("the row made %d gears and delivered %d in its first minute; want it to deliver from its stacks", made, taken)
	}
	// The first machine's stack has run down: it delivers what it makes (60 a
	// minute), the second the rest from its stack while making as much, and the row
	// makes what the two make.
	step(3600)
	made, taken = window(2)
	got = stacks()
	t.Logf("minutes 3 and 4: %d gears made, %d taken; stacks %v", made, taken, got)
	if got[0] != 0 || got[1] == 0 || got[1] >= full || got[2] != full {
		t.Errorf("at minute 4 the machines hold %v gears; want the first empty, the second running down, the last full", got)
	}
	if made < 236 || made > 242 || taken-made < 20 {
		t.Errorf("the row made %d gears and delivered %d at minutes 3 and 4; want the two first machines' 240, less than delivered", made, taken)
	}
	// The two first machines make less than is taken, the three more: once the
	// second's stack has run down, the last keeps its stack and the row makes what
	// is taken.
	step(7 * 3600)
	made, taken = window(2)
	got = stacks()
	t.Logf("minutes 12 and 13: %d gears made, %d taken; stacks %v", made, taken, got)
	if d := made - taken; d*d*400 > taken*taken {
		t.Errorf("the row made %d gears and delivered %d at minutes 12 and 13; want within 5 %%", made, taken)
	}
	if got[0] != 0 || got[1] != 0 || got[2] < full-1 {
		t.Errorf("at minute 13 the machines hold %v gears; want the two first empty and the last holding its stack", got)
	}
}
