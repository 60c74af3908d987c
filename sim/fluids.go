package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/starlane/starlane/sim/fluid"
)

// Fluids, in the 2.0 segment model (package fluid): every fluid box of every
// entity is a node; touching connections join nodes into segments, and a
// segment is one pool. The topology (nodes, segments, which segment each
// machine box uses) is derived and rebuilt when a fluid entity is built or
// removed; the contents of the segments are state. A tick costs O(fluid
// machines + pumps), whatever the length of the pipes.

// maxFluidBoxes is the most fluid boxes one prototype has (the oil refinery).
const maxFluidBoxes = 5

// Fluid box flow directions.
const (
	flowBoth int8 = iota
	flowIn
	flowOut
)

// FluidConn is one pipe connection of a box: the position (tiles from the
// entity centre in fixed point, facing north) and the side it faces.
type FluidConn struct {
	Pos Vec `json:"pos"`
	Dir Dir `json:"dir"`
}

// FluidBoxProto is one fluid box of a prototype.
type FluidBoxProto struct {
	Volume fluid.Amount `json:"volume"`
	Flow   int8         `json:"flow,omitempty"`
	Filter string       `json:"filter,omitempty"`
	Conns  []FluidConn  `json:"conns,omitempty"`
	// ByDir holds connections given per entity direction (N, E, S, W) instead
	// of rotated with the entity (the pumpjack).
	ByDir [][]FluidConn `json:"by_dir,omitempty"`
	// Underground is the direction of a pipe-to-ground's underground
	// connection (facing north) and UgMax its reach in tiles.
	Underground Dir   `json:"underground,omitempty"`
	UgMax       int32 `json:"ug_max,omitempty"`
}

// FluidAmount is a fluid ingredient or result of a recipe: Box is the index
// among the machine's input (or output) boxes it uses.
type FluidAmount struct {
	Name   string       `json:"name"`
	Amount fluid.Amount `json:"amount"`
	Box    int8         `json:"box"`
	id     ItemID
}

type fluidsFile struct {
	Fluids struct {
		Names []string `json:"names"`
	} `json:"fluids"`
	Items     map[string]json.RawMessage `json:"items"`
	Resources map[string]json.RawMessage `json:"resources"`
	Entities  map[string]json.RawMessage `json:"entities"`
	Recipes   map[string]json.RawMessage `json:"recipes"`
}

type fluidBoxJSON struct {
	Volume      float64           `json:"volume"`
	Flow        string            `json:"flow"`
	Filter      string            `json:"filter"`
	Conn        [][3]any          `json:"conn"`
	ConnByDir   map[string][3]any `json:"conn_by_direction"`
	Underground *struct {
		Dir string `json:"dir"`
		Max int32  `json:"max_distance"`
	} `json:"underground"`
}

func parseDir(s string) (Dir, error) {
	switch s {
	case "N":
		return North, nil
	case "E":
		return East, nil
	case "S":
		return South, nil
	case "W":
		return West, nil
	}
	return 0, fmt.Errorf("direction %q is not N, E, S or W", s)
}

func parseConn(c [3]any) (FluidConn, error) {
	x, ok1 := c[0].(float64)
	y, ok2 := c[1].(float64)
	d, ok3 := c[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return FluidConn{}, fmt.Errorf("connection %v is not [x, y, dir]", c)
	}
	dir, err := parseDir(d)
	return FluidConn{Pos: Vec{fixed(x), fixed(y)}, Dir: dir}, err
}

func fluidUnits(v float64) fluid.Amount { return fluid.Amount(math.Round(v * float64(fluid.Unit))) }

// addFluids adds fluids (as items marked Fluid), fluid entities, fluid boxes
// of existing machines, crude oil and the oil and chemistry recipes.
func addFluids(b *Bundle, raw []byte, f *factsFile) error {
	var x fluidsFile
	if err := json.Unmarshal(raw, &x); err != nil {
		return err
	}
	for _, n := range x.Fluids.Names {
		b.Items = append(b.Items, ItemProto{Name: n, StackSize: 1, Fluid: true})
	}
	for name, r := range x.Items {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var n int32
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("items.%s: %w", name, err)
		}
		b.Items = append(b.Items, ItemProto{Name: name, StackSize: n})
	}
	for name, r := range x.Resources {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var res struct {
			Normal  int64   `json:"normal"`
			Minimum int64   `json:"minimum"`
			Time    float64 `json:"mining_time"`
			Result  float64 `json:"result"`
		}
		if err := json.Unmarshal(r, &res); err != nil {
			return fmt.Errorf("resources.%s: %w", name, err)
		}
		found := false
		for i := range b.Items {
			if it := &b.Items[i]; it.Name == name && it.Fluid {
				it.MiningWork = secondsToWork(res.Time)
				it.Normal, it.Yield = res.Normal, fluidUnits(res.Result)
				found = true
			}
		}
		if !found {
			return fmt.Errorf("resources.%s: not a fluid", name)
		}
	}
	boxes := func(name string, list []fluidBoxJSON) ([]FluidBoxProto, error) {
		var out []FluidBoxProto
		for _, bj := range list {
			bp := FluidBoxProto{Volume: fluidUnits(bj.Volume), Filter: bj.Filter}
			switch bj.Flow {
			case "", "input-output":
			case "input":
				bp.Flow = flowIn
			case "output":
				bp.Flow = flowOut
			default:
				return nil, fmt.Errorf("%s: flow %q", name, bj.Flow)
			}
			for _, c := range bj.Conn {
				fc, err := parseConn(c)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				bp.Conns = append(bp.Conns, fc)
			}
			if bj.ConnByDir != nil {
				for _, d := range []string{"N", "E", "S", "W"} {
					fc, err := parseConn(bj.ConnByDir[d])
					if err != nil {
						return nil, fmt.Errorf("%s: %w", name, err)
					}
					bp.ByDir = append(bp.ByDir, []FluidConn{fc})
				}
			}
			if u := bj.Underground; u != nil {
				d, err := parseDir(u.Dir)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				bp.Underground, bp.UgMax = d+1, u.Max // +1: 0 means none
			}
			out = append(out, bp)
		}
		if len(out) > maxFluidBoxes {
			return nil, fmt.Errorf("%s: %d fluid boxes, at most %d", name, len(out), maxFluidBoxes)
		}
		return out, nil
	}
	for name, r := range x.Entities {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var ej struct {
			Kind        string         `json:"kind"`
			Tiles       [2]int32       `json:"tiles"`
			Energy      string         `json:"energy_usage"`
			Consumption string         `json:"energy_consumption"`
			Drain       string         `json:"drain"`
			PumpSpeed   float64        `json:"pumping_speed"`
			Fluid       string         `json:"fluid"`
			PerTick     float64        `json:"fluid_usage_per_tick"`
			MaxTemp     float64        `json:"maximum_temperature"`
			TargetTemp  float64        `json:"target_temperature"`
			Speed       float64        `json:"crafting_speed"`
			MiningSpeed float64        `json:"mining_speed"`
			Categories  []string       `json:"categories"`
			OnlyFluid   bool           `json:"only_with_fluid_recipe"`
			Boxes       []fluidBoxJSON `json:"boxes"`
		}
		if err := json.Unmarshal(r, &ej); err != nil {
			return fmt.Errorf("entities.%s: %w", name, err)
		}
		bx, err := boxes(name, ej.Boxes)
		if err != nil {
			return err
		}
		e := EntityProto{Name: name, W: ej.Tiles[0], H: ej.Tiles[1], Boxes: bx}
		if e.W == 0 {
			var sz factsSize
			if err := json.Unmarshal(f.Sizes[name], &sz); err != nil {
				return fmt.Errorf("entities.%s: no tiles and no facts size: %v", name, err)
			}
			e.W, e.H = sz.Tiles[0], sz.Tiles[1]
			if sz.TileW != 0 {
				e.W, e.H = sz.TileW, sz.TileH
			}
		}
		if ej.Energy != "" {
			if e.EnergyUsage, err = parseEnergy(ej.Energy, "W"); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if ej.Drain != "" {
			if e.Drain, err = parseEnergy(ej.Drain, "W"); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		switch ej.Kind {
		case "fluid-boxes":
			// Fluid boxes for an existing machine (assembling machines 2 and 3).
			found := false
			for i := range b.Entities {
				if b.Entities[i].Name == name {
					b.Entities[i].Boxes, b.Entities[i].BoxesNeedFluidRecipe = bx, ej.OnlyFluid
					found = true
				}
			}
			if !found {
				return fmt.Errorf("entities.%s: no such machine", name)
			}
			continue
		case "pipe":
			e.Kind = KindPipe
		case "pump":
			e.Kind = KindPump
			e.PumpRate = fluidUnits(ej.PumpSpeed)
		case "offshore-pump":
			e.Kind = KindOffshorePump
			e.PumpRate, e.FluidMade = fluidUnits(ej.PumpSpeed), ej.Fluid
		case "boiler":
			e.Kind, e.Burner = KindBoiler, true
			if e.EnergyUsage, err = parseEnergy(ej.Consumption, "W"); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case "steam-engine":
			e.Kind = KindSteamEngine
			// Steam made by boilers (165 C) over the steam default of 15 C, at
			// the 0.2 kJ/C heat capacity of fluid.lua: 30 kJ per unit.
			e.PumpRate = fluidUnits(ej.PerTick)
			perUnitJ := (ej.MaxTemp - 15) * 200
			e.Production = int64(math.Round(ej.PerTick * perUnitJ * EnergyPerJoule)) // W = units per tick
		case "pumpjack":
			e.Kind, e.Speed = KindPumpjack, speed100(ej.MiningSpeed)
			e.Drain = e.EnergyUsage / 30
		case "crafter":
			e.Kind, e.Speed, e.Categories = KindAssembler, speed100(ej.Speed), ej.Categories
			e.Drain = e.EnergyUsage / 30
		default:
			return fmt.Errorf("entities.%s: kind %q", name, ej.Kind)
		}
		b.Entities = append(b.Entities, e)
		delete(b.Unsupported, name)
	}
	return addRecipes(b, x.Recipes)
}

// addRecipes adds (or replaces) recipes written as {"category", "time", "in":
// [[type, name, amount, fluidbox_index?]...], "out": [...]}.
func addRecipes(b *Bundle, recipes map[string]json.RawMessage) error {
	for name, r := range recipes {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var rj struct {
			Category string  `json:"category"`
			Time     float64 `json:"time"`
			In       [][]any `json:"in"`
			Out      [][]any `json:"out"`
		}
		if err := json.Unmarshal(r, &rj); err != nil {
			return fmt.Errorf("recipes.%s: %w", name, err)
		}
		rp := RecipeProto{Name: name, Category: rj.Category, Work: secondsToWork(rj.Time)}
		conv := func(list [][]any, in bool) error {
			nf := int8(0)
			for _, e := range list {
				if len(e) < 3 {
					return fmt.Errorf("recipes.%s: entry %v", name, e)
				}
				typ, _ := e[0].(string)
				n, _ := e[1].(string)
				amt, _ := e[2].(float64)
				if typ == "item" {
					ia := ItemAmount{Name: n, Amount: int32(amt)}
					if in {
						rp.Ingredients = append(rp.Ingredients, ia)
					} else {
						rp.Results = append(rp.Results, ia)
					}
					continue
				}
				fa := FluidAmount{Name: n, Amount: fluidUnits(amt), Box: nf}
				if len(e) > 3 {
					idx, _ := e[3].(float64)
					fa.Box = int8(idx) - 1
				}
				nf++
				if in {
					rp.FluidIn = append(rp.FluidIn, fa)
				} else {
					rp.FluidOut = append(rp.FluidOut, fa)
				}
			}
			return nil
		}
		if err := conv(rj.In, true); err != nil {
			return err
		}
		if err := conv(rj.Out, false); err != nil {
			return err
		}
		replaced := false
		for i := range b.Recipes {
			if b.Recipes[i].Name == name {
				b.Recipes[i] = rp
				replaced = true
			}
		}
		if !replaced {
			b.Recipes = append(b.Recipes, rp)
		}
	}
	return nil
}

// boxesOf returns a prototype's fluid boxes for an entity in its state: an
// assembling machine has them only while its recipe uses fluids.
func (s *Surface) boxesOf(id EntityID) []FluidBoxProto {
	e := &s.ents[id]
	p := &s.b.Entities[e.proto]
	if len(p.Boxes) == 0 {
		return nil
	}
	if p.BoxesNeedFluidRecipe {
		r := s.crafters[e.slot].recipe
		if r < 0 || (len(s.b.Recipes[r].FluidIn) == 0 && len(s.b.Recipes[r].FluidOut) == 0) {
			return nil
		}
	}
	return p.Boxes
}

// fluidEnt is the state of a pipe, tank, pump, offshore pump, boiler or pumpjack.
type fluidEnt struct {
	ent   EntityID
	proto int32
	kind  Kind
	net   int32
	fuel  burnerState  // boilers
	work  int64        // pumpjacks, in 1/effOne work units
	held  fluid.Amount // pumpjacks: crude oil mined and not yet put out
	speed int32
	usage int64
	mods  modSlots
	prod  int32
	bonus int32
	seg   [2]int32     // derived: segment of box 0 and 1 (-1 none)
	yield fluid.Amount // derived: pumpjack output per cycle
	res   ItemID       // derived: pumpjack resource
}

func (s *Surface) addFluidEnt(id EntityID, pi int) int32 {
	p := &s.b.Entities[pi]
	fe := fluidEnt{ent: id, proto: int32(pi), kind: p.Kind, net: -1, speed: p.Speed * effOne, usage: p.EnergyUsage, seg: [2]int32{-1, -1}}
	i := s.allocSlot(KindPipe, len(s.fents))
	if int(i) == len(s.fents) {
		s.fents = append(s.fents, fe)
	} else {
		s.fents[i] = fe
	}
	s.active[KindPipe].set(i)
	return i
}

func (s *Surface) removeFluidEnt(i int32) []Stack {
	fe := &s.fents[i]
	items := addStack(nil, fe.fuel.fuel, fe.fuel.n)
	items = addModStacks(items, &fe.mods)
	s.fents[i] = fluidEnt{net: -1, seg: [2]int32{-1, -1}}
	return items
}

// fluidNode is one box of one entity (derived).
type fluidNode struct {
	ent EntityID
	box int8
}

// fconnPt is a pipe connection on a tile, facing dir (derived).
type fconnPt struct {
	node int32
	dir  Dir
}

// connTile returns the tile a connection sits on and the side it faces.
func (s *Surface) connTile(e *entity, c FluidConn) (TilePos, Dir) {
	v := c.Pos.rotate(e.dir)
	ctr := e.centre()
	return TilePos{tileOfPos(ctr.X + v.X), tileOfPos(ctr.Y + v.Y)}, (c.Dir + e.dir) & 15
}

// conns lists a box's connections for an entity.
func boxConns(bp *FluidBoxProto, d Dir) []FluidConn {
	if len(bp.ByDir) == 4 {
		// Given per direction, already placed: turn them back so connTile's rotation
		// puts them where the data says.
		c := bp.ByDir[d/4][0]
		back := (16 - d) & 15
		return []FluidConn{{Pos: c.Pos.rotate(back), Dir: (c.Dir + back) & 15}}
	}
	return bp.Conns
}

// rebuildFluids recomputes nodes and segments, carrying the fluid over: the
// old segments' contents are split into their nodes, and the new segments
// gather their nodes' shares. Fluid in the boxes of removed entities is lost,
// as in the game.
func (s *Surface) rebuildFluids() {
	shares := map[fluidNode]fluid.Share{}
	if s.fluidPending != nil {
		for k, v := range s.fluidPending {
			shares[k] = v
		}
		s.fluidPending = nil
	} else {
		vols := make([]fluid.Amount, len(s.fnodes))
		for i, n := range s.fnodes {
			vols[i] = s.fnodeVol[i]
			_ = n
		}
		for i, sh := range fluid.Split(s.fnodeSeg, vols, s.fsegs) {
			if sh.Amount > 0 {
				shares[s.fnodes[i]] = sh
			}
		}
	}
	s.fnodes, s.fnodeVol = s.fnodes[:0], s.fnodeVol[:0]
	for i := 1; i < len(s.ents); i++ {
		if !s.ents[i].alive() {
			continue
		}
		for k, bp := range s.boxesOf(EntityID(i)) {
			s.fnodes = append(s.fnodes, fluidNode{EntityID(i), int8(k)})
			s.fnodeVol = append(s.fnodeVol, bp.Volume)
		}
	}
	g := fluid.NewGraph(s.fnodeVol)
	pts := map[TilePos][]fconnPt{}
	for ni, n := range s.fnodes {
		e := &s.ents[n.ent]
		bp := &s.boxesOf(n.ent)[n.box]
		for _, c := range boxConns(bp, e.dir) {
			t, d := s.connTile(e, c)
			pts[t] = append(pts[t], fconnPt{int32(ni), d})
		}
	}
	for t, list := range pts {
		for _, a := range list {
			dx, dy := a.dir.vec()
			for _, b := range pts[TilePos{t.X + dx, t.Y + dy}] {
				if b.dir == a.dir.opposite() {
					g.Connect(a.node, b.node)
				}
			}
		}
	}
	// Pipe-to-ground pairs: the first one facing back within reach.
	for ni, n := range s.fnodes {
		e := &s.ents[n.ent]
		bp := &s.boxesOf(n.ent)[n.box]
		if bp.Underground == 0 {
			continue
		}
		d := (bp.Underground - 1 + e.dir) & 15
		dx, dy := d.vec()
		for k := int32(1); k <= bp.UgMax; k++ {
			oid := s.EntityAt(e.x+dx*k, e.y+dy*k)
			if oid == 0 || s.ents[oid].proto != e.proto {
				continue
			}
			o := &s.ents[oid]
			od := (bp.Underground - 1 + o.dir) & 15
			if od == d.opposite() {
				g.Connect(int32(ni), s.nodeOf(oid, 0))
				break
			}
			if od == d {
				break
			}
		}
	}
	s.fnodeSeg, s.fsegs = g.Segments()
	sh := make([]fluid.Share, len(s.fnodes))
	for i, n := range s.fnodes {
		sh[i] = shares[n]
	}
	for f, a := range fluid.Gather(s.fnodeSeg, sh, s.fsegs) {
		s.fluidStat(ItemID(f), -a, true)
	}
	s.fconns = pts
	// Hand each machine the segments of its boxes.
	for i := range s.crafters {
		c := &s.crafters[i]
		if c.x != nil {
			c.x.fseg = [maxFluidBoxes]int32{-1, -1, -1, -1, -1}
		}
	}
	for i := range s.fents {
		s.fents[i].seg = [2]int32{-1, -1}
	}
	for i := range s.gens {
		s.gens[i].seg = -1
	}
	for ni, n := range s.fnodes {
		e := &s.ents[n.ent]
		seg := s.fnodeSeg[ni]
		switch slotFamily(e.kind) {
		case KindAssembler:
			if x := s.crafters[e.slot].x; x != nil {
				x.fseg[n.box] = seg
			}
		case KindPipe:
			if n.box < 2 {
				s.fents[e.slot].seg[n.box] = seg
			}
		case KindSolar:
			s.gens[e.slot].seg = seg
		}
	}
	for i := range s.fents {
		s.pumpjackYield(&s.fents[i])
	}
	s.powerDirty = true // steam engines' segments changed
	for i := range s.crafters {
		if s.crafters[i].ent != 0 {
			s.active[KindAssembler].set(int32(i))
		}
	}
}

// nodeOf returns the node of an entity's box (derived lists are in entity order).
func (s *Surface) nodeOf(id EntityID, box int8) int32 {
	i := sort.Search(len(s.fnodes), func(i int) bool {
		n := s.fnodes[i]
		return n.ent > id || (n.ent == id && n.box >= box)
	})
	return int32(i)
}

// fluidStat records fluid production (or, negative, consumption; void when
// lost) in whole units, carrying thousandths per fluid so totals stay exact.
func (s *Surface) fluidStat(id ItemID, a fluid.Amount, void bool) {
	if id == 0 || a == 0 {
		return
	}
	// Three carries per fluid: produced, consumed, lost.
	k := 3 * int(id)
	switch {
	case a < 0 && void:
		k += 2
		a = -a
	case a < 0:
		k++
		a = -a
	}
	if k >= len(s.fluidRem) {
		s.fluidRem = append(s.fluidRem, make([]fluid.Amount, k+1-len(s.fluidRem))...)
	}
	s.fluidRem[k] += a
	whole := int64(s.fluidRem[k] / fluid.Unit)
	if whole == 0 {
		return
	}
	s.fluidRem[k] -= fluid.Amount(whole) * fluid.Unit
	switch k % 3 {
	case 0:
		s.stats.produce(id, whole)
	case 1:
		s.stats.consume(id, whole)
	default:
		s.stats.void(id, whole)
	}
}

// checkFluidMix refuses a build whose connections would join segments
// holding different fluids (the game refuses such a build too).
func (s *Surface) checkFluidMix(p *EntityProto, sp *BuildSpec) error {
	if len(p.Boxes) == 0 || s.fconns == nil {
		return nil
	}
	w, h := footprint(p, sp.Dir)
	e := entity{proto: -1, dir: sp.Dir, x: sp.X, y: sp.Y, w: w, h: h}
	for _, bp := range p.Boxes {
		var seen fluid.ID
		if bp.Filter != "" {
			id, _ := s.b.ItemID(bp.Filter)
			seen = fluid.ID(id)
		}
		for _, c := range boxConns(&bp, sp.Dir) {
			t, d := s.connTile(&e, c)
			dx, dy := d.vec()
			for _, o := range s.fconns[TilePos{t.X + dx, t.Y + dy}] {
				if o.dir != d.opposite() || int(o.node) >= len(s.fnodeSeg) {
					continue
				}
				seg := &s.fsegs[s.fnodeSeg[o.node]]
				if seg.Amount == 0 || seg.Fluid == 0 {
					continue
				}
				if seen != 0 && seen != seg.Fluid {
					return fmt.Errorf("cannot build %s at %d,%d: it would mix %s and %s", sp.Name, sp.X, sp.Y,
						s.b.ItemName(ItemID(seen)), s.b.ItemName(ItemID(seg.Fluid)))
				}
				seen = seg.Fluid
			}
		}
	}
	return nil
}

// seg returns a segment, or nil for none.
func (s *Surface) seg(i int32) *fluid.Segment {
	if i < 0 || int(i) >= len(s.fsegs) {
		return nil
	}
	return &s.fsegs[i]
}

// updateFluidEnt advances a pump, offshore pump, boiler or pumpjack by a tick.
func (s *Surface) updateFluidEnt(i int32) {
	fe := &s.fents[i]
	switch fe.kind {
	case KindOffshorePump:
		p := &s.b.Entities[fe.proto]
		water, _ := s.b.ItemID(p.FluidMade)
		if sg := s.seg(fe.seg[0]); sg != nil {
			s.fluidStat(water, sg.Put(fluid.ID(water), p.PumpRate), false)
		}
	case KindPump:
		in, out := s.seg(fe.seg[0]), s.seg(fe.seg[1])
		if in == nil || out == nil || in.Amount == 0 {
			s.addDemand(fe.net, 0)
			return
		}
		p := &s.b.Entities[fe.proto]
		if fe.net < 0 {
			return
		}
		n := &s.nets[fe.net]
		rate := p.PumpRate * fluid.Amount(n.sat) / SatOne
		a := min(rate, in.Amount, out.Room(in.Fluid))
		if a > 0 {
			n.demand += p.EnergyUsage
			out.Put(in.Fluid, in.Take(in.Fluid, a))
			s.hash = (s.hash ^ uint64(fe.ent)<<5 ^ uint64(a)) * 0x100000001b3
		}
	case KindBoiler:
		s.updateBoiler(fe)
	case KindPumpjack:
		s.updatePumpjack(fe)
	default:
		s.sleep(KindPipe, i) // pipes and tanks do nothing on their own
	}
}

func (s *Surface) addDemand(net int32, w int64) {
	if net >= 0 {
		s.nets[net].demand += w
	}
}

// updateBoiler turns water into steam, one unit a tick at full power (1.8 MW
// over 30 kJ a unit), burning fuel for what it makes.
func (s *Surface) updateBoiler(fe *fluidEnt) {
	water, steam := s.seg(fe.seg[0]), s.seg(fe.seg[1])
	if water == nil || steam == nil {
		return
	}
	p := &s.b.Entities[fe.proto]
	wid, _ := s.b.ItemID(p.Boxes[0].Filter)
	sid, _ := s.b.ItemID(p.Boxes[1].Filter)
	a := min(fluid.Unit, water.Has(fluid.ID(wid)), steam.Room(fluid.ID(sid)))
	if a <= 0 {
		return
	}
	need := p.EnergyUsage * int64(a) / int64(fluid.Unit)
	had := fe.fuel.n
	ok := s.burn(&fe.fuel, need)
	if fe.fuel.n != had {
		s.changed(fe.ent) // wakes the inserters that feed it
	}
	if !ok {
		return
	}
	water.Take(fluid.ID(wid), a)
	steam.Put(fluid.ID(sid), a)
	s.hash = (s.hash ^ uint64(fe.ent)<<5 ^ uint64(a)) * 0x100000001b3
	s.fluidStat(wid, -a, false)
	s.fluidStat(sid, a, false)
}

// pumpjackYield sets a pumpjack's output per mining cycle: 10 units × the
// tile's amount over the resource's normal amount (300,000 is 100 %).
func (s *Surface) pumpjackYield(fe *fluidEnt) {
	fe.yield, fe.res = 0, 0
	if fe.ent == 0 || fe.kind != KindPumpjack {
		return
	}
	e := &s.ents[fe.ent]
	c := e.centre()
	r, amt := s.ResourceAt(tileOfPos(c.X), tileOfPos(c.Y))
	if r == 0 || !s.b.Items[r-1].Fluid || s.b.Items[r-1].Normal == 0 {
		return
	}
	it := &s.b.Items[r-1]
	fe.res = r
	fe.yield = fluid.Amount(int64(it.Yield) * int64(amt) / it.Normal)
}

func (s *Surface) updatePumpjack(fe *fluidEnt) {
	out := s.seg(fe.seg[0])
	if out == nil || fe.yield == 0 {
		return
	}
	if fe.held > 0 {
		fe.held -= out.Put(fluid.ID(fe.res), fe.held)
		if fe.held > 0 {
			return
		}
	}
	gain, ok := s.energy(false, nil, fe.net, fe.usage, fe.speed)
	if !ok {
		return
	}
	fe.work += gain
	need := s.b.Items[fe.res-1].MiningWork * effOne
	if fe.work < need {
		return
	}
	fe.work -= need
	a := fe.yield * fluid.Amount(1+bonusCrafts(&fe.bonus, fe.prod))
	s.fluidStat(fe.res, a, false)
	fe.held = a - out.Put(fluid.ID(fe.res), a)
	s.hash = (s.hash ^ uint64(fe.ent)<<3) * 0x100000001b3
}

// crafterFluids checks a recipe's fluids for the next craft: inputs present
// and outputs flushed. It reports whether the craft can start.
func (s *Surface) crafterFluidsReady(c *crafter, r *RecipeProto) bool {
	if !s.flushFluids(c, r) {
		return false
	}
	for _, fa := range r.FluidIn {
		sg := s.seg(c.x.fseg[s.inBox(c, fa.Box)])
		if sg == nil || sg.Has(fluid.ID(fa.id)) < fa.Amount {
			return false
		}
	}
	return true
}

// inBox and outBox map a recipe's box index to the machine's box number.
func (s *Surface) inBox(c *crafter, k int8) int {
	return s.boxIndex(c, flowIn, k)
}

func (s *Surface) outBox(c *crafter, k int8) int {
	return s.boxIndex(c, flowOut, k)
}

func (s *Surface) boxIndex(c *crafter, flow int8, k int8) int {
	n := int8(0)
	for i, bp := range s.b.Entities[c.proto].Boxes {
		if bp.Flow == flow {
			if n == k {
				return i
			}
			n++
		}
	}
	return 0
}

func (s *Surface) takeFluids(c *crafter, r *RecipeProto) {
	for _, fa := range r.FluidIn {
		s.seg(c.x.fseg[s.inBox(c, fa.Box)]).Take(fluid.ID(fa.id), fa.Amount)
		s.fluidStat(fa.id, -fa.Amount, false)
	}
}

// flushFluids puts a machine's finished fluid results out; false while some
// are still waiting for room.
func (s *Surface) flushFluids(c *crafter, r *RecipeProto) bool {
	done := true
	for k, fa := range r.FluidOut {
		if c.x.fout[k] == 0 {
			continue
		}
		if sg := s.seg(c.x.fseg[s.outBox(c, fa.Box)]); sg != nil {
			c.x.fout[k] -= sg.Put(fluid.ID(fa.id), c.x.fout[k])
		}
		if c.x.fout[k] > 0 {
			done = false
		}
	}
	return done
}

// steamSupply lists, per network, the segments its steam engines draw from and
// how many engines each has (derived with the networks).
type steamDraw struct {
	seg     int32
	engines int64
}

// steamCapacity is the energy a network's steam engines can give this tick.
func (s *Surface) steamCapacity(n *network) int64 {
	var cap int64
	for _, d := range n.steam {
		sg := &s.fsegs[d.seg]
		steam := min(fluid.Amount(d.engines)*n.engineRate, sg.Amount)
		cap += int64(steam) * n.engineJ
	}
	return cap
}

// burnSteam takes the steam for energy e (rounded up to a thousandth of a
// unit) from a network's segments, each in proportion to what it can give; the
// remainder of the division comes from the first segments with steam left.
func (s *Surface) burnSteam(n *network, e, cap int64) {
	if e <= 0 || cap <= 0 {
		return
	}
	need := (e + n.engineJ - 1) / n.engineJ
	total := cap / n.engineJ
	need = min(need, total)
	left := need
	for _, d := range n.steam {
		sg := &s.fsegs[d.seg]
		steam := int64(min(fluid.Amount(d.engines)*n.engineRate, sg.Amount))
		give := steam * need / total
		sg.Amount -= fluid.Amount(give)
		left -= give
		s.hash = (s.hash ^ uint64(d.seg)<<7 ^ uint64(give)) * 0x100000001b3
		s.fluidStat(ItemID(sg.Fluid), -fluid.Amount(give), false)
	}
	for _, d := range n.steam {
		if left == 0 {
			break
		}
		sg := &s.fsegs[d.seg]
		give := min(left, int64(sg.Amount))
		sg.Amount -= fluid.Amount(give)
		left -= give
		s.fluidStat(ItemID(sg.Fluid), -fluid.Amount(give), false)
	}
}

// encodeFluids writes the fluid entities, the contents of every fluid box (the
// segments split back into their boxes, in node order) and the statistics'
// carried thousandths.
func (s *Surface) encodeFluids(e *encoder) {
	e.u(uint64(len(s.fents)))
	for i := range s.fents {
		fe := &s.fents[i]
		e.u(uint64(fe.ent))
		if fe.ent == 0 {
			continue
		}
		encodeBurner(e, &fe.fuel)
		e.i(fe.work)
		e.i(int64(fe.held))
		encodeMods(e, &fe.mods)
		e.i(int64(fe.bonus))
	}
	if s.fluidDirty {
		s.rebuildFluids()
		s.fluidDirty = false
	}
	shares := fluid.Split(s.fnodeSeg, s.fnodeVol, s.fsegs)
	n := 0
	for _, sh := range shares {
		if sh.Amount > 0 {
			n++
		}
	}
	e.u(uint64(n))
	for i, sh := range shares {
		if sh.Amount > 0 {
			e.u(uint64(s.fnodes[i].ent))
			e.u(uint64(s.fnodes[i].box))
			e.u(uint64(sh.Fluid))
			e.i(int64(sh.Amount))
		}
	}
	e.u(uint64(len(s.fluidRem)))
	for _, r := range s.fluidRem {
		e.i(int64(r))
	}
}

func (s *Surface) decodeFluids(d *decoder) error {
	b := s.b
	n := d.n(maxCount)
	s.fents = make([]fluidEnt, n)
	for i := range s.fents {
		fe := &s.fents[i]
		fe.ent = EntityID(d.u32())
		fe.net, fe.seg = -1, [2]int32{-1, -1}
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(fe.ent, KindPipe, i); err != nil {
			return err
		}
		if fe.ent == 0 {
			continue
		}
		decodeBurner(d, b, &fe.fuel)
		fe.work = d.i()
		fe.held = fluid.Amount(d.i())
		decodeMods(d, b, &fe.mods)
		fe.bonus = d.i32()
		if d.err != nil {
			return d.err
		}
		en := &s.ents[fe.ent]
		p := &b.Entities[en.proto]
		fe.proto, fe.kind, fe.speed, fe.usage = en.proto, en.kind, p.Speed*effOne, p.EnergyUsage
		if fe.work < 0 || fe.held < 0 {
			return fmt.Errorf("fluid entity #%d: negative work or fluid", fe.ent)
		}
		if err := s.checkLoadedModules(fe.ent, &fe.mods, fe.bonus); err != nil {
			return err
		}
	}
	n = d.n(maxCount)
	s.fluidPending = make(map[fluidNode]fluid.Share, n)
	for k := 0; k < n && d.err == nil; k++ {
		id := EntityID(d.u32())
		box := int8(d.u())
		f := d.item(b)
		a := fluid.Amount(d.i())
		if d.err != nil {
			break
		}
		if !s.validEntity(id) {
			return fmt.Errorf("fluid in missing entity #%d", id)
		}
		boxes := b.Entities[s.ents[id].proto].Boxes
		if int(box) >= len(boxes) || f == 0 || !b.Items[f-1].Fluid || a <= 0 || a > 2*boxes[box].Volume+fluid.Unit {
			return fmt.Errorf("entity #%d: fluid box %d holding %d of item %d is not possible", id, box, a, f)
		}
		s.fluidPending[fluidNode{id, box}] = fluid.Share{Fluid: fluid.ID(f), Amount: a}
	}
	n = d.n(1 << 16)
	s.fluidRem = make([]fluid.Amount, n)
	for k := range s.fluidRem {
		s.fluidRem[k] = fluid.Amount(d.i())
	}
	return d.err
}
