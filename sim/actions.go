package sim

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Input is one sequenced input of a tick: who sent it and the encoded action. Player 0 is
// the shard itself (the operator, bridges and map setup); it has no character, needs no
// items and may use system actions. The type is an alias of an unnamed struct so that the
// shard runtime can declare the same type without importing this package.
type Input = struct {
	Player uint32
	Data   []byte
}

// ActionKind names what an action does.
type ActionKind uint8

// Actions. New kinds are only ever appended: their numbers are part of the input log.
const (
	ActNone          ActionKind = iota
	ActJoin                     // Name: player name. Creates the character on first join.
	ActLeave                    // the character stays where it is
	ActMove                     // X, Y: position in 1/256 tile, at most maxStep from the character
	ActBuild                    // Build: an entity from the character's inventory
	ActMine                     // X, Y: tile; the entity and its contents go to the inventory
	ActRotate                   // X, Y: tile; turn a belt, underground or inserter clockwise
	ActSetRecipe                // X, Y: tile; Name: recipe ("" clears)
	ActInsert                   // X, Y: tile; Name: item; Count
	ActTake                     // X, Y: tile; Name: item; Count
	ActSetResearch              // Name: technology ("" stops research)
	ActSetLabel                 // X, Y: tile; Name: label
	ActGive                     // system: Target player; Name: item; Count
	ActDeliver                  // system: Entity: import port; Seq: the first delivery's sequence; Names, Counts: one stack each
	ActAck                      // system: Entity: export port; Seq: acknowledged; Credit
	ActPaste                    // Data: blueprint exchange string; X, Y: offset in tiles; Count: book index; Flags
	ActSetPortFilter            // system: Entity: export port; Names: items it takes (none: any)
	ActBindPort                 // system: Entity: export port; Space: sequence space; Name: destination
	ActDeliverSpace             // system: Entity: import port; Space; Base: sender's acked floor; Seq: first; Names, Counts
	ActAckSpace                 // system: Entity: export port; Space; Seq: acknowledged; Credit
	numActions
)

var actionNames = [...]string{"none", "join", "leave", "move", "build", "mine", "rotate",
	"set-recipe", "insert", "take", "set-research", "set-label", "give", "deliver", "ack", "paste",
	"set-port-filter", "bind-port", "deliver-space", "ack-space"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// Action is a player or system action. Which fields matter depends on Kind.
type Action struct {
	Kind   ActionKind
	Name   string
	X, Y   int32
	Count  int32
	Target uint32
	Entity EntityID
	Seq    uint64
	Space  uint64
	Base   uint64
	Credit int64
	Flags  uint32
	Names  []string
	Counts []int32
	Build  BuildSpec
	Data   []byte
}

// MaxLabelBytes is the longest entity label, in printable ASCII characters.
// Bridges find their ports by label, and a bridge's port name is held to the
// same limit at the API's edge (internal/validate.MaxLabelBytes), so a longer
// label could name no port. Saves written before the limit keep their labels.
const MaxLabelBytes = 63

// CheckLabel says why label cannot be an entity's label, naming the limit; nil
// if it can ("" clears a label and is always allowed).
func CheckLabel(label string) error {
	for i := 0; i < len(label); i++ {
		if label[i] < 0x20 || label[i] > 0x7e {
			return fmt.Errorf("label %s has a character that is not printable ASCII: a label is at most %d printable ASCII characters, the longest name a bridge port can have", quoteLabel(label), MaxLabelBytes)
		}
	}
	if len(label) > MaxLabelBytes {
		return fmt.Errorf("label %s is %d characters: a label is at most %d printable ASCII characters, the longest name a bridge port can have", quoteLabel(label), len(label), MaxLabelBytes)
	}
	return nil
}

// quoteLabel quotes at most the first 32 bytes of a label for a message.
func quoteLabel(l string) string {
	if len(l) <= 32 {
		return strconv.Quote(l)
	}
	return strconv.Quote(l[:32]) + "…"
}

const (
	maxName      = 256
	maxPasteSize = 32 << 20       // blueprint.DefaultLimits().MaxStringBytes
	playerReach  = 10 * TileUnits // the game's character build and reach distance
	maxStep      = 10 * TileUnits
)

// EncodeAction encodes an action for an input.
func EncodeAction(a Action) []byte {
	var e encoder
	e.u(uint64(a.Kind))
	switch a.Kind {
	case ActJoin, ActSetResearch:
		e.str(a.Name)
	case ActMove, ActMine, ActRotate:
		e.i(int64(a.X))
		e.i(int64(a.Y))
	case ActSetRecipe, ActSetLabel:
		e.i(int64(a.X))
		e.i(int64(a.Y))
		e.str(a.Name)
	case ActInsert, ActTake:
		e.i(int64(a.X))
		e.i(int64(a.Y))
		e.str(a.Name)
		e.i(int64(a.Count))
	case ActBuild:
		encodeBuild(&e, &a.Build)
	case ActGive:
		e.u(uint64(a.Target))
		e.str(a.Name)
		e.i(int64(a.Count))
	case ActDeliver:
		e.u(uint64(a.Entity))
		e.u(a.Seq)
		e.u(uint64(len(a.Names)))
		for i, n := range a.Names {
			e.str(n)
			var c int32
			if i < len(a.Counts) {
				c = a.Counts[i]
			}
			e.i(int64(c))
		}
	case ActAck:
		e.u(uint64(a.Entity))
		e.u(a.Seq)
		e.i(a.Credit)
	case ActPaste:
		e.i(int64(a.X))
		e.i(int64(a.Y))
		e.i(int64(a.Count))
		e.u(uint64(a.Flags))
		e.bytes(a.Data)
	case ActSetPortFilter:
		e.u(uint64(a.Entity))
		e.u(uint64(len(a.Names)))
		for _, n := range a.Names {
			e.str(n)
		}
	case ActBindPort:
		e.u(uint64(a.Entity))
		e.u(a.Space)
		e.str(a.Name)
	case ActDeliverSpace:
		e.u(uint64(a.Entity))
		e.u(a.Space)
		e.u(a.Base)
		e.u(a.Seq)
		e.u(uint64(len(a.Names)))
		for i, n := range a.Names {
			e.str(n)
			var c int32
			if i < len(a.Counts) {
				c = a.Counts[i]
			}
			e.i(int64(c))
		}
	case ActAckSpace:
		e.u(uint64(a.Entity))
		e.u(a.Space)
		e.u(a.Seq)
		e.i(a.Credit)
	}
	return e.buf
}

func encodeBuild(e *encoder, b *BuildSpec) {
	e.str(b.Name)
	e.i(int64(b.X))
	e.i(int64(b.Y))
	e.u(uint64(b.Dir))
	e.str(b.Recipe)
	e.str(b.Underground)
	e.str(b.InputPriority)
	e.str(b.OutputPriority)
	e.str(b.Filter)
	e.str(b.Label)
	e.b(b.Infinity != nil)
	if b.Infinity != nil {
		e.b(b.Infinity.RemoveUnfiltered)
		e.u(uint64(len(b.Infinity.Filters)))
		for _, f := range b.Infinity.Filters {
			e.str(f.Item)
			e.i(int64(f.Count))
			e.str(f.Mode)
		}
	}
	// Modules, then the settings added after them (flagged), come last and only
	// when there are any, so a build without them encodes as it did before they
	// existed (the input log stays readable).
	var flags uint64
	if b.Bar != nil {
		flags |= buildBar
	}
	if b.FilterMode != "" || len(b.Filters) > 0 {
		flags |= buildFilter
	}
	if len(b.Modules) > 0 || flags != 0 {
		e.u(uint64(len(b.Modules)))
		for _, m := range b.Modules {
			e.str(m)
		}
	}
	if flags == 0 {
		return
	}
	e.u(flags)
	if b.Bar != nil {
		e.i(int64(*b.Bar))
	}
	if flags&buildFilter != 0 {
		e.str(b.FilterMode)
		e.u(uint64(len(b.Filters)))
		for _, f := range b.Filters {
			e.str(f)
		}
	}
}

// Settings of a build encoded after its modules.
const (
	buildBar = 1 << iota
	buildFilter
)

func decodeBuild(d *decoder, b *BuildSpec) {
	b.Name = d.str(maxName)
	b.X, b.Y = d.i32(), d.i32()
	dir := d.u()
	if dir > 15 {
		d.fail(fmt.Errorf("direction %d out of range", dir))
	}
	b.Dir = Dir(dir)
	b.Recipe = d.str(maxName)
	b.Underground = d.str(maxName)
	b.InputPriority = d.str(maxName)
	b.OutputPriority = d.str(maxName)
	b.Filter = d.str(maxName)
	b.Label = d.str(maxName)
	if d.b() {
		inf := &InfinitySettings{RemoveUnfiltered: d.b()}
		n := d.n(1000)
		for k := 0; k < n && d.err == nil; k++ {
			inf.Filters = append(inf.Filters, InfinityFilter{Item: d.str(maxName), Count: d.i32(), Mode: d.str(maxName)})
		}
		b.Infinity = inf
	}
	if len(d.buf) > 0 && d.err == nil {
		n := d.n(maxModules)
		for k := 0; k < n && d.err == nil; k++ {
			b.Modules = append(b.Modules, d.str(maxName))
		}
	}
	if len(d.buf) == 0 || d.err != nil {
		return
	}
	flags := d.u()
	if flags&^(buildBar|buildFilter) != 0 {
		d.fail(fmt.Errorf("unknown build settings %#x", flags))
		return
	}
	if flags&buildBar != 0 {
		bar := d.i32()
		b.Bar = &bar
	}
	if flags&buildFilter != 0 {
		b.FilterMode = d.str(maxName)
		n := d.n(MaxInserterFilters)
		for k := 0; k < n && d.err == nil; k++ {
			b.Filters = append(b.Filters, d.str(maxName))
		}
	}
}

// DecodeAction decodes an input's action; malformed data is an error, never a panic.
func DecodeAction(p []byte) (Action, error) {
	d := decoder{buf: p}
	var a Action
	k := d.u()
	if d.err == nil && (k == 0 || k >= uint64(numActions)) {
		return a, fmt.Errorf("unknown action kind %d", k)
	}
	a.Kind = ActionKind(k)
	switch a.Kind {
	case ActJoin, ActSetResearch:
		a.Name = d.str(maxName)
	case ActMove, ActMine, ActRotate:
		a.X, a.Y = d.i32(), d.i32()
	case ActSetRecipe, ActSetLabel:
		a.X, a.Y = d.i32(), d.i32()
		a.Name = d.str(maxName)
	case ActInsert, ActTake:
		a.X, a.Y = d.i32(), d.i32()
		a.Name = d.str(maxName)
		a.Count = d.i32()
	case ActBuild:
		decodeBuild(&d, &a.Build)
	case ActGive:
		a.Target = d.u32()
		a.Name = d.str(maxName)
		a.Count = d.i32()
	case ActDeliver:
		a.Entity = EntityID(d.u32())
		a.Seq = d.u()
		n := d.n(1 << 16)
		for i := 0; i < n && d.err == nil; i++ {
			a.Names = append(a.Names, d.str(maxName))
			a.Counts = append(a.Counts, d.i32())
		}
	case ActAck:
		a.Entity = EntityID(d.u32())
		a.Seq = d.u()
		a.Credit = d.i()
	case ActPaste:
		a.X, a.Y = d.i32(), d.i32()
		a.Count = d.i32()
		a.Flags = d.u32()
		a.Data = d.raw(maxPasteSize)
	case ActSetPortFilter:
		a.Entity = EntityID(d.u32())
		n := d.n(1000)
		for i := 0; i < n && d.err == nil; i++ {
			a.Names = append(a.Names, d.str(maxName))
		}
	case ActBindPort:
		a.Entity = EntityID(d.u32())
		a.Space = d.u()
		a.Name = d.str(maxDest)
	case ActDeliverSpace:
		a.Entity = EntityID(d.u32())
		a.Space, a.Base, a.Seq = d.u(), d.u(), d.u()
		n := d.n(1 << 16)
		for i := 0; i < n && d.err == nil; i++ {
			a.Names = append(a.Names, d.str(maxName))
			a.Counts = append(a.Counts, d.i32())
		}
	case ActAckSpace:
		a.Entity = EntityID(d.u32())
		a.Space, a.Seq = d.u(), d.u()
		a.Credit = d.i()
	}
	if d.err != nil {
		return a, fmt.Errorf("malformed %s action: %w", a.Kind, d.err)
	}
	if len(d.buf) != 0 {
		return a, fmt.Errorf("malformed %s action: %d trailing bytes", a.Kind, len(d.buf))
	}
	return a, nil
}

// player is a character on the surface.
type player struct {
	id     uint32
	name   string
	pos    Vec
	online bool
	inv    []Stack
}

// starterKit is what a new character starts with, enough to build a small factory.
var starterKitNames = []struct {
	name  string
	count int32
}{
	{"transport-belt", 200}, {"underground-belt", 20}, {"splitter", 10}, {"burner-inserter", 10},
	{"inserter", 50}, {"long-handed-inserter", 10}, {"fast-inserter", 20}, {"wooden-chest", 10},
	{"iron-chest", 20}, {"stone-furnace", 20}, {"burner-mining-drill", 10},
	{"electric-mining-drill", 10}, {"assembling-machine-1", 10}, {"lab", 2},
	{"small-electric-pole", 50}, {"medium-electric-pole", 10}, {"solar-panel", 20},
	{"accumulator", 10}, {"coal", 100}, {"iron-plate", 200}, {"copper-plate", 100},
}

// StarterKit returns what a character is given when it first joins, by item name:
// a census of a surface's items counts it as created there.
func StarterKit() map[string]int32 {
	kit := make(map[string]int32, len(starterKitNames))
	for _, k := range starterKitNames {
		kit[k.name] += k.count
	}
	return kit
}

func (s *Surface) findPlayer(id uint32) *player {
	i := sort.Search(len(s.players), func(i int) bool { return s.players[i].id >= id })
	if i < len(s.players) && s.players[i].id == id {
		return &s.players[i]
	}
	return nil
}

// PlayerInfo is a read-only view of a character.
type PlayerInfo struct {
	ID        uint32
	Name      string
	Pos       Vec
	Online    bool
	Inventory []Stack
}

// Player returns a view of a character.
func (s *Surface) Player(id uint32) (PlayerInfo, bool) {
	p := s.findPlayer(id)
	if p == nil {
		return PlayerInfo{}, false
	}
	inv := make([]Stack, 0, len(p.inv))
	for _, st := range p.inv {
		if st.Count > 0 {
			inv = addStack(inv, st.Item, st.Count)
		}
	}
	return PlayerInfo{ID: p.id, Name: p.name, Pos: p.pos, Online: p.online, Inventory: inv}, true
}

// Players lists the characters in ID order.
func (s *Surface) Players() []PlayerInfo {
	out := make([]PlayerInfo, 0, len(s.players))
	for _, p := range s.players {
		info, _ := s.Player(p.id)
		out = append(out, info)
	}
	return out
}

func (s *Surface) join(id uint32, name string) error {
	if p := s.findPlayer(id); p != nil {
		p.online = true
		if name != "" {
			p.name = name
		}
		return nil
	}
	p := player{id: id, name: name, online: true, inv: make([]Stack, s.b.CharacterSlots)}
	// Spawn near the origin, a few tiles apart so that characters do not stack up.
	p.pos = Vec{int32(s.rng.intn(16))*TileUnits - 8*TileUnits + TileUnits/2,
		int32(s.rng.intn(16))*TileUnits - 8*TileUnits + TileUnits/2}
	for _, k := range starterKitNames {
		if item, ok := s.b.ItemID(k.name); ok {
			s.slotsInsert(p.inv, item, k.count)
		}
	}
	i := sort.Search(len(s.players), func(i int) bool { return s.players[i].id >= id })
	s.players = append(s.players, player{})
	copy(s.players[i+1:], s.players[i:])
	s.players[i] = p
	return nil
}

var errNotAllowed = errors.New("only the shard may send this action")

func errNoPort(id EntityID, kind string) error {
	return fmt.Errorf("entity #%d is not a bridge-%s port", id, kind)
}

func errSeqGap(hwm, seq uint64) error {
	return fmt.Errorf("delivery %d skips ahead of high-water mark %d", seq, hwm)
}

func errPortFull(id EntityID, n int32) error {
	return fmt.Errorf("import port #%d has no room for %d items", id, n)
}

// apply decodes and applies one input, recording its result.
func (s *Surface) apply(in Input) {
	a, err := DecodeAction(in.Data)
	res := Result{Player: in.Player, Kind: a.Kind}
	if err == nil {
		res.Entity, err = s.do(in.Player, &a, &res)
	}
	if err != nil {
		res.Err = err.Error()
	}
	s.results = append(s.results, res)
	ok := uint64(0)
	if err == nil {
		ok = 1
	}
	s.hash = mix64(s.hash ^ uint64(in.Player)<<32 ^ uint64(a.Kind)<<8 ^ ok ^ uint64(res.Entity)<<40)
}

// inReach checks that a character can reach a point (players other than 0 only).
func (s *Surface) inReach(p *player, target Vec) error {
	if p == nil {
		return nil
	}
	dx, dy := int64(target.X-p.pos.X), int64(target.Y-p.pos.Y)
	if dx*dx+dy*dy > int64(playerReach)*int64(playerReach) {
		return fmt.Errorf("out of reach: %.1f tiles away, the limit is %d",
			float64(isqrt(dx*dx+dy*dy))/TileUnits, playerReach/TileUnits)
	}
	return nil
}

func isqrt(v int64) int64 {
	if v <= 0 {
		return 0
	}
	r := int64(1)
	for r*r <= v {
		r <<= 1
	}
	lo, hi := r>>1, r
	for lo < hi-1 {
		m := (lo + hi) / 2
		if m*m <= v {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// actor returns the character acting, or nil for the shard itself.
func (s *Surface) actor(id uint32) (*player, error) {
	if id == 0 {
		return nil, nil
	}
	p := s.findPlayer(id)
	if p == nil {
		return nil, fmt.Errorf("player %d has not joined", id)
	}
	return p, nil
}

// entityAtTile returns the live entity on a tile.
func (s *Surface) entityAtTile(x, y int32) (EntityID, error) {
	id := s.EntityAt(x, y)
	if id == 0 {
		return 0, fmt.Errorf("no entity at %d,%d", x, y)
	}
	return id, nil
}

func (s *Surface) itemByName(name string) (ItemID, error) {
	id, ok := s.b.ItemID(name)
	if !ok {
		if r, refused := s.b.RefusedItems[name]; refused {
			return 0, fmt.Errorf("item %s cannot be used: %s", name, r)
		}
		return 0, fmt.Errorf("no such item %q", name)
	}
	return id, nil
}

// do applies a decoded action for a player; an insert or take also records in res
// how many items it moved.
func (s *Surface) do(pid uint32, a *Action, res *Result) (EntityID, error) {
	switch a.Kind {
	case ActNone, ActJoin, ActLeave, ActMove, ActSetLabel, ActGive, ActSetResearch, ActDeliver,
		ActAck, ActDeliverSpace, ActAckSpace:
		// These touch no drill or inserter mid-cycle.
	default:
		s.wakeNaps()
	}
	switch a.Kind {
	case ActJoin:
		if pid == 0 {
			return 0, errors.New("the shard has no character")
		}
		return 0, s.join(pid, a.Name)
	case ActGive, ActDeliver, ActAck, ActSetPortFilter, ActBindPort, ActDeliverSpace, ActAckSpace:
		if pid != 0 {
			return 0, errNotAllowed
		}
	}
	p, err := s.actor(pid)
	if err != nil {
		return 0, err
	}
	switch a.Kind {
	case ActLeave:
		if p != nil {
			p.online = false
		}
		return 0, nil
	case ActMove:
		if p == nil {
			return 0, errors.New("the shard has no character")
		}
		to := Vec{a.X, a.Y}
		if !onMap(int64(floorDiv(to.X, TileUnits)), int64(floorDiv(to.Y, TileUnits)), 1, 1) {
			return 0, fmt.Errorf("cannot walk to %d,%d: outside the map", floorDiv(to.X, TileUnits), floorDiv(to.Y, TileUnits))
		}
		dx, dy := int64(to.X)-int64(p.pos.X), int64(to.Y)-int64(p.pos.Y)
		if dx*dx+dy*dy > int64(maxStep)*int64(maxStep) {
			return 0, fmt.Errorf("cannot walk %.1f tiles in one step, the limit is %d", float64(isqrt(dx*dx+dy*dy))/TileUnits, maxStep/TileUnits)
		}
		p.pos = to
		return 0, nil
	case ActBuild:
		return s.doBuild(p, &a.Build)
	case ActMine:
		return s.doMine(p, a.X, a.Y)
	case ActRotate:
		return s.doRotate(p, a.X, a.Y)
	case ActSetRecipe:
		return s.doSetRecipe(p, a.X, a.Y, a.Name)
	case ActInsert:
		id, m, err := s.doInsert(p, a.X, a.Y, a.Name, a.Count)
		res.Count, res.Short = m.n, m.short
		return id, err
	case ActTake:
		id, m, err := s.doTake(p, a.X, a.Y, a.Name, a.Count)
		res.Count, res.Short = m.n, m.short
		return id, err
	case ActSetResearch:
		return 0, s.SetResearch(a.Name)
	case ActSetLabel:
		id, err := s.entityAtTile(a.X, a.Y)
		if err != nil {
			return 0, err
		}
		if err := s.inReach(p, s.ents[id].centre()); err != nil {
			return 0, err
		}
		if err := CheckLabel(a.Name); err != nil {
			return 0, err
		}
		if a.Name != s.labels[id] {
			if err := s.portHolds(id, "relabel"); err != nil {
				return 0, err
			}
		}
		if a.Name == "" {
			delete(s.labels, id)
		} else {
			s.labels[id] = a.Name
		}
		return id, nil
	case ActGive:
		t := s.findPlayer(a.Target)
		if t == nil {
			return 0, fmt.Errorf("player %d has not joined", a.Target)
		}
		item, err := s.itemByName(a.Name)
		if err != nil {
			return 0, err
		}
		if a.Count <= 0 {
			return 0, fmt.Errorf("count %d must be positive", a.Count)
		}
		if room := s.slotsRoom(t.inv, item); room < a.Count {
			return 0, fmt.Errorf("player %d has room for %d %s, not %d", a.Target, room, a.Name, a.Count)
		}
		s.slotsInsert(t.inv, item, a.Count)
		s.stats.create(item, int64(a.Count))
		return 0, nil
	case ActDeliver, ActDeliverSpace:
		// Deliveries apply in order; the first that cannot (a gap, no room, bad data)
		// stops the rest, which the sender sends again.
		for i, name := range a.Names {
			item, err := s.itemByName(name)
			if err != nil {
				return a.Entity, err
			}
			if c := a.Counts[i]; c <= 0 || c > s.b.Items[item-1].StackSize {
				return a.Entity, fmt.Errorf("delivery of %d %s is not between 1 and a stack", c, name)
			}
			if a.Kind == ActDeliverSpace {
				err = s.applyDeliverySpace(a.Entity, a.Space, a.Base, a.Seq+uint64(i), item, a.Counts[i])
			} else {
				err = s.applyDelivery(a.Entity, a.Seq+uint64(i), item, a.Counts[i])
			}
			if err != nil {
				return a.Entity, err
			}
		}
		return a.Entity, nil
	case ActAck:
		return a.Entity, s.applyAck(a.Entity, a.Seq, a.Credit)
	case ActPaste:
		return s.doPaste(p, a)
	case ActSetPortFilter:
		return a.Entity, s.setPortFilter(a.Entity, a.Names)
	case ActBindPort:
		return a.Entity, s.applyBind(a.Entity, a.Space, a.Name)
	case ActAckSpace:
		return a.Entity, s.applyAckSpace(a.Entity, a.Space, a.Seq, a.Credit)
	}
	return 0, fmt.Errorf("action %s is not supported", a.Kind)
}

func (s *Surface) doBuild(p *player, sp *BuildSpec) (EntityID, error) {
	pi, err := s.checkBuild(sp)
	if err != nil {
		return 0, err
	}
	proto := &s.b.Entities[pi]
	var item ItemID
	if p != nil {
		w, h := footprint(proto, sp.Dir)
		c := Vec{sp.X*TileUnits + w*TileUnits/2, sp.Y*TileUnits + h*TileUnits/2}
		if err := s.inReach(p, c); err != nil {
			return 0, err
		}
		item = s.b.placer[pi]
		if item == 0 || slotsCount(p.inv, item) == 0 {
			return 0, fmt.Errorf("cannot build %s: none in the inventory", sp.Name)
		}
		for name, n := range countNames(sp.Modules) {
			id, _ := s.b.ItemID(name)
			if have := slotsCount(p.inv, id); have < n {
				return 0, fmt.Errorf("cannot build %s: %d %s in the inventory, the modules need %d", sp.Name, have, name, n)
			}
		}
	}
	if sp.Underground == "" && proto.Kind == KindUnderground {
		sp.Underground = "input"
	}
	id := s.build(pi, sp)
	if item != 0 {
		slotsRemove(p.inv, item, 1)
	}
	s.takeModules(p, sp.Modules)
	return id, nil
}

// contents returns everything an entity holds, as mining it would give back.
func (s *Surface) contents(id EntityID) []Stack {
	e := &s.ents[id]
	var out []Stack
	switch e.kind {
	case KindBelt, KindUnderground:
		n := &s.belts[e.slot]
		out = s.peekNode(e.slot, out)
		if n.kind == KindUnderground && n.out && n.pair >= 0 {
			out = s.peekRange(s.belts[n.pair].lane, s.belts[n.pair].k, s.belts[n.pair].span-1, out)
		}
	case KindSplitter:
		for _, ni := range s.splitters[e.slot].node {
			out = s.peekNode(ni, out)
		}
	case KindInserter:
		in := &s.ins[e.slot]
		out = addStack(out, in.hand, in.handN)
		out = addStack(out, in.fuel.fuel, in.fuel.n)
	case KindAssembler, KindFurnace, KindRocketSilo:
		out = s.crafterContents(&s.crafters[e.slot], out, true)
		out = addModStacks(out, &s.crafters[e.slot].mods)
	case KindDrill:
		d := &s.drills[e.slot]
		out = addStack(out, d.held, 1)
		out = addStack(out, d.last, d.extra)
		out = addStack(out, d.fuel.fuel, d.fuel.n)
		out = addModStacks(out, &d.mods)
	case KindLab:
		out = s.labContents(&s.labs[e.slot], out)
		out = addModStacks(out, &s.labs[e.slot].mods)
	case KindBeacon:
		out = addModStacks(out, &s.beacons[e.slot].mods)
	case KindPipe, KindPump, KindOffshorePump, KindBoiler, KindPumpjack:
		fe := &s.fents[e.slot]
		out = addStack(out, fe.fuel.fuel, fe.fuel.n)
		out = addModStacks(out, &fe.mods)
	case KindContainer, KindBridgeExport, KindBridgeImport:
		c := &s.chests[e.slot]
		for _, st := range s.stacks[c.off : c.off+c.n] {
			out = addStack(out, st.Item, st.Count)
		}
	}
	return out
}

func (s *Surface) peekNode(ni int32, out []Stack) []Stack {
	n := &s.belts[ni]
	return s.peekRange(n.lane, n.k, n.span, out)
}

// peekRange lists the items on lanes between tiles k and k+span from their end.
func (s *Surface) peekRange(lanes [2]int32, k, span int32, out []Stack) []Stack {
	lo, hi := k*TileUnits, (k+span)*TileUnits
	// Between a belt edit and the next rebuild the old lanes are still consistent for
	// every node they hold (new nodes have none yet), so reading them is right.
	for _, li := range lanes {
		if li < 0 {
			continue
		}
		l := &s.lanes[li]
		var pos int32
		for j := int32(0); j < l.n; j++ {
			pos += *s.gapAt(l, j)
			if pos >= hi {
				break
			}
			if pos >= lo {
				out = addStack(out, s.itemAt(l, j), 1)
			}
		}
	}
	return out
}

func (s *Surface) doMine(p *player, x, y int32) (EntityID, error) {
	id, err := s.entityAtTile(x, y)
	if err != nil {
		return 0, err
	}
	e := &s.ents[id]
	if err := s.portHolds(id, "mine"); err != nil {
		return 0, err
	}
	if p != nil {
		if err := s.inReach(p, e.centre()); err != nil {
			return 0, err
		}
		// Everything must fit: the entity's item and what it holds.
		want := addStack(s.contents(id), s.b.placer[e.proto], 1)
		if e.kind == KindInfinityChest {
			want = addStack(nil, s.b.placer[e.proto], 1)
		}
		room := append([]Stack(nil), p.inv...)
		for _, st := range want {
			if st.Item == 0 {
				continue
			}
			if got := s.slotsInsert(room, st.Item, st.Count); got < st.Count {
				return 0, fmt.Errorf("cannot mine %s: no room in the inventory for %d %s",
					s.b.Entities[e.proto].Name, st.Count, s.b.ItemName(st.Item))
			}
		}
		placer := s.b.placer[e.proto]
		items := s.remove(id)
		for _, st := range items {
			s.slotsInsert(p.inv, st.Item, st.Count)
		}
		if placer != 0 {
			s.slotsInsert(p.inv, placer, 1)
		}
		return id, nil
	}
	// The shard removing an entity: what it held is recorded as voided.
	for _, st := range s.remove(id) {
		s.stats.void(st.Item, int64(st.Count))
	}
	return id, nil
}

func (s *Surface) doRotate(p *player, x, y int32) (EntityID, error) {
	id, err := s.entityAtTile(x, y)
	if err != nil {
		return 0, err
	}
	e := &s.ents[id]
	if err := s.inReach(p, e.centre()); err != nil {
		return 0, err
	}
	switch e.kind {
	case KindBelt, KindInserter:
		e.dir = e.dir.cw()
		if e.kind == KindBelt {
			s.belts[e.slot].dir = e.dir
		}
	case KindUnderground:
		// Rotating an underground belt flips it between input and output.
		n := &s.belts[e.slot]
		e.dir = e.dir.opposite()
		n.dir = e.dir
		n.out = !n.out
	default:
		return 0, fmt.Errorf("%s cannot be rotated", s.b.Entities[e.proto].Name)
	}
	s.topologyChanged(e.kind)
	return id, nil
}

func (s *Surface) doSetRecipe(p *player, x, y int32, name string) (EntityID, error) {
	id, err := s.entityAtTile(x, y)
	if err != nil {
		return 0, err
	}
	e := &s.ents[id]
	if e.kind != KindAssembler {
		return 0, fmt.Errorf("%s has no recipe to set", s.b.Entities[e.proto].Name)
	}
	if err := s.inReach(p, e.centre()); err != nil {
		return 0, err
	}
	ri := int32(-1)
	if name != "" {
		if err := s.recipeAllowed(&s.b.Entities[e.proto], name); err != nil {
			return 0, err
		}
		r, _ := s.b.Recipe(name)
		ri = int32(r)
	}
	c := &s.crafters[e.slot]
	if ri >= 0 && !s.b.Recipes[ri].Productivity && s.hasProductivity(&c.mods) {
		return 0, s.prodRecipeError(name)
	}
	old := s.crafterContents(c, nil, true)
	if p != nil {
		room := append([]Stack(nil), p.inv...)
		for _, st := range old {
			if got := s.slotsInsert(room, st.Item, st.Count); got < st.Count {
				return 0, fmt.Errorf("cannot change recipe: no room in the inventory for %d %s", st.Count, s.b.ItemName(st.Item))
			}
		}
	}
	if c.crafting {
		for k, ing := range s.b.Recipes[c.recipe].Ingredients {
			s.stats.unconsume(s.b.ingIDs[c.recipe][k], int64(ing.Amount))
		}
	}
	s.setRecipe(e.slot, ri)
	for _, st := range old {
		if st.Item == c.fuel.fuel {
			continue
		}
		if p != nil {
			s.slotsInsert(p.inv, st.Item, st.Count)
		} else {
			s.stats.void(st.Item, int64(st.Count))
		}
	}
	s.changed(id)
	return id, nil
}

// itemAction resolves the entity, item and count of an insert or take action and checks
// the character's reach.
func (s *Surface) itemAction(p *player, x, y int32, name string, count int32) (EntityID, *entity, ItemID, error) {
	id, err := s.entityAtTile(x, y)
	if err != nil {
		return 0, nil, 0, err
	}
	item, err := s.itemByName(name)
	if err != nil {
		return 0, nil, 0, err
	}
	if count <= 0 {
		return 0, nil, 0, fmt.Errorf("count %d must be positive", count)
	}
	e := &s.ents[id]
	if err := s.inReach(p, e.centre()); err != nil {
		return 0, nil, 0, err
	}
	return id, e, item, nil
}

func (s *Surface) doInsert(p *player, x, y int32, name string, count int32) (EntityID, moved, error) {
	id, e, item, err := s.itemAction(p, x, y, name, count)
	if err != nil {
		return 0, moved{}, err
	}
	if p != nil {
		if have := slotsCount(p.inv, item); have < count {
			return 0, moved{}, fmt.Errorf("not enough %s: have %d, want %d", name, have, count)
		}
	}
	if got, err, ok := s.insertModules(id, item, count); ok {
		if err != nil {
			return 0, moved{}, err
		}
		if p != nil {
			slotsRemove(p.inv, item, got)
		} else {
			s.stats.create(item, int64(got))
		}
		return id, s.moved(got, count, "%s had room for %d", e), nil
	}
	t := target{ent: id, kind: e.kind, slot: e.slot}
	if t.isBelt() || e.kind == KindBridgeImport {
		return 0, moved{}, fmt.Errorf("cannot insert into %s", s.b.Entities[e.proto].Name)
	}
	var got int32
	if e.kind == KindContainer {
		// By hand, as in the game, a chest's inventory limit does not apply.
		c := &s.chests[e.slot]
		if got = s.slotsInsert(s.stacks[c.off:c.off+c.n], item, count); got > 0 {
			s.changed(id)
		}
	} else {
		if s.accepts(&t, item) <= 0 {
			return 0, moved{}, fmt.Errorf("%s does not take %s now", s.b.Entities[e.proto].Name, name)
		}
		got = s.insertInto(&t, item, count)
	}
	if got == 0 {
		return 0, moved{}, fmt.Errorf("%s has no room for %s", s.b.Entities[e.proto].Name, name)
	}
	if p != nil {
		slotsRemove(p.inv, item, got)
	} else {
		s.stats.create(item, int64(got))
	}
	return id, s.moved(got, count, "%s had room for %d", e), nil
}

func (s *Surface) doTake(p *player, x, y int32, name string, count int32) (EntityID, moved, error) {
	id, e, item, err := s.itemAction(p, x, y, name, count)
	if err != nil {
		return 0, moved{}, err
	}
	want := count
	if p != nil {
		if room := s.slotsRoom(p.inv, item); room < count {
			count = room
			if count == 0 {
				return 0, moved{}, fmt.Errorf("no room in the inventory for %s", name)
			}
		}
	}
	src := target{ent: id, kind: e.kind, slot: e.slot}
	got := s.take(&src, item, count)
	if got == 0 && s.b.Items[item-1].Module != nil {
		got = s.moduleTake(id, item, count)
	}
	if got == 0 {
		return 0, moved{}, fmt.Errorf("%s holds no %s to take", s.b.Entities[e.proto].Name, name)
	}
	if p != nil {
		s.slotsInsert(p.inv, item, got)
	} else {
		s.stats.void(item, int64(got))
	}
	if got == count && count < want {
		return id, moved{n: got, short: fmt.Sprintf("the inventory had room for %d", got)}, nil
	}
	return id, s.moved(got, want, "%s held %d", e), nil
}

// moved is what an insert or take moved and, when it is fewer items than asked
// for, why.
type moved struct {
	n     int32
	short string
}

// moved reports got of want items moved; when fewer, short says what the entity
// held or had room for, written by format from the entity's name and got. The
// text is made only then, so a full move allocates nothing.
func (s *Surface) moved(got, want int32, format string, e *entity) moved {
	if got >= want {
		return moved{n: got}
	}
	return moved{n: got, short: fmt.Sprintf("the "+format, s.b.Entities[e.proto].Name, got)}
}

// SetResearch sets the technology labs work on ("" stops research).
func (s *Surface) SetResearch(name string) error {
	if name == "" {
		s.force.research = -1
		return nil
	}
	t, ok := s.b.Tech(name)
	if !ok {
		return fmt.Errorf("no such technology %q", name)
	}
	if s.force.research != int32(t) {
		s.force.research = int32(t)
		s.force.progress = 0
	}
	for i := range s.labs {
		s.active[KindLab].set(int32(i))
	}
	return nil
}
