package sim

import (
	"fmt"
	"sort"

	"github.com/starlane/starlane/sim/fluid"
)

// EntityID identifies an entity on a surface. IDs are never reused; 0 means none.
type EntityID uint32

// Dir is a direction in Factorio 2.0's 16-way encoding; entities here face one of the
// four cardinal directions.
type Dir uint8

// Cardinal directions.
const (
	North Dir = 0
	East  Dir = 4
	South Dir = 8
	West  Dir = 12
)

func (d Dir) valid() bool { return d == North || d == East || d == South || d == West }

func (d Dir) String() string {
	switch d {
	case North:
		return "north"
	case East:
		return "east"
	case South:
		return "south"
	case West:
		return "west"
	}
	return fmt.Sprintf("dir(%d)", uint8(d))
}

// cw returns the direction turned 90° clockwise.
func (d Dir) cw() Dir { return (d + 4) & 15 }

// ccw returns the direction turned 90° counter-clockwise.
func (d Dir) ccw() Dir { return (d + 12) & 15 }

// opposite returns the reverse direction.
func (d Dir) opposite() Dir { return (d + 8) & 15 }

// vec returns the unit tile step of a direction.
func (d Dir) vec() (int32, int32) {
	switch d {
	case East:
		return 1, 0
	case South:
		return 0, 1
	case West:
		return -1, 0
	}
	return 0, -1
}

// rotate turns a north-facing vector to face d.
func (v Vec) rotate(d Dir) Vec {
	switch d {
	case East:
		return Vec{-v.Y, v.X}
	case South:
		return Vec{-v.X, -v.Y}
	case West:
		return Vec{v.Y, -v.X}
	}
	return v
}

// entity is the common record of every entity; kind-specific state lives in the kind's
// own slice at index slot.
type entity struct {
	proto int32 // index into Bundle.Entities; -1 when the entity was removed
	kind  Kind
	dir   Dir
	x, y  int32 // top-left tile
	w, h  int32 // footprint after rotation
	slot  int32
}

func (e *entity) alive() bool { return e.proto >= 0 }

// centre returns the entity's centre in fixed-point position units.
func (e *entity) centre() Vec {
	return Vec{e.x*TileUnits + e.w*TileUnits/2, e.y*TileUnits + e.h*TileUnits/2}
}

// Surface is the complete deterministic state of one simulated surface (a planet).
// It is not safe for concurrent use; a shard drives it from one goroutine.
type Surface struct {
	b      *Bundle
	name   string
	planet string
	seed   uint64
	tick   uint64
	rng    rng
	gen    generator
	chunks map[chunkKey]*chunk

	ents   []entity // index = EntityID; ents[0] is unused
	labels map[EntityID]string
	marks  []spaceMark // bridge high-water marks by sequence space, sorted (containers.go)

	belts     []beltNode
	splitters []splitter
	lanes     []lane
	laneRing  []ringSlot // the lanes' items and gaps, a ring per lane
	// lanePickers lists, per lane, the inserters picking from it (derived).
	lanePickers [][]int32
	laneNodes   []int32 // nodes of each lane, from its end (derived)
	// laneFeed lists, per lane, the lanes that end on it or side-load into it, lane li's
	// from laneFeedOff[li] to laneFeedOff[li+1] (derived): they are woken when it changes.
	laneFeed    []int32
	laneFeedOff []int32
	ins         []inserter
	crafters    []crafter
	drills      []drill
	labs        []lab
	chests      []container
	stacks      []Stack // container slots
	poles       []pole
	gens        []generatorEnt
	nets        []network
	ports       []port
	beacons     []beacon
	fents       []fluidEnt // pipes, tanks, pumps, offshore pumps, boilers, pumpjacks
	// Fluid segments hold the fluid (state); fluidRem carries thousandths of fluid
	// statistics per fluid (state).
	fsegs    []fluid.Segment
	fluidRem []fluid.Amount

	free [numKinds][]int32 // free slots per kind

	players []player
	force   force
	stats   stats
	// hash is the running cheap state hash: every state-changing event mixes into it.
	hash uint64

	// Derived state, rebuilt after topology changes and after loading; never saved.
	beltsDirty   bool
	targetsDirty bool
	powerDirty   bool
	effectsDirty bool                      // module effects must be recomputed (modules.go)
	fluidDirty   bool                      // fluid nodes and segments must be rebuilt (fluids.go)
	fluidPending map[fluidNode]fluid.Share // loaded box contents, until the first rebuild
	fnodes       []fluidNode
	fnodeVol     []fluid.Amount
	fnodeSeg     []int32
	fconns       map[TilePos][]fconnPt
	effects      []entEffect // by EntityID: beacons reaching it and its total effect
	watchers     [][]watcher // by EntityID
	active       [numKinds]bitset
	laneActive   bitset
	noSleep      bool // testing: keep every entity awake to prove sleeping changes nothing
	naps         naps // drills and inserters in a timed sleep (naps.go)
	stepping     bool // inside Step: the current tick's updates are not complete
	results      []Result
	scratch      scratch
}

// Result is the outcome of one input applied at a tick.
type Result struct {
	Player uint32
	Kind   ActionKind
	// Err is empty when the action was applied, else the reason it was rejected.
	Err string
	// Entity is the entity the action built or touched, if any.
	Entity EntityID
	// Count is how many items an insert or take moved: fewer than it asked for
	// when the entity held (or had room for) less, or the character's inventory
	// had room for less.
	Count int32
	// Short says why Count is less than the action asked for ("the wooden-chest
	// held 12"); empty when it moved all of them.
	Short string
}

// Config describes a new surface.
type Config struct {
	Name   string
	Planet string
	Seed   uint64
	// Patches are explicit resource patches on top of the planet's procedural ones.
	Patches []Patch
	// Research, if set, is researched by labs; Repeat keeps researching it once done
	// (like the game's infinite technologies), so benchmark maps never run out of work.
	Research string
	Repeat   bool
	// InserterBonus and BulkBonus are researched hand-size bonuses.
	InserterBonus int32
	BulkBonus     int32
}

// NewSurface creates an empty surface.
func NewSurface(b *Bundle, cfg Config) (*Surface, error) {
	if cfg.Planet == "" {
		cfg.Planet = "nauvis"
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Planet
	}
	g, err := newGenerator(b, cfg.Seed, cfg.Planet, cfg.Patches)
	if err != nil {
		return nil, err
	}
	s := &Surface{
		b: b, name: cfg.Name, planet: cfg.Planet, seed: cfg.Seed,
		rng: newRNG(cfg.Seed ^ 0x5374617264616e65), gen: g,
		chunks: map[chunkKey]*chunk{}, ents: make([]entity, 1), labels: map[EntityID]string{},
	}
	s.ents[0].proto = -1
	s.force.inserterBonus = cfg.InserterBonus
	s.force.bulkBonus = cfg.BulkBonus
	s.stats.init(len(b.Items))
	s.hash = mix64(cfg.Seed)
	if cfg.Research != "" {
		t, ok := b.Tech(cfg.Research)
		if !ok {
			return nil, fmt.Errorf("unknown technology %q", cfg.Research)
		}
		s.force.research = int32(t)
		s.force.repeat = cfg.Repeat
	} else {
		s.force.research = -1
	}
	return s, nil
}

// Bundle returns the prototype bundle the surface runs on.
func (s *Surface) Bundle() *Bundle { return s.b }

// Name returns the surface name.
func (s *Surface) Name() string { return s.name }

// Planet returns the planet the surface's map was generated for.
func (s *Surface) Planet() string { return s.planet }

// Seed returns the map seed.
func (s *Surface) Seed() uint64 { return s.seed }

// Tick returns the number of ticks simulated.
func (s *Surface) Tick() uint64 { return s.tick }

// Hash returns the cheap state hash after the last tick. Peers compare it every tick.
func (s *Surface) Hash() uint64 { return s.hash }

// EntityCount returns the number of live entities.
func (s *Surface) EntityCount() int {
	n := 0
	for i := 1; i < len(s.ents); i++ {
		if s.ents[i].alive() {
			n++
		}
	}
	return n
}

// LastResults returns the outcome of each input applied at the last tick. The slice is
// reused by the next Step.
func (s *Surface) LastResults() []Result { return s.results }

// SetSleeping turns entity sleeping on or off. Sleeping is purely an optimisation: a
// surface with it off computes exactly the same states, only slower. Tests use this.
func (s *Surface) SetSleeping(on bool) {
	s.wakeNaps()
	s.noSleep = !on
	s.wakeAll()
}

// EntityInfo is a read-only view of an entity.
type EntityInfo struct {
	ID   EntityID
	Name string
	Kind Kind
	Dir  Dir
	// X, Y is the top-left tile; W, H the footprint.
	X, Y, W, H int32
	Label      string
	Recipe     string
}

// Entity returns a view of an entity.
func (s *Surface) Entity(id EntityID) (EntityInfo, bool) {
	if id == 0 || int(id) >= len(s.ents) || !s.ents[id].alive() {
		return EntityInfo{}, false
	}
	e := &s.ents[id]
	info := EntityInfo{ID: id, Name: s.b.Entities[e.proto].Name, Kind: e.kind, Dir: e.dir,
		X: e.x, Y: e.y, W: e.w, H: e.h, Label: s.labels[id]}
	if e.kind == KindAssembler || e.kind == KindFurnace || e.kind == KindRocketSilo {
		if r := s.crafters[e.slot].recipe; r >= 0 {
			info.Recipe = s.b.Recipes[r].Name
		}
	}
	return info, true
}

// Entities calls fn for every live entity in ID order.
func (s *Surface) Entities(fn func(EntityInfo) bool) {
	for i := 1; i < len(s.ents); i++ {
		if !s.ents[i].alive() {
			continue
		}
		info, _ := s.Entity(EntityID(i))
		if !fn(info) {
			return
		}
	}
}

// FindByLabel returns the entity with a label, or 0.
func (s *Surface) FindByLabel(label string) EntityID {
	ids := make([]EntityID, 0, len(s.labels))
	for id, l := range s.labels {
		if l == label {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids[0]
}

// slotFamily maps a kind to the kind whose slice holds its state: several kinds share one
// slice (belts and undergrounds are belt nodes, chests and ports are containers, ...).
func slotFamily(k Kind) Kind {
	switch k {
	case KindUnderground:
		return KindBelt
	case KindFurnace, KindRocketSilo:
		return KindAssembler
	case KindInfinityChest, KindBridgeExport, KindBridgeImport:
		return KindContainer
	case KindAccumulator, KindEnergyInterface, KindSteamEngine:
		return KindSolar
	case KindPump, KindOffshorePump, KindBoiler, KindPumpjack:
		return KindPipe
	}
	return k
}

// allocSlot returns a free slot index in a kind's slice (of length n), reusing freed ones
// in LIFO order.
func (s *Surface) allocSlot(k Kind, n int) int32 {
	k = slotFamily(k)
	if f := s.free[k]; len(f) > 0 {
		i := f[len(f)-1]
		s.free[k] = f[:len(f)-1]
		return i
	}
	return int32(n)
}

// BuildSpec describes an entity to build.
type BuildSpec struct {
	Name string
	// X, Y is the top-left tile of the entity's footprint.
	X, Y int32
	Dir  Dir
	// Recipe for assembling machines.
	Recipe string
	// Underground is "input" or "output" for underground belts.
	Underground string
	// Splitter settings: "left"/"right" or "".
	InputPriority, OutputPriority string
	Filter                        string
	// Infinity chest settings.
	Infinity *InfinitySettings
	// Label names bridge ports and other entities for operators.
	Label string
	// Modules go into the entity's module slots (machines, labs, beacons).
	Modules []string
	// Bar limits a chest's inserters to its first Bar slots (the game's inventory
	// limit, blueprint field "bar"); nil: no limit.
	Bar *int32
	// FilterMode is an inserter's filter: "" (none), "whitelist" (it picks up only
	// Filters) or "blacklist" (anything but Filters); at most MaxInserterFilters
	// slots, in slot order, "" for an empty slot (a blueprint's filter at index 3
	// stays in the third slot).
	FilterMode string
	Filters    []string
}

// InfinitySettings mirror the game's blueprint field infinity_settings.
type InfinitySettings struct {
	RemoveUnfiltered bool
	Filters          []InfinityFilter
}

// InfinityFilter keeps an item at a count: Mode is "at-least", "at-most" or "exactly".
type InfinityFilter struct {
	Item  string
	Count int32
	Mode  string
}

// footprint returns the rotated size of a prototype.
func footprint(p *EntityProto, d Dir) (int32, int32) {
	if d == East || d == West {
		return p.H, p.W
	}
	return p.W, p.H
}

// checkBuild validates a build without changing anything.
func (s *Surface) checkBuild(sp *BuildSpec) (int, error) {
	pi, ok := s.b.Entity(sp.Name)
	if !ok {
		return 0, fmt.Errorf("cannot build %s: %s", sp.Name, s.b.UnsupportedReason(sp.Name))
	}
	if !sp.Dir.valid() {
		return 0, fmt.Errorf("cannot build %s: direction %d is not north (0), east (4), south (8) or west (12)", sp.Name, sp.Dir)
	}
	if err := CheckLabel(sp.Label); err != nil {
		return 0, fmt.Errorf("cannot build %s: %w", sp.Name, err)
	}
	p := &s.b.Entities[pi]
	w, h := footprint(p, sp.Dir)
	if !onMap(int64(sp.X), int64(sp.Y), w, h) {
		return 0, fmt.Errorf("cannot build %s at %d,%d: outside the map (%s)", sp.Name, sp.X, sp.Y, MapExtent)
	}
	if blocker := s.areaFree(sp.X, sp.Y, w, h); blocker != 0 {
		be := &s.ents[blocker]
		return 0, fmt.Errorf("cannot build %s at %d,%d: collides with %s #%d at %d,%d",
			sp.Name, sp.X, sp.Y, s.b.Entities[be.proto].Name, blocker, be.x, be.y)
	}
	if err := s.checkModules(p, sp.Modules); err != nil {
		return 0, fmt.Errorf("cannot build %s: %w", sp.Name, err)
	}
	if err := s.checkFluidMix(p, sp); err != nil {
		return 0, err
	}
	switch p.Kind {
	case KindRocketSilo:
		if sp.Recipe != "" && sp.Recipe != p.FixedRecipe {
			return 0, fmt.Errorf("cannot build %s with recipe %s: its recipe is always %s", sp.Name, sp.Recipe, p.FixedRecipe)
		}
	case KindAssembler:
		if sp.Recipe != "" {
			if err := s.recipeAllowed(p, sp.Recipe); err != nil {
				return 0, err
			}
			ri, _ := s.b.Recipe(sp.Recipe)
			var m modSlots
			for k, n := range sp.Modules {
				m[k], _ = s.b.ItemID(n)
			}
			if !s.b.Recipes[ri].Productivity && s.hasProductivity(&m) {
				return 0, fmt.Errorf("cannot build %s: %w", sp.Name, s.prodRecipeError(sp.Recipe))
			}
		}
	case KindPumpjack:
		// As in the game, a pumpjack only stands on a fluid resource: elsewhere it
		// would be built and never pump.
		cx, cy := sp.X+w/2, sp.Y+h/2
		if r, _ := s.ResourceAt(cx, cy); r == 0 || !s.b.Items[r-1].Fluid {
			return 0, fmt.Errorf("cannot build %s at %d,%d: there is no crude oil under its centre tile %d,%d; place it with its centre on a crude-oil tile", sp.Name, sp.X, sp.Y, cx, cy)
		}
	case KindUnderground:
		if sp.Underground != "" && sp.Underground != "input" && sp.Underground != "output" {
			return 0, fmt.Errorf("cannot build %s: underground type %q is not input or output", sp.Name, sp.Underground)
		}
	case KindSplitter:
		for _, v := range []string{sp.InputPriority, sp.OutputPriority} {
			if v != "" && v != "left" && v != "right" {
				return 0, fmt.Errorf("cannot build %s: priority %q is not left or right", sp.Name, v)
			}
		}
		if sp.Filter != "" {
			if _, ok := s.b.ItemID(sp.Filter); !ok {
				return 0, fmt.Errorf("cannot build %s: filter item %q is unknown", sp.Name, sp.Filter)
			}
		}
	}
	if sp.FilterMode != "" || len(sp.Filters) > 0 {
		if err := s.checkFilter(p, sp); err != nil {
			return 0, err
		}
	}
	if sp.Bar != nil {
		if p.Kind != KindContainer {
			return 0, fmt.Errorf("cannot build %s with an inventory limit: only chests have one", sp.Name)
		}
		if *sp.Bar < 0 || *sp.Bar > p.Slots {
			return 0, fmt.Errorf("cannot build %s with an inventory limit of %d slots: it has %d", sp.Name, *sp.Bar, p.Slots)
		}
	}
	switch p.Kind {
	case KindInfinityChest:
		if sp.Infinity != nil {
			for _, f := range sp.Infinity.Filters {
				if _, ok := s.b.ItemID(f.Item); !ok {
					return 0, fmt.Errorf("cannot build %s: infinity filter item %q is unknown", sp.Name, f.Item)
				}
				switch f.Mode {
				case "", "at-least", "at-most", "exactly":
				default:
					return 0, fmt.Errorf("cannot build %s: infinity filter mode %q is not at-least, at-most or exactly", sp.Name, f.Mode)
				}
				if f.Count < 0 {
					return 0, fmt.Errorf("cannot build %s: infinity filter count %d is negative", sp.Name, f.Count)
				}
			}
		}
	}
	return pi, nil
}

// build places an entity. It assumes checkBuild passed.
func (s *Surface) build(pi int, sp *BuildSpec) EntityID {
	s.wakeNaps()
	p := &s.b.Entities[pi]
	w, h := footprint(p, sp.Dir)
	id := EntityID(len(s.ents))
	s.ents = append(s.ents, entity{proto: int32(pi), kind: p.Kind, dir: sp.Dir, x: sp.X, y: sp.Y, w: w, h: h})
	s.setTiles(sp.X, sp.Y, w, h, id)
	if sp.Label != "" {
		s.labels[id] = sp.Label
	}
	e := &s.ents[id]
	switch p.Kind {
	case KindBelt, KindUnderground:
		e.slot = s.addBeltNode(id, sp)
	case KindSplitter:
		e.slot = s.addSplitter(id, sp)
	case KindInserter:
		e.slot = s.addInserter(id, p, sp)
	case KindAssembler, KindFurnace, KindRocketSilo:
		e.slot = s.addCrafter(id, pi, sp.Recipe)
	case KindDrill:
		e.slot = s.addDrill(id, pi)
	case KindLab:
		e.slot = s.addLab(id, pi)
	case KindContainer, KindInfinityChest, KindBridgeExport, KindBridgeImport:
		e.slot = s.addContainer(id, p, sp)
	case KindPole:
		e.slot = s.addPole(id)
	case KindSolar, KindAccumulator, KindEnergyInterface, KindSteamEngine:
		e.slot = s.addGenerator(id, p)
	case KindBeacon:
		e.slot = s.addBeacon(id, pi)
	case KindPipe, KindPump, KindOffshorePump, KindBoiler, KindPumpjack:
		e.slot = s.addFluidEnt(id, pi)
	}
	s.setModules(id, sp.Modules)
	s.topologyChanged(p.Kind)
	s.hash = mix64(s.hash ^ uint64(id)<<20 ^ uint64(pi))
	return id
}

// topologyChanged marks derived state that must be rebuilt before the next update.
func (s *Surface) topologyChanged(k Kind) {
	switch k {
	case KindBelt, KindUnderground, KindSplitter:
		s.beltsDirty = true
	case KindPole:
		s.powerDirty = true
	case KindBeacon, KindAssembler, KindFurnace, KindDrill, KindLab, KindPumpjack, KindRocketSilo:
		s.effectsDirty = true
	}
	switch k {
	case KindPipe, KindPump, KindOffshorePump, KindBoiler, KindSteamEngine, KindPumpjack, KindAssembler:
		s.fluidDirty = true // a fluid box joins or leaves a segment
	}
	// Any entity can be an inserter's or drill's source or target, or need power.
	s.targetsDirty = true
	s.powerDirty = true
}

// Build places an entity directly (map generation, tests and the operator), without a
// character or inventory. Player builds go through actions.
func (s *Surface) Build(sp BuildSpec) (EntityID, error) {
	pi, err := s.checkBuild(&sp)
	if err != nil {
		return 0, err
	}
	id := s.build(pi, &sp)
	s.takeModules(nil, sp.Modules)
	return id, nil
}

// remove deletes an entity and returns the items it held (contents, hands, belts).
func (s *Surface) remove(id EntityID) []Stack {
	s.wakeNaps()
	e := &s.ents[id]
	var items []Stack
	switch e.kind {
	case KindBelt, KindUnderground:
		items = s.removeBeltNode(e.slot)
	case KindSplitter:
		items = s.removeSplitter(e.slot)
	case KindInserter:
		items = s.removeInserter(e.slot)
	case KindAssembler, KindFurnace, KindRocketSilo:
		items = s.removeCrafter(e.slot)
	case KindDrill:
		items = s.removeDrill(e.slot)
	case KindLab:
		items = s.removeLab(e.slot)
	case KindContainer, KindInfinityChest, KindBridgeExport, KindBridgeImport:
		items = s.removeContainer(e.slot)
	case KindPole:
		s.removePole(e.slot)
	case KindSolar, KindAccumulator, KindEnergyInterface, KindSteamEngine:
		s.removeGenerator(e.slot)
	case KindBeacon:
		items = s.removeBeacon(e.slot)
	case KindPipe, KindPump, KindOffshorePump, KindBoiler, KindPumpjack:
		items = s.removeFluidEnt(e.slot)
	}
	fam := slotFamily(e.kind)
	s.free[fam] = append(s.free[fam], e.slot)
	s.active[fam].clear(e.slot)
	s.setTiles(e.x, e.y, e.w, e.h, 0)
	delete(s.labels, id)
	if int(id) < len(s.watchers) {
		s.watchers[id] = nil
	}
	s.topologyChanged(e.kind)
	e.proto = -1
	s.hash = mix64(s.hash ^ uint64(id)<<21)
	return items
}

// Remove deletes an entity directly and returns what it held.
func (s *Surface) Remove(id EntityID) ([]Stack, error) {
	if id == 0 || int(id) >= len(s.ents) || !s.ents[id].alive() {
		return nil, fmt.Errorf("no entity #%d", id)
	}
	return s.remove(id), nil
}

// prepare rebuilds derived state after topology changes. It runs before updates each tick.
func (s *Surface) prepare() {
	if s.fluidDirty || s.beltsDirty || s.powerDirty || s.targetsDirty || s.effectsDirty {
		s.wakeNaps() // rebuilds may change what a napping entity would do
	}
	if s.fluidDirty {
		s.rebuildFluids()
		s.fluidDirty = false
	}
	if s.beltsDirty {
		s.rebuildBelts()
		s.beltsDirty = false
		s.targetsDirty = true
	}
	if s.powerDirty {
		s.rebuildPower()
		s.powerDirty = false
		if len(s.beacons) > 0 {
			s.effectsDirty = true // a beacon transmits only while on a network
		}
	}
	if s.targetsDirty {
		s.resolveTargets()
		s.targetsDirty = false
	}
	if s.effectsDirty {
		s.recomputeEffects()
		s.effectsDirty = false
	}
}

// scratch holds reusable buffers so that steady-state ticks do not allocate.
type scratch struct {
	stacks []Stack
	ids    []EntityID
}
