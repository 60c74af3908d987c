package sim

// Production statistics, like the game's production panel: per item, how many were
// produced and consumed in total and over the last minute. The last-minute figures come
// from a ring of per-second buckets. Research consumption is also counted on its own, for
// science per minute (SPM).

const statSeconds = 60

type counter struct {
	total  []int64
	cur    []int64 // this second
	ring   [][statSeconds]int64
	minute []int64 // sum of ring
}

func newCounter(n int) counter {
	return counter{total: make([]int64, n), cur: make([]int64, n),
		ring: make([][statSeconds]int64, n), minute: make([]int64, n)}
}

func (c *counter) add(item ItemID, n int64) {
	c.total[item] += n
	c.cur[item] += n
}

// roll closes the second that just ended.
func (c *counter) roll(sec uint64) {
	b := sec % statSeconds
	for i := range c.cur {
		c.minute[i] += c.cur[i] - c.ring[i][b]
		c.ring[i][b] = c.cur[i]
		c.cur[i] = 0
	}
}

type stats struct {
	produced, consumed, lab counter
	// Flows that are not production: items created or voided by infinity chests and
	// removed ports, lost when a belt rebuild found no room, and moved by bridges.
	created, voided, spilled, bridgedOut, bridgedIn []int64
	researched                                      int64
}

func (st *stats) init(items int) {
	n := items + 1
	st.produced, st.consumed, st.lab = newCounter(n), newCounter(n), newCounter(n)
	st.created, st.voided, st.spilled = make([]int64, n), make([]int64, n), make([]int64, n)
	st.bridgedOut, st.bridgedIn = make([]int64, n), make([]int64, n)
}

func (st *stats) produce(item ItemID, n int64)    { st.produced.add(item, n) }
func (st *stats) consume(item ItemID, n int64)    { st.consumed.add(item, n) }
func (st *stats) labConsume(item ItemID, n int64) { st.lab.add(item, n) }
func (st *stats) unconsume(item ItemID, n int64)  { st.consumed.add(item, -n) }
func (st *stats) create(item ItemID, n int64)     { st.created[item] += n }
func (st *stats) void(item ItemID, n int64)       { st.voided[item] += n }
func (st *stats) bridgeOut(item ItemID, n int64)  { st.bridgedOut[item] += n }
func (st *stats) bridgeIn(item ItemID, n int64)   { st.bridgedIn[item] += n }

func (st *stats) roll(sec uint64) {
	st.produced.roll(sec)
	st.consumed.roll(sec)
	st.lab.roll(sec)
}

// Production is a snapshot of a surface's statistics, by item name.
type Production struct {
	Tick uint64
	// Produced and Consumed are totals since the map was created.
	Produced map[string]int64
	Consumed map[string]int64
	// PerMinute figures cover the last full minute (scaled up when less time has passed).
	ProducedPerMinute map[string]float64
	ConsumedPerMinute map[string]float64
	// SPMByPack is science packs consumed by labs per minute, per pack; SPM is the
	// research rate: the smallest rate among the packs labs are using.
	SPMByPack map[string]float64
	SPM       float64
	// Flows that are not production.
	Created, Voided, Spilled, BridgedOut, BridgedIn map[string]int64
	Researched                                      int64
}

// Production returns the surface's production statistics.
func (s *Surface) Production() Production {
	st := &s.stats
	secs := s.tick / TicksPerSecond
	window := float64(min(secs, statSeconds))
	p := Production{Tick: s.tick, Produced: map[string]int64{}, Consumed: map[string]int64{},
		ProducedPerMinute: map[string]float64{}, ConsumedPerMinute: map[string]float64{},
		SPMByPack: map[string]float64{}, Created: map[string]int64{}, Voided: map[string]int64{},
		Spilled: map[string]int64{}, BridgedOut: map[string]int64{}, BridgedIn: map[string]int64{},
		Researched: st.researched}
	rate := func(v int64) float64 {
		if window == 0 {
			return 0
		}
		return float64(v) * statSeconds / window
	}
	for id := 1; id <= len(s.b.Items); id++ {
		name := s.b.Items[id-1].Name
		put := func(m map[string]int64, v int64) {
			if v != 0 {
				m[name] = v
			}
		}
		put(p.Produced, st.produced.total[id])
		put(p.Consumed, st.consumed.total[id])
		put(p.Created, st.created[id])
		put(p.Voided, st.voided[id])
		put(p.Spilled, st.spilled[id])
		put(p.BridgedOut, st.bridgedOut[id])
		put(p.BridgedIn, st.bridgedIn[id])
		if v := st.produced.minute[id]; v != 0 {
			p.ProducedPerMinute[name] = rate(v)
		}
		if v := st.consumed.minute[id]; v != 0 {
			p.ConsumedPerMinute[name] = rate(v)
		}
		if v := st.lab.minute[id]; v != 0 {
			p.SPMByPack[name] = rate(v)
		}
	}
	first := true
	for _, v := range p.SPMByPack {
		if first || v < p.SPM {
			p.SPM, first = v, false
		}
	}
	return p
}
