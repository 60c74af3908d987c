package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/starlane/starlane/sim/blueprint"
)

// Blueprint pasting and export. A paste is one action applied at one tick: the string is
// decoded by every peer, checked as a whole (unknown entities, collisions with the map
// and within the blueprint, items in the character's inventory), and then built entirely
// or not at all.

// Paste flags.
const (
	// PasteSkipUnknown builds what the bundle knows and leaves out the rest, instead of
	// refusing a blueprint with entities the bundle lacks.
	PasteSkipUnknown uint32 = 1 << iota
)

// PasteResult describes what a paste built or would build.
type PasteResult struct {
	Built    int
	Skipped  map[string]int // unknown entities left out with PasteSkipUnknown
	Tiles    int            // blueprint tiles (floors are not simulated)
	Entities []EntityID
	// Renamed lists the 1.x names the paste migrated to their 2.0 prototypes.
	Renamed []blueprint.Renamed
	// Undelivered counts the items the blueprint requests besides modules
	// (fuel, ammunition): deliveries the game's robots make, so the entities
	// are built without them.
	Undelivered map[string]int
	// Shift is how far (in 1/256 tile) the blueprint was moved to sit on the tile grid:
	// game-made strings often place entities half a tile off it, and the game snaps
	// them the same way. Exporting with this as the origin gives the string's positions.
	Shift Vec
}

// gridShift returns the shift, under a tile in each axis, that puts every entity's
// top-left corner on the tile grid; the entities must agree on it.
func gridShift(b *Bundle, bp *blueprint.Blueprint) (Vec, error) {
	var shift Vec
	first := true
	for i := range bp.Entities {
		be := &bp.Entities[i]
		pi, ok := b.Entity(be.Name)
		if !ok || !Dir(be.Direction).valid() {
			continue
		}
		w, h := footprint(&b.Entities[pi], Dir(be.Direction))
		s := Vec{mod(-(be.Position.X - w*TileUnits/2), TileUnits), mod(-(be.Position.Y - h*TileUnits/2), TileUnits)}
		if first {
			shift, first = s, false
		} else if s != shift {
			return Vec{}, fmt.Errorf("entity %d (%s) at %s is not on the same tile grid as the others", be.Number, be.Name, be.Position)
		}
	}
	return shift, nil
}

func mod(a, m int32) int32 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// PlanPaste turns a blueprint into build specs offset by whole tiles (dx, dy) after
// snapping it to the tile grid. It fails on entities the bundle lacks (listing them,
// unless skipUnknown), on entities off the blueprint's grid and on diagonal directions.
// A Factorio 1.x blueprint is first migrated to 2.0 names as the game does
// (blueprint.Migrate).
func PlanPaste(b *Bundle, bp *blueprint.Blueprint, dx, dy int32, skipUnknown bool) ([]BuildSpec, map[string]int, Vec, error) {
	specs, _, unknown, shift, _, err := planPaste(b, bp, dx, dy, skipUnknown)
	return specs, unknown, shift, err
}

// planPaste is PlanPaste that also returns each spec's entity_number, for errors,
// and the renames the migration applied.
func planPaste(b *Bundle, bp *blueprint.Blueprint, dx, dy int32, skipUnknown bool) ([]BuildSpec, []uint32, map[string]int, Vec, []blueprint.Renamed, error) {
	bp, renamed, err := blueprint.Migrate(bp)
	if err != nil {
		return nil, nil, nil, Vec{}, nil, fmt.Errorf("blueprint: %w", err)
	}
	specs, nums, unknown, shift, err := planMigrated(b, bp, dx, dy, skipUnknown)
	return specs, nums, unknown, shift, renamed, err
}

// checkAbsoluteSnapping refuses an offset off the world grid a blueprint with
// absolute snapping is bound to: the game only places such a blueprint on its grid
// (snap-to-grid cells, shifted by position-relative-to-grid), so a paste elsewhere
// would be one the game never makes. Relative snapping only guides the cursor and
// means nothing for an explicit offset.
func checkAbsoluteSnapping(bp *blueprint.Blueprint, dx, dy int32) error {
	if v, ok := bp.Extra.Get("absolute-snapping"); !ok || string(v) != "true" {
		return nil
	}
	type xy struct{ X, Y int64 }
	var grid, rel xy
	raw, ok := bp.Extra.Get("snap-to-grid")
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, &grid); err != nil || grid.X < 1 || grid.Y < 1 {
		return fmt.Errorf("the blueprint's snap-to-grid %s is not a grid size of at least 1 by 1 tile", raw)
	}
	if raw, ok := bp.Extra.Get("position-relative-to-grid"); ok {
		if err := json.Unmarshal(raw, &rel); err != nil {
			return fmt.Errorf("the blueprint's position-relative-to-grid %s is not a tile offset", raw)
		}
	}
	mod := func(a, m int64) int64 { return (a%m + m) % m }
	ox, oy := mod(int64(dx)-rel.X, grid.X), mod(int64(dy)-rel.Y, grid.Y)
	if ox == 0 && oy == 0 {
		return nil
	}
	return fmt.Errorf("the blueprint snaps to a %d×%d grid of the world (absolute snapping, offset %d,%d), so the game places it only on that grid: paste it at a tile such as %d,%d, or turn absolute snapping off in the game and export it again",
		grid.X, grid.Y, mod(rel.X, grid.X), mod(rel.Y, grid.Y), int64(dx)-ox, int64(dy)-oy)
}

func planMigrated(b *Bundle, bp *blueprint.Blueprint, dx, dy int32, skipUnknown bool) ([]BuildSpec, []uint32, map[string]int, Vec, error) {
	unknown := map[string]int{}
	var specs []BuildSpec
	var nums []uint32
	shift, err := gridShift(b, bp)
	if err != nil {
		return nil, nil, nil, shift, err
	}
	if err := checkAbsoluteSnapping(bp, dx, dy); err != nil {
		return nil, nil, nil, shift, err
	}
	for i := range bp.Entities {
		be := &bp.Entities[i]
		pi, ok := b.Entity(be.Name)
		if !ok {
			unknown[be.Name]++
			continue
		}
		d := Dir(be.Direction)
		if !d.valid() {
			return nil, nil, nil, shift, fmt.Errorf("entity %d (%s) faces direction %d; only north, east, south and west are simulated",
				be.Number, be.Name, be.Direction)
		}
		w, h := footprint(&b.Entities[pi], d)
		// The blueprint gives the entity's centre; after the shift its corner is whole.
		lx := be.Position.X + shift.X - w*TileUnits/2
		ly := be.Position.Y + shift.Y - h*TileUnits/2
		x, y := int64(floorDiv(lx, TileUnits))+int64(dx), int64(floorDiv(ly, TileUnits))+int64(dy)
		if !onMap(x, y, w, h) {
			return nil, nil, nil, shift, fmt.Errorf("entity %d (%s) would be at %d,%d, outside the map (%s)",
				be.Number, be.Name, x, y, MapExtent)
		}
		sp := BuildSpec{Name: be.Name, X: int32(x), Y: int32(y), Dir: d,
			Recipe: be.Recipe, InputPriority: be.InputPriority, OutputPriority: be.OutputPriority}
		if b.Entities[pi].Kind == KindUnderground {
			sp.Underground = be.Type
			if sp.Underground == "" {
				sp.Underground = "input"
			}
		}
		if be.Filter != nil {
			if byQuality(be.Filter.Quality, be.Filter.Comparator) {
				unknown["filters by quality on "+be.Name+" (quality is not simulated)"]++
			} else {
				sp.Filter = be.Filter.Name
			}
		}
		var modulesAsked int64
		usedSlot := map[[2]int]bool{} // inventory and stack of the modules placed so far
		for _, it := range be.Items {
			ip, known := b.ItemID(it.Name)
			switch {
			case b.RefusedItems[it.Name] != "":
				unknown["item "+it.Name+" ("+b.RefusedItems[it.Name]+")"] += int(it.Count)
			case !known:
				unknown["item "+it.Name]++
			case b.Items[ip-1].Module == nil:
				// Other requests (fuel, ammunition) are deliveries the game's robots
				// would make; the paste builds the entity empty.
			case it.Quality != "" && it.Quality != "normal":
				unknown["item "+it.Name+" of quality "+it.Quality+" (quality is not simulated)"] += int(it.Count)
			default:
				// 2.0 names the inventory each item goes to: only modules asked
				// into the module inventory are installed; into a chest or a
				// machine's input they are deliveries (UndeliveredRequests).
				count, slots := moduleRequest(b.Entities[pi].Kind, it)
				if count == 0 {
					continue
				}
				// A module's slot outside the machine's module inventory, or
				// taken twice, is no blueprint the game writes.
				for _, sl := range slots {
					if n := int(b.Entities[pi].ModuleSlots); n == 0 {
						break // said below: modules where there are no slots
					} else if sl.Stack < 0 || sl.Stack >= n {
						return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): %s in module slot %d, but %s has %d module slots (0 to %d)",
							be.Number, be.Name, it.Name, sl.Stack, be.Name, n, n-1)
					}
					if usedSlot[[2]int{sl.Inventory, sl.Stack}] {
						return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): two modules in module slot %d", be.Number, be.Name, sl.Stack)
					}
					usedSlot[[2]int{sl.Inventory, sl.Stack}] = true
				}
				modulesAsked += count
				for k := int64(0); k < count && len(sp.Modules) < maxModules+1; k++ {
					sp.Modules = append(sp.Modules, it.Name)
				}
			}
		}
		if slots := int64(b.Entities[pi].ModuleSlots); modulesAsked > slots && modulesAsked > int64(len(sp.Modules)) {
			// The list was cut short (a request may ask for billions); say what was asked.
			return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): %d modules, %s has %d module slots", be.Number, be.Name, modulesAsked, be.Name, slots)
		}
		// Settings Starlane does not simulate are refused by name rather than dropped:
		// an entity built without them would behave otherwise than the blueprint says.
		if be.Quality != "" && be.Quality != "normal" {
			unknown[be.Name+" of quality "+be.Quality+" (quality is not simulated)"]++
		}
		if be.RecipeQuality != "" && be.RecipeQuality != "normal" {
			unknown["recipe "+be.Recipe+" of quality "+be.RecipeQuality+" (quality is not simulated)"]++
		}
		if v, ok := be.Extra.Get("bar"); ok {
			bar, err := strconv.ParseInt(string(v), 10, 32)
			switch {
			case b.Entities[pi].Kind != KindContainer:
				unknown["inventory limit (bar) on "+be.Name+" (only chests' limits are simulated)"]++
			case err != nil:
				return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): inventory limit (bar) %.20q is not a whole number (0 to its %d slots)",
					be.Number, be.Name, v, b.Entities[pi].Slots)
			case bar < 0 || bar > int64(b.Entities[pi].Slots):
				return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): inventory limit (bar) %d is out of range: a %s has %d slots (give 0 to %d)",
					be.Number, be.Name, bar, be.Name, b.Entities[pi].Slots, b.Entities[pi].Slots)
			default:
				n := int32(bar)
				sp.Bar = &n
			}
		}
		if v, ok := be.Extra.Get("tags"); ok {
			var tags map[string]json.RawMessage
			if err := json.Unmarshal(v, &tags); err != nil {
				return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): tags: %v", be.Number, be.Name, err)
			}
			if raw, ok := tags[labelTag]; ok {
				if err := json.Unmarshal(raw, &sp.Label); err != nil {
					return nil, nil, nil, shift, fmt.Errorf("entity %d (%s): tags.%s %.40s is not a string", be.Number, be.Name, labelTag, raw)
				}
			}
		}
		if _, ok := be.Extra.Get("control_behavior"); ok {
			unknown["circuit settings on "+be.Name+" (circuit networks are not simulated)"]++
		}
		// Settings that change what the entity does, which the simulation does
		// not model: refused by name like the rest, not built without them.
		if _, ok := be.Extra.Get("override_stack_size"); ok {
			unknown["a hand stack size override on "+be.Name+" (not simulated)"]++
		}
		_, drop := be.Extra.Get("drop_position")
		if _, pick := be.Extra.Get("pickup_position"); drop || pick {
			unknown["adjusted pickup or drop positions on "+be.Name+" (not simulated)"]++
		}
		if b.Entities[pi].Kind == KindEnergyInterface && !eeiIsSource(be) {
			unknown["an "+be.Name+" set to draw power (power_usage) or to give none (not simulated: Starlane's is an unlimited source)"]++
		}
		if v, ok := be.Extra.Get("mirror"); ok && string(v) == "true" {
			unknown["a mirrored "+be.Name+" (mirroring is not simulated)"]++
		}
		if b.Entities[pi].Kind == KindInserter {
			// use_filters is the game's key; use_filter is what Starlane's own
			// exports wrote before they were corrected, read so those strings
			// keep their filters.
			v, ok := be.Extra.Get("use_filters")
			if !ok {
				v, ok = be.Extra.Get("use_filter")
			}
			if ok && string(v) == "true" {
				if err := pasteFilter(b, be, &sp, unknown); err != nil {
					return nil, nil, nil, shift, err
				}
			}
		}
		for _, f := range be.Extra {
			switch {
			case f.Key == "burner_fuel_inventory":
				// 2.0 writes a burner's fuel slots; only filters or a limit
				// on them would change what it burns.
				var inv struct {
					Bar     json.RawMessage   `json:"bar"`
					Filters []json.RawMessage `json:"filters"`
				}
				if json.Unmarshal(f.Value, &inv) != nil || inv.Bar != nil || len(inv.Filters) > 0 {
					unknown["fuel filters or a fuel slot limit on "+be.Name+" (not simulated)"]++
				}
			case !pasteKnownSettings[f.Key]:
				unknown["setting "+f.Key+" on "+be.Name+" (not simulated)"]++
			}
		}
		if be.Infinity != nil {
			inf := &InfinitySettings{RemoveUnfiltered: be.Infinity.RemoveUnfilteredItems}
			for _, f := range be.Infinity.Filters {
				if byQuality(f.Quality, "") {
					unknown["filters by quality on "+be.Name+" (quality is not simulated)"]++
					continue
				}
				inf.Filters = append(inf.Filters, InfinityFilter{Item: f.Name, Count: int32(min(f.Count, 1<<31-1)), Mode: f.Mode})
			}
			sp.Infinity = inf
		}
		// Settings naming recipes or items the bundle lacks are unknown too: with
		// skipUnknown the entity is built without them.
		if sp.Recipe != "" {
			if _, ok := b.Recipe(sp.Recipe); !ok {
				unknown["recipe "+sp.Recipe]++
				sp.Recipe = ""
			}
		}
		if sp.Filter != "" {
			if _, ok := b.ItemID(sp.Filter); !ok {
				unknown["item "+sp.Filter]++
				sp.Filter = ""
			}
		}
		if sp.Infinity != nil {
			kept := sp.Infinity.Filters[:0]
			for _, f := range sp.Infinity.Filters {
				if _, ok := b.ItemID(f.Item); ok {
					kept = append(kept, f)
				} else {
					unknown["item "+f.Item]++
				}
			}
			sp.Infinity.Filters = kept
		}
		specs = append(specs, sp)
		nums = append(nums, be.Number)
	}
	// Copper wires join poles, which the simulation joins by reach anyway; a
	// circuit wire means a circuit network, which it does not simulate.
	for _, w := range bp.Wires {
		if w.SourceConnector <= blueprint.CombinatorOutputGreen || w.TargetConnector <= blueprint.CombinatorOutputGreen {
			unknown["circuit wire (circuit networks are not simulated)"]++
		}
	}
	if len(unknown) > 0 && !skipUnknown {
		return nil, nil, unknown, shift, &UnknownContentError{Bundle: b.ShortHash(), What: describeUnknown(b, unknown)}
	}
	return specs, nums, unknown, shift, nil
}

// pasteKnownSettings are the entity settings (raw blueprint keys) a paste
// reads, refuses by name above, or knows to change nothing in the simulation.
// Any other key is refused by name: a game version or a mod may write one that
// changes what the entity does, and building without it would be a silent
// drop. The keys are the game's (lua-api.factorio.com, BlueprintEntity).
var pasteKnownSettings = map[string]bool{
	// Read, or refused with their own reason.
	"bar": true, "tags": true, "control_behavior": true, "override_stack_size": true,
	"drop_position": true, "pickup_position": true, "mirror": true,
	"use_filters": true, "use_filter": true, "filters": true, "filter_mode": true,
	"power_production": true, "power_usage": true,
	// Change nothing here: an interface's buffer (Starlane's is unlimited), the
	// order a Space Age inserter takes spoiling items in (the base game has
	// none), a player's note, the 1.x silo's launch switch (a silo launches as
	// soon as its rocket and satellite are ready) and the 2.0 silo's requests
	// for space platforms (Space Age's).
	"buffer_size": true, "spoil_priority": true, "player_description": true,
	"auto_launch": true, "use_transitional_requests": true, "transitional_request_index": true,
}

// eeiIsSource reports whether a blueprint's electric energy interface gives
// power and draws none, as the game's default one does (500 GW out, nothing
// in): that is the unlimited source Starlane simulates. The game writes its
// settings as power_production and power_usage in joules a tick.
func eeiIsSource(be *blueprint.Entity) bool {
	positive := func(key string) (bool, bool) {
		v, ok := be.Extra.Get(key)
		if !ok {
			return false, false
		}
		// A JSON number is above zero when it has no sign and a non-zero digit
		// before its exponent; read from the text, with no floating point.
		mant, _, _ := strings.Cut(strings.ToLower(string(v)), "e")
		return !strings.HasPrefix(mant, "-") && strings.ContainsAny(mant, "123456789"), true
	}
	if draws, _ := positive("power_usage"); draws {
		return false
	}
	if gives, set := positive("power_production"); set && !gives {
		return false
	}
	return true
}

// UnknownContentError refuses a paste whose blueprint holds what the bundle cannot
// simulate; What lists it with counts and reasons.
type UnknownContentError struct {
	Bundle string
	What   string
	// Step is set when the paste came as an action (an `act` paste step or an API
	// client's ActPaste), where skip-unknown is a word of the step or a flag of the
	// action rather than a command-line flag.
	Step bool
}

func (e *UnknownContentError) Error() string {
	hint := "paste with --skip-unknown to leave them out"
	if e.Step {
		hint = "add skip-unknown to the paste step, or the PasteSkipUnknown flag to the action, to leave them out"
	}
	return fmt.Sprintf("the blueprint has entities, recipes or items prototype bundle %s cannot simulate: %s (%s)", e.Bundle, e.What, hint)
}

// unknownKind splits a key of a paste's unknown counts into the prototype family
// and name it stands for ("item X", "recipe X", or an entity's name).
func unknownKind(key string) (blueprint.RenameKind, string) {
	for _, k := range []blueprint.RenameKind{blueprint.RenameItem, blueprint.RenameRecipe} {
		if n, ok := strings.CutPrefix(key, string(k)+" "); ok {
			return k, n
		}
	}
	return blueprint.RenameEntity, key
}

// describeUnknown lists what a paste cannot simulate with counts and the
// reason for each, sorted by key.
func describeUnknown(b *Bundle, m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, n := range sortedNames(m) {
		p := fmt.Sprintf("%s ×%d", n, m[n])
		if r := b.UnknownReason(n); r != "" {
			p += " (" + r + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// describeCounts lists names with counts, sorted by name.
func describeCounts(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, n := range sortedNames(m) {
		parts = append(parts, fmt.Sprintf("%s ×%d", n, m[n]))
	}
	return strings.Join(parts, ", ")
}

func sortedNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// paste checks a whole paste and builds it, or changes nothing. nums are the
// specs' entity_numbers, which errors name.
func (s *Surface) paste(p *player, specs []BuildSpec, nums []uint32) ([]EntityID, error) {
	// Entities of the blueprint must not overlap each other or the map.
	claimed := map[TilePos]int{}
	labels := map[string]int{}
	need := map[ItemID]int32{}
	protos := make([]int, len(specs))
	for i := range specs {
		sp := &specs[i]
		pi, err := s.checkBuild(sp)
		if err != nil {
			return nil, fmt.Errorf("blueprint entity %d: %w", nums[i], err)
		}
		// A label names one entity of the surface (bridges find ports by it).
		if sp.Label != "" {
			if other := s.FindByLabel(sp.Label); other != 0 {
				return nil, fmt.Errorf("blueprint entity %d (%s): label %q is already entity #%d's on this surface; paste it once that one is gone, or relabel one", nums[i], sp.Name, sp.Label, other)
			}
			if j, dup := labels[sp.Label]; dup {
				return nil, fmt.Errorf("blueprint entities %d and %d are both labelled %q", nums[j], nums[i], sp.Label)
			}
			labels[sp.Label] = i
		}
		protos[i] = pi
		w, h := footprint(&s.b.Entities[pi], sp.Dir)
		for y := sp.Y; y < sp.Y+h; y++ {
			for x := sp.X; x < sp.X+w; x++ {
				if j, dup := claimed[TilePos{x, y}]; dup {
					return nil, fmt.Errorf("blueprint entities %d (%s) and %d (%s) overlap at %d,%d",
						nums[j], specs[j].Name, nums[i], sp.Name, x, y)
				}
				claimed[TilePos{x, y}] = i
			}
		}
		if p != nil {
			item := s.b.placer[pi]
			if item == 0 {
				return nil, fmt.Errorf("%s cannot be built by players", sp.Name)
			}
			need[item]++
			for name, n := range countNames(sp.Modules) {
				id, _ := s.b.ItemID(name)
				need[id] += n
			}
		}
	}
	if p != nil {
		missing := map[string]int{}
		for item, n := range need {
			if have := slotsCount(p.inv, item); have < n {
				missing[s.b.ItemName(item)] = int(n - have)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("not enough items in the inventory: missing %s", describeCounts(missing))
		}
	}
	ids := make([]EntityID, 0, len(specs))
	for i := range specs {
		if specs[i].Underground == "" && s.b.Entities[protos[i]].Kind == KindUnderground {
			specs[i].Underground = "input"
		}
		ids = append(ids, s.build(protos[i], &specs[i]))
		if p != nil {
			slotsRemove(p.inv, s.b.placer[protos[i]], 1)
		}
		s.takeModules(p, specs[i].Modules)
	}
	return ids, nil
}

// doPaste applies a paste action.
func (s *Surface) doPaste(p *player, a *Action) (EntityID, error) {
	res, err := s.pasteString(p, string(a.Data), a.X, a.Y, int(a.Count), a.Flags&PasteSkipUnknown != 0)
	if u := (*UnknownContentError)(nil); errors.As(err, &u) {
		u.Step = true
	}
	if err != nil {
		return 0, err
	}
	if len(res.Entities) == 0 {
		return 0, nil
	}
	return res.Entities[0], nil
}

func (s *Surface) pasteString(p *player, str string, dx, dy int32, index int, skipUnknown bool) (PasteResult, error) {
	var res PasteResult
	o, err := blueprint.Decode(str)
	if err != nil {
		return res, fmt.Errorf("blueprint: %w", err)
	}
	bp, err := o.Select(index)
	if err != nil {
		return res, fmt.Errorf("blueprint: %w", err)
	}
	specs, nums, skipped, shift, renamed, err := planPaste(s.b, bp, dx, dy, skipUnknown)
	if err != nil {
		return res, err
	}
	ids, err := s.paste(p, specs, nums)
	if err != nil {
		return res, err
	}
	return PasteResult{Built: len(ids), Skipped: skipped, Tiles: len(bp.Tiles), Entities: ids, Shift: shift, Renamed: renamed,
		Undelivered: UndeliveredRequests(s.b, bp)}, nil
}

// moduleRequest returns how many of a module request go into the module
// inventory of an entity of kind k, and the slots they take there. A 1.x
// request names no slots: its modules are all the entity's (1.x blueprints
// requested only modules, fuel and ammunition). A 2.0 request names an
// inventory per slot; the slots in other inventories are deliveries.
func moduleRequest(k Kind, it blueprint.ItemRequest) (int64, []blueprint.InventorySlot) {
	if len(it.Slots) == 0 {
		return max(it.Count, 0), nil
	}
	inv := moduleInventory(k)
	var n int64
	var slots []blueprint.InventorySlot
	for _, sl := range it.Slots {
		if sl.Inventory == inv {
			n += max(sl.Count, 0)
			slots = append(slots, sl)
		}
	}
	return n, slots
}

// UndeliveredRequests counts, by item, what a blueprint's entities request
// that a paste does not put in: every request of an entity the bundle
// simulates for a known item that is not a module (fuel, ammunition). In the
// game robots deliver these after building; a paste builds the entities empty.
// Nil when there are none.
func UndeliveredRequests(b *Bundle, bp *blueprint.Blueprint) map[string]int {
	bp, _, err := blueprint.Migrate(bp)
	if err != nil {
		return nil
	}
	var out map[string]int
	for i := range bp.Entities {
		be := &bp.Entities[i]
		pi, ok := b.Entity(be.Name)
		if !ok {
			continue
		}
		for _, it := range be.Items {
			ip, known := b.ItemID(it.Name)
			if !known || b.RefusedItems[it.Name] != "" || it.Count <= 0 {
				continue
			}
			n := it.Count
			if b.Items[ip-1].Module != nil {
				installed, _ := moduleRequest(b.Entities[pi].Kind, it)
				n -= installed
			}
			if n <= 0 {
				continue
			}
			if out == nil {
				out = map[string]int{}
			}
			out[it.Name] += int(min(n, 1<<31-1))
		}
	}
	return out
}

// PasteAction returns the action that pastes a blueprint string offset by (dx, dy) whole
// tiles; index picks a book entry (flattened, from 0).
func PasteAction(str string, dx, dy int32, index int, flags uint32) Action {
	return Action{Kind: ActPaste, Data: []byte(str), X: dx, Y: dy, Count: int32(index), Flags: flags}
}

// labelTag is the blueprint entity tag an entity's label (a bridge port's
// name) travels in.
const labelTag = "starlane_label"

// ExportBlueprint returns the entities whose top-left tile lies in the rectangle
// [x0, x1] × [y0, y1] as a Factorio 2.0 blueprint, with positions relative to origin (in
// 1/256 tile; zero keeps world positions, so pasting the result at 0,0 onto an empty
// surface puts every entity back where it was).
func (s *Surface) ExportBlueprint(x0, y0, x1, y1 int32, origin Vec, label string) (*blueprint.Blueprint, error) {
	if x1 < x0 || y1 < y0 {
		return nil, errors.New("export area is empty: the second corner must be south-east of the first")
	}
	// The bundle's version reads like "2.0.77 (where it came from)".
	ver, err := blueprint.ParseVersion(strings.Fields(s.b.Version + " ")[0])
	if err != nil || ver.Legacy() {
		ver = blueprint.Version20
	}
	bp := &blueprint.Blueprint{Label: label, Version: ver}
	ids := s.entitiesIn(x0, y0, x1, y1)
	for _, id := range ids {
		e := &s.ents[id]
		p := &s.b.Entities[e.proto]
		be := blueprint.Entity{Number: uint32(len(bp.Entities) + 1), Name: p.Name,
			Position:  blueprint.Position{X: e.x*TileUnits + e.w*TileUnits/2 - origin.X, Y: e.y*TileUnits + e.h*TileUnits/2 - origin.Y},
			Direction: blueprint.Direction(e.dir)}
		if l := s.labels[id]; l != "" {
			// The game keeps a blueprint entity's tags as they are (mods store
			// their data there): the label rides in one, and a paste reads it back.
			tags, _ := json.Marshal(map[string]string{labelTag: l})
			be.Extra = append(be.Extra, blueprint.Field{Key: "tags", Value: tags})
		}
		switch e.kind {
		case KindAssembler:
			if r := s.crafters[e.slot].recipe; r >= 0 {
				be.Recipe = s.b.Recipes[r].Name
			}
		case KindUnderground:
			be.Type = "input"
			if s.belts[e.slot].out {
				be.Type = "output"
			}
		case KindSplitter:
			sp := &s.splitters[e.slot]
			be.InputPriority, be.OutputPriority = prioName(sp.inPrio), prioName(sp.outPrio)
			if sp.filter != 0 {
				be.Filter = &blueprint.ItemFilter{Name: s.b.ItemName(sp.filter)}
			}
		case KindInserter:
			if in := &s.ins[e.slot]; in.fmode != filterOff {
				be.Extra = append(be.Extra, exportFilter(s.b, in)...)
			}
		case KindContainer:
			if c := &s.chests[e.slot]; c.bar != c.n {
				be.Extra = append(be.Extra, blueprint.Field{Key: "bar", Value: []byte(strconv.Itoa(int(c.bar)))})
			}
		case KindInfinityChest:
			if inf := s.chests[e.slot].inf; inf != nil {
				bi := &blueprint.InfinitySettings{RemoveUnfilteredItems: inf.RemoveUnfiltered}
				for k, f := range inf.Filters {
					bi.Filters = append(bi.Filters, blueprint.InfinityFilter{Index: k + 1, Name: f.Item, Count: int64(f.Count), Mode: f.Mode})
				}
				be.Infinity = bi
			}
		}
		if m, _ := s.moduleSlots(id); m != nil {
			be.Items = exportModules(s.b, e.kind, m)
		}
		bp.Entities = append(bp.Entities, be)
	}
	return bp, nil
}

// moduleInventory is the game's inventory index of a kind's module slots, by
// which a 2.0 blueprint's item requests say where each module goes
// (defines.inventory in Factorio 2.0: beacon_modules 1, mining_drill_modules 2
// — pumpjacks are mining drills —, lab_modules 3, crafter_modules 4 for
// assembling machines, furnaces, chemical plants, refineries and the silo).
func moduleInventory(k Kind) int {
	switch k {
	case KindBeacon:
		return 1
	case KindDrill, KindPumpjack:
		return 2
	case KindLab:
		return 3
	}
	return 4
}

// exportModules writes an entity's modules as the item requests a 2.0
// blueprint carries: one request per module type, in slot order, each module
// at its slot.
func exportModules(b *Bundle, k Kind, m *modSlots) []blueprint.ItemRequest {
	var out []blueprint.ItemRequest
	for slot, v := range m {
		if v == 0 {
			continue
		}
		name := b.ItemName(v)
		i := slices.IndexFunc(out, func(q blueprint.ItemRequest) bool { return q.Name == name })
		if i < 0 {
			i = len(out)
			out = append(out, blueprint.ItemRequest{Name: name})
		}
		out[i].Count++
		out[i].Slots = append(out[i].Slots, blueprint.InventorySlot{Inventory: moduleInventory(k), Stack: slot, Count: 1})
	}
	return out
}

// exportFilter writes an inserter's filter as the game does.
func exportFilter(b *Bundle, in *inserter) blueprint.Fields {
	type filter struct {
		Index int    `json:"index"`
		Name  string `json:"name"`
	}
	list := []filter{}
	for k, f := range in.filter {
		if f != 0 {
			list = append(list, filter{Index: k + 1, Name: b.ItemName(f)})
		}
	}
	raw, _ := json.Marshal(list)
	out := blueprint.Fields{{Key: "use_filters", Value: []byte("true")}, {Key: "filters", Value: raw}}
	if in.fmode == filterBlacklist {
		out = append(out, blueprint.Field{Key: "filter_mode", Value: []byte(`"blacklist"`)})
	}
	return out
}

// byQuality reports whether a 2.0 item filter asks for more than the item: a
// quality other than normal, or a comparison other than equality. Every item
// in the simulation is of normal quality, so such a filter would match other
// items than in the game.
func byQuality(quality, comparator string) bool {
	return quality != "" && quality != "normal" || comparator != "" && comparator != "="
}

// pasteFilter reads an inserter's filter (use_filters on: filters, filter_mode) into
// sp. What the simulation cannot honour (a filter by quality) goes to unknown.
func pasteFilter(b *Bundle, be *blueprint.Entity, sp *BuildSpec, unknown map[string]int) error {
	sp.FilterMode = "whitelist"
	if v, ok := be.Extra.Get("filter_mode"); ok {
		var mode string
		if err := json.Unmarshal(v, &mode); err != nil || mode != "whitelist" && mode != "blacklist" {
			return fmt.Errorf("entity %d (%s): filter_mode %.20q is not \"whitelist\" or \"blacklist\"", be.Number, be.Name, v)
		}
		sp.FilterMode = mode
	}
	v, ok := be.Extra.Get("filters")
	if !ok {
		return nil // on with no filters: a whitelist of nothing, as in the game
	}
	var list []struct {
		Index      int    `json:"index"`
		Name       string `json:"name"`
		Quality    string `json:"quality"`
		Comparator string `json:"comparator"`
	}
	if err := json.Unmarshal(v, &list); err != nil {
		return fmt.Errorf("entity %d (%s): filters: %v", be.Number, be.Name, err)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Index < list[j].Index })
	for _, f := range list {
		switch {
		case f.Index < 1 || f.Index > MaxInserterFilters:
			return fmt.Errorf("entity %d (%s): filter index %d is not between 1 and %d", be.Number, be.Name, f.Index, MaxInserterFilters)
		case f.Name == "" || byQuality(f.Quality, f.Comparator):
			unknown["filters by quality on "+be.Name+" (quality is not simulated)"]++
		case b.RefusedItems[f.Name] != "":
			unknown["item "+f.Name+" ("+b.RefusedItems[f.Name]+")"]++
		default:
			if _, known := b.ItemID(f.Name); !known {
				unknown["item "+f.Name]++
				continue
			}
			for len(sp.Filters) < f.Index {
				sp.Filters = append(sp.Filters, "")
			}
			sp.Filters[f.Index-1] = f.Name
		}
	}
	return nil
}

func prioName(p int8) string {
	switch p {
	case 0:
		return "left"
	case 1:
		return "right"
	}
	return ""
}

// entitiesIn lists, in ID order, the entities whose top-left tile lies in a rectangle.
func (s *Surface) entitiesIn(x0, y0, x1, y1 int32) []EntityID {
	var ids []EntityID
	for id := 1; id < len(s.ents); id++ {
		e := &s.ents[id]
		if e.alive() && e.x >= x0 && e.x <= x1 && e.y >= y0 && e.y <= y1 {
			ids = append(ids, EntityID(id))
		}
	}
	return ids
}

// Paste pastes a blueprint string directly (as the shard, without a character).
func (s *Surface) Paste(str string, dx, dy int32, index int, flags uint32) (PasteResult, error) {
	return s.pasteString(nil, str, dx, dy, index, flags&PasteSkipUnknown != 0)
}
