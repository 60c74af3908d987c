package sim

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/starlane/starlane/sim/blueprint"
	"github.com/starlane/starlane/sim/fluid"
	"github.com/starlane/starlane/sim/module"
)

// Units used everywhere in the simulation. All are integers.
const (
	// TicksPerSecond is the game's fixed update rate.
	TicksPerSecond = 60
	// TileUnits is the number of fixed-point position units in one tile (Factorio's MapPosition).
	TileUnits = 256
	// MapRadius bounds the map: entities and the character stay within this many
	// tiles of the origin on each axis (tiles -MapRadius to MapRadius-1), the game's
	// own limit. Fixed-point positions of the whole map then fit in an int32.
	MapRadius = 1_000_000
	// WorkPerSecond is the number of work units in one second of recipe or mining time at
	// speed 1: progress per tick is the machine speed in hundredths (speed 1 = 100/tick).
	WorkPerSecond = 6000
	// SpeedOne is crafting/mining/research speed 1.0 in hundredths.
	SpeedOne = 100
	// EnergyPerJoule converts joules to energy units: one unit is 1/60 J, so a power of P watts
	// is exactly P energy units per tick.
	EnergyPerJoule = TicksPerSecond
)

// MapExtent says where the map is, for messages about what lies outside it.
var MapExtent = fmt.Sprintf("tiles %d to %d on each axis", -MapRadius, MapRadius-1)

// Kind is what an entity does in the simulation.
type Kind uint8

// Entity kinds.
const (
	KindNone Kind = iota
	KindBelt
	KindUnderground
	KindSplitter
	KindInserter
	KindAssembler
	KindFurnace
	KindDrill
	KindLab
	KindContainer
	KindInfinityChest
	KindPole
	KindSolar
	KindAccumulator
	KindEnergyInterface
	KindBridgeExport
	KindBridgeImport
	KindBeacon
	KindPipe // pipes, pipes-to-ground and storage tanks
	KindPump
	KindOffshorePump
	KindBoiler
	KindSteamEngine
	KindPumpjack
	KindRocketSilo
	numKinds
)

var kindNames = [...]string{
	KindNone: "none", KindBelt: "transport-belt", KindUnderground: "underground-belt",
	KindSplitter: "splitter", KindInserter: "inserter", KindAssembler: "assembling-machine",
	KindFurnace: "furnace", KindDrill: "mining-drill", KindLab: "lab", KindContainer: "container",
	KindInfinityChest: "infinity-container", KindPole: "electric-pole", KindSolar: "solar-panel",
	KindAccumulator: "accumulator", KindEnergyInterface: "energy-interface",
	KindBridgeExport: "bridge-export", KindBridgeImport: "bridge-import", KindBeacon: "beacon",
	KindPipe: "pipe", KindPump: "pump", KindOffshorePump: "offshore-pump", KindBoiler: "boiler",
	KindSteamEngine: "steam-engine", KindPumpjack: "pumpjack", KindRocketSilo: "rocket-silo",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

func kindByName(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s && i != int(KindNone) {
			return Kind(i), true
		}
	}
	return KindNone, false
}

// ItemAmount is a count of one item, by name, as prototypes write it.
type ItemAmount struct {
	Name   string `json:"name"`
	Amount int32  `json:"amount"`
}

// ItemProto is an item prototype.
type ItemProto struct {
	Name      string `json:"name"`
	StackSize int32  `json:"stack_size"`
	// FuelValue is the chemical energy of one item in energy units (0: not a fuel).
	FuelValue int64 `json:"fuel_value,omitempty"`
	// PlaceResult is the entity this item builds, if any.
	PlaceResult string `json:"place_result,omitempty"`
	// MiningWork is the work to mine one unit when the item is a resource (0: not one).
	MiningWork int64 `json:"mining_work,omitempty"`
	// Module is set when the item is a module.
	Module *ModuleProto `json:"module,omitempty"`
	// Fluid marks a fluid: it lives in fluid boxes, never in inventories. A
	// fluid resource (crude oil) gives Yield per mining cycle at Normal amount.
	Fluid  bool         `json:"fluid,omitempty"`
	Normal int64        `json:"normal,omitempty"`
	Yield  fluid.Amount `json:"yield,omitempty"`
	// LaunchItem and LaunchCount are what a rocket launched with this item gives.
	LaunchItem  string `json:"launch_item,omitempty"`
	LaunchCount int32  `json:"launch_count,omitempty"`
}

// RecipeProto is a recipe prototype.
type RecipeProto struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	// Work is the recipe time in work units (seconds × WorkPerSecond).
	Work        int64        `json:"work"`
	Ingredients []ItemAmount `json:"ingredients"`
	Results     []ItemAmount `json:"results"`
	// FluidIn and FluidOut are the recipe's fluids, with the machine box each uses.
	FluidIn  []FluidAmount `json:"fluid_in,omitempty"`
	FluidOut []FluidAmount `json:"fluid_out,omitempty"`
	// Productivity says whether productivity modules act on this recipe (the
	// game's allow_productivity: intermediates only).
	Productivity bool `json:"allow_productivity,omitempty"`
}

// TechProto is a technology prototype.
type TechProto struct {
	Name        string       `json:"name"`
	Count       int64        `json:"count"`
	Work        int64        `json:"work"` // time per unit in work units
	Ingredients []ItemAmount `json:"ingredients"`
	// BulkBonus and InserterBonus raise hand sizes when researched.
	BulkBonus     int32 `json:"bulk_inserter_capacity_bonus,omitempty"`
	InserterBonus int32 `json:"inserter_capacity_bonus,omitempty"`
}

// Vec is a vector in fixed-point tile units (1/256 tile), relative to an entity's centre,
// for the entity facing north.
type Vec struct{ X, Y int32 }

// EntityProto is an entity prototype with the numbers the simulation uses.
type EntityProto struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// W and H are the footprint in tiles facing north.
	W int32 `json:"w"`
	H int32 `json:"h"`

	// Electric consumers: usage while working and drain while idle, in watts.
	EnergyUsage int64 `json:"energy_usage,omitempty"`
	Drain       int64 `json:"drain,omitempty"`
	Burner      bool  `json:"burner,omitempty"`

	// Belts: speed in position units per tick; undergrounds: max distance in tiles.
	BeltSpeed   int32 `json:"belt_speed,omitempty"`
	MaxDistance int32 `json:"max_distance,omitempty"`

	// Crafting machines, drills, labs: speed in hundredths.
	Speed      int32    `json:"speed,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// Drills: mining area side in tiles and where the output goes.
	MiningArea int32 `json:"mining_area,omitempty"`
	DropVector Vec   `json:"drop_vector,omitempty"`
	// Labs: which science packs they accept.
	LabInputs []string `json:"lab_inputs,omitempty"`

	// Inserters.
	Rotation  int32 `json:"rotation,omitempty"`  // thousandths of a turn per tick
	Extension int32 `json:"extension,omitempty"` // thousandths of a tile per tick
	Pickup    Vec   `json:"pickup,omitempty"`
	Insert    Vec   `json:"insert,omitempty"`
	Bulk      bool  `json:"bulk,omitempty"`
	// EnergyPerMove and EnergyPerRotation are joules per tile and per turn.
	EnergyPerMove     int64 `json:"energy_per_move,omitempty"`
	EnergyPerRotation int64 `json:"energy_per_rotation,omitempty"`

	// Containers.
	Slots int32 `json:"slots,omitempty"`

	// Poles: reach and supply distance in position units.
	WireReach    int32 `json:"wire_reach,omitempty"`
	SupplyRadius int32 `json:"supply_radius,omitempty"`

	// Power producers and storage, in watts and energy units.
	Production int64 `json:"production,omitempty"`
	Buffer     int64 `json:"buffer,omitempty"`
	FlowIn     int64 `json:"flow_in,omitempty"`
	FlowOut    int64 `json:"flow_out,omitempty"`

	// Module receivers: slots, the effects they accept and whether beacons reach them.
	ModuleSlots    int32          `json:"module_slots,omitempty"`
	AllowedEffects module.Allowed `json:"allowed_effects,omitempty"`
	BeaconTarget   bool           `json:"beacon_target,omitempty"`
	// Beacons: how far beyond their footprint they reach (tiles), distribution
	// effectivity in percent and the 2.0 profile in ten-thousandths.
	BeaconReach  int32   `json:"beacon_reach,omitempty"`
	Distribution int32   `json:"distribution,omitempty"`
	Profile      []int32 `json:"profile,omitempty"`

	// Fluid boxes; an assembling machine has them only with a fluid recipe.
	Boxes                []FluidBoxProto `json:"fluid_boxes,omitempty"`
	BoxesNeedFluidRecipe bool            `json:"boxes_need_fluid_recipe,omitempty"`
	// Pumps, offshore pumps: fluid moved per tick; steam engines: steam used per
	// tick at full power (Production is then that power). FluidMade is what an
	// offshore pump pumps.
	PumpRate  fluid.Amount `json:"pump_rate,omitempty"`
	FluidMade string       `json:"fluid_made,omitempty"`

	// Rocket silos: the fixed recipe, parts per rocket, launch time and the power
	// drawn while launching.
	FixedRecipe string `json:"fixed_recipe,omitempty"`
	RocketParts int32  `json:"rocket_parts,omitempty"`
	LaunchTicks int32  `json:"launch_ticks,omitempty"`
	ActiveUsage int64  `json:"active_usage,omitempty"`
}

// Bundle is a versioned set of prototypes. Its content hash is a surface's "mod set":
// two peers can only simulate a surface together when their bundle hashes match.
type Bundle struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	DayTicks int64  `json:"day_ticks"`
	// CharacterSlots is the size of a player's main inventory.
	CharacterSlots int32 `json:"character_slots"`
	// IngredientTicks is how many ticks of crafting an inserter keeps a machine stocked for.
	IngredientTicks int32         `json:"ingredient_ticks"`
	Items           []ItemProto   `json:"items"`
	Recipes         []RecipeProto `json:"recipes"`
	Entities        []EntityProto `json:"entities"`
	Techs           []TechProto   `json:"technologies"`
	// Unsupported maps known game entities this bundle cannot simulate to the reason.
	Unsupported map[string]string `json:"unsupported"`
	// RefusedItems maps known game items the bundle cannot simulate (quality
	// modules) to the reason.
	RefusedItems map[string]string `json:"refused_items,omitempty"`
	// ModuleLimits bound a receiver's summed module effects.
	ModuleLimits module.Limits `json:"module_limits"`

	hash      string
	itemIdx   map[string]ItemID
	recipeIdx map[string]int
	entIdx    map[string]int
	techIdx   map[string]int
	// placer maps an entity prototype to the item that builds it.
	placer []ItemID
	// Item IDs of recipe ingredients and results, tech ingredients and lab inputs, and the
	// smelting recipe per furnace prototype and input item (-1 none).
	ingIDs     [][]ItemID
	resIDs     [][]ItemID
	techIngIDs [][]ItemID
	labIn      [][]ItemID
	smelt      [][]int32
}

// ItemID indexes Bundle.Items plus one: 0 is "no item".
type ItemID uint16

// Hash returns the bundle's content hash (hex SHA-256 of its canonical JSON).
func (b *Bundle) Hash() string { return b.hash }

// ShortHash returns the first 12 hex digits of the content hash, for messages.
func (b *Bundle) ShortHash() string { return b.hash[:12] }

// Item returns the prototype of an item ID.
func (b *Bundle) Item(id ItemID) *ItemProto { return &b.Items[id-1] }

// ItemName returns an item's name, or "" for no item.
func (b *Bundle) ItemName(id ItemID) string {
	if id == 0 || int(id) > len(b.Items) {
		return ""
	}
	return b.Items[id-1].Name
}

// ItemID looks an item up by name.
func (b *Bundle) ItemID(name string) (ItemID, bool) {
	id, ok := b.itemIdx[name]
	return id, ok
}

// Recipe looks a recipe up by name.
func (b *Bundle) Recipe(name string) (int, bool) {
	i, ok := b.recipeIdx[name]
	return i, ok
}

// Entity looks an entity prototype up by name.
func (b *Bundle) Entity(name string) (int, bool) {
	i, ok := b.entIdx[name]
	return i, ok
}

// Tech looks a technology up by name.
func (b *Bundle) Tech(name string) (int, bool) {
	i, ok := b.techIdx[name]
	return i, ok
}

// Has reports whether the bundle can simulate an entity of this name.
func (b *Bundle) Has(name string) bool {
	_, ok := b.entIdx[name]
	return ok
}

// UnsupportedReason says why an entity name cannot be simulated with this bundle.
func (b *Bundle) UnsupportedReason(name string) string {
	if b.Has(name) {
		return ""
	}
	return b.unknownReason(blueprint.RenameEntity, name)
}

// UnknownReason says why a paste refuses, or leaves out, what a key of its
// unknown counts (PasteResult.Skipped) names: an entity's name, "recipe X" or
// "item X". Keys that carry their reason in parentheses (settings, wires,
// quality) give "".
func (b *Bundle) UnknownReason(key string) string {
	if strings.HasSuffix(key, ")") && strings.Contains(key, " (") {
		return ""
	}
	return b.unknownReason(unknownKind(key))
}

// unknownReason words why a prototype the bundle lacks is not simulated: the
// bundle's own reason, Space Age's, a base-game prototype Starlane leaves out,
// a blueprint parameter, or no Factorio prototype at all.
func (b *Bundle) unknownReason(kind blueprint.RenameKind, name string) string {
	if kind == blueprint.RenameEntity {
		if r, ok := b.Unsupported[name]; ok {
			return r
		}
	}
	if r := spaceAgeReason(kind, name); r != "" {
		return r
	}
	if n, ok := strings.CutPrefix(name, "parameter-"); ok && kind != blueprint.RenameEntity && n != "" && strings.Trim(n, "0123456789") == "" {
		return "a blueprint parameter, which the game asks a value for when the blueprint is placed; Starlane pastes no parameters"
	}
	if blueprint.BaseGame(kind, name) {
		return "a base-game " + string(kind) + " Starlane does not simulate"
	}
	if blueprint.RemovedIn20(kind, name) {
		return "a Factorio 1.1 " + string(kind) + " that 2.0 removed"
	}
	return "no Factorio 2.0 " + string(kind) + " has this name: a mod's, or misspelt"
}

// spaceAgeReason says why a prototype Space Age adds is not simulated, or "".
func spaceAgeReason(kind blueprint.RenameKind, name string) string {
	if blueprint.SpaceAge(kind, name) {
		return "a Space Age " + string(kind) + "; Starlane simulates the base game without Space Age"
	}
	return ""
}

// index builds lookup tables and the content hash. The canonical form sorts every list
// by name so that the hash does not depend on how the bundle was written.
// MaxStackSize bounds an item's stack size. Item counts are 32-bit: a stack of
// 2^31-1 overflowed the first time two stacks were added, so a hot standby's
// state drifted from its primary's and never synced. The game's own items stack
// to at most 500 and "stack size" mods to some tens of thousands.
const MaxStackSize = 1_000_000

func (b *Bundle) index() error {
	sort.Slice(b.Items, func(i, j int) bool { return b.Items[i].Name < b.Items[j].Name })
	sort.Slice(b.Recipes, func(i, j int) bool { return b.Recipes[i].Name < b.Recipes[j].Name })
	sort.Slice(b.Entities, func(i, j int) bool { return b.Entities[i].Name < b.Entities[j].Name })
	sort.Slice(b.Techs, func(i, j int) bool { return b.Techs[i].Name < b.Techs[j].Name })
	if len(b.Items) >= math.MaxUint16 {
		return fmt.Errorf("bundle has %d items, at most %d are supported", len(b.Items), math.MaxUint16-1)
	}
	b.itemIdx = make(map[string]ItemID, len(b.Items))
	for i, it := range b.Items {
		if it.StackSize <= 0 || it.StackSize > MaxStackSize {
			return fmt.Errorf("item %s: stack size %d is out of range: 1 to %d", it.Name, it.StackSize, MaxStackSize)
		}
		if _, dup := b.itemIdx[it.Name]; dup {
			return fmt.Errorf("item %s defined twice", it.Name)
		}
		b.itemIdx[it.Name] = ItemID(i + 1)
	}
	b.recipeIdx = make(map[string]int, len(b.Recipes))
	for i, r := range b.Recipes {
		if r.Work <= 0 {
			return fmt.Errorf("recipe %s: time must be positive", r.Name)
		}
		if len(r.Ingredients) > maxIngredients || len(r.Results) > maxResults {
			return fmt.Errorf("recipe %s: %d ingredients and %d results, at most %d and %d are supported",
				r.Name, len(r.Ingredients), len(r.Results), maxIngredients, maxResults)
		}
		for _, ia := range append(append([]ItemAmount{}, r.Ingredients...), r.Results...) {
			if _, ok := b.itemIdx[ia.Name]; !ok {
				return fmt.Errorf("recipe %s uses unknown item %s", r.Name, ia.Name)
			}
			if ia.Amount <= 0 {
				return fmt.Errorf("recipe %s: amount of %s must be positive", r.Name, ia.Name)
			}
		}
		for k := range r.FluidIn {
			id, ok := b.itemIdx[r.FluidIn[k].Name]
			if !ok || !b.Items[id-1].Fluid {
				return fmt.Errorf("recipe %s uses unknown fluid %s", r.Name, r.FluidIn[k].Name)
			}
			b.Recipes[i].FluidIn[k].id = id
		}
		for k := range r.FluidOut {
			id, ok := b.itemIdx[r.FluidOut[k].Name]
			if !ok || !b.Items[id-1].Fluid {
				return fmt.Errorf("recipe %s makes unknown fluid %s", r.Name, r.FluidOut[k].Name)
			}
			b.Recipes[i].FluidOut[k].id = id
		}
		if len(r.FluidIn) > maxFluidBoxes || len(r.FluidOut) > 3 {
			return fmt.Errorf("recipe %s: too many fluids", r.Name)
		}
		b.recipeIdx[r.Name] = i
	}
	b.entIdx = make(map[string]int, len(b.Entities))
	b.placer = make([]ItemID, len(b.Entities))
	for i, e := range b.Entities {
		if e.W <= 0 || e.H <= 0 || e.W > 32 || e.H > 32 {
			return fmt.Errorf("entity %s: size %dx%d out of range", e.Name, e.W, e.H)
		}
		if e.Kind == KindNone || e.Kind >= numKinds {
			return fmt.Errorf("entity %s: unknown kind %d", e.Name, e.Kind)
		}
		if e.ModuleSlots < 0 || e.ModuleSlots > maxModules {
			return fmt.Errorf("entity %s: %d module slots, at most %d are supported", e.Name, e.ModuleSlots, maxModules)
		}
		if e.Kind == KindBeacon && (len(e.Profile) == 0 || e.Distribution <= 0) {
			return fmt.Errorf("beacon %s: needs a profile and a distribution effectivity", e.Name)
		}
		b.entIdx[e.Name] = i
		if id, ok := b.itemIdx[e.Name]; ok {
			b.placer[i] = id
			b.Items[id-1].PlaceResult = e.Name
		}
	}
	b.techIdx = make(map[string]int, len(b.Techs))
	b.techIngIDs = make([][]ItemID, len(b.Techs))
	for i, t := range b.Techs {
		b.techIdx[t.Name] = i
		for _, ia := range t.Ingredients {
			id, ok := b.itemIdx[ia.Name]
			if !ok {
				return fmt.Errorf("technology %s uses unknown item %s", t.Name, ia.Name)
			}
			b.techIngIDs[i] = append(b.techIngIDs[i], id)
		}
		if len(t.Ingredients) > maxTechPacks {
			return fmt.Errorf("technology %s has %d ingredients, at most %d are supported", t.Name, len(t.Ingredients), maxTechPacks)
		}
	}
	b.ingIDs = make([][]ItemID, len(b.Recipes))
	b.resIDs = make([][]ItemID, len(b.Recipes))
	for i, r := range b.Recipes {
		for _, ia := range r.Ingredients {
			b.ingIDs[i] = append(b.ingIDs[i], b.itemIdx[ia.Name])
		}
		for _, ia := range r.Results {
			b.resIDs[i] = append(b.resIDs[i], b.itemIdx[ia.Name])
		}
	}
	b.labIn = make([][]ItemID, len(b.Entities))
	b.smelt = make([][]int32, len(b.Entities))
	for i, e := range b.Entities {
		for _, name := range e.LabInputs {
			// Packs the bundle has no item for cannot reach a lab; keep slots aligned.
			b.labIn[i] = append(b.labIn[i], b.itemIdx[name])
		}
		if len(e.LabInputs) > 8 {
			return fmt.Errorf("lab %s has %d inputs, at most 8 are supported", e.Name, len(e.LabInputs))
		}
		if e.Kind != KindFurnace {
			continue
		}
		b.smelt[i] = make([]int32, len(b.Items)+1)
		for j := range b.smelt[i] {
			b.smelt[i][j] = -1
		}
		for ri, r := range b.Recipes {
			if len(r.Ingredients) != 1 || len(r.FluidIn) > 0 || len(r.FluidOut) > 0 {
				continue
			}
			for _, c := range e.Categories {
				if c == r.Category {
					b.smelt[i][b.itemIdx[r.Ingredients[0].Name]] = int32(ri)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(b); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	b.hash = hex.EncodeToString(sum[:])
	return nil
}

// LoadBundle reads a bundle in Starlane's canonical JSON form (as WriteJSON writes it).
func LoadBundle(r io.Reader) (*Bundle, error) {
	var b Bundle
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("read prototype bundle: %w", jsonProblem(err))
	}
	if err := b.index(); err != nil {
		return nil, fmt.Errorf("prototype bundle %s: %w", b.Name, err)
	}
	return &b, nil
}

// jsonProblem words a JSON decoding error for the person who wrote the file:
// where it is and what is wrong, not the Go type it was to fill.
func jsonProblem(err error) error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		want := "a " + typ.Type.Kind().String()
		switch typ.Type.Kind() {
		case reflect.Int32:
			want = "a whole number from -2147483648 to 2147483647"
		case reflect.Int64, reflect.Int:
			want = "a whole number"
		case reflect.Uint32:
			want = "a whole number from 0 to 4294967295"
		case reflect.Uint8:
			want = "a whole number from 0 to 255"
		case reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "true or false"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Errorf("field %s (byte %d): %s is not %s", field, typ.Offset, typ.Value, want)
	case errors.As(err, &syn):
		return fmt.Errorf("not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("the file ends before the bundle does (is it cut short?)")
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s: a bundle has only the fields `starlane bundle download vanilla` shows", msg)
	}
	return err
}

// CanonicalJSON returns the bytes the content hash is the sha256 of: a bundle
// stored in this form is addressed by its Hash.
func (b *Bundle) CanonicalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON writes the bundle in its canonical JSON form.
func (b *Bundle) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(b)
}

//go:embed data/factorio-2.0.77.json data/starlane-extras.json data/modules.json data/fluids.json data/science.json
var bundleData embed.FS

var (
	defaultBundleOnce sync.Once
	defaultBundle     *Bundle
	defaultBundleErr  error
)

// DefaultBundle returns the built-in vanilla bundle: Factorio 2.0.77 numbers from the
// facts file plus Starlane's own entities. It is built once and shared (read-only).
func DefaultBundle() *Bundle {
	defaultBundleOnce.Do(func() {
		facts, err := bundleData.ReadFile("data/factorio-2.0.77.json")
		if err != nil {
			defaultBundleErr = err
			return
		}
		extras, err := bundleData.ReadFile("data/starlane-extras.json")
		if err != nil {
			defaultBundleErr = err
			return
		}
		modules, err := bundleData.ReadFile("data/modules.json")
		if err != nil {
			defaultBundleErr = err
			return
		}
		fluids, err := bundleData.ReadFile("data/fluids.json")
		if err != nil {
			defaultBundleErr = err
			return
		}
		science, err := bundleData.ReadFile("data/science.json")
		if err != nil {
			defaultBundleErr = err
			return
		}
		defaultBundle, defaultBundleErr = BundleFromData(facts, extras, fluids, science, modules)
	})
	if defaultBundleErr != nil {
		// The embedded data is part of the binary; failing here is a build defect.
		panic("sim: embedded prototype bundle is invalid: " + defaultBundleErr.Error())
	}
	return defaultBundle
}

// maxIngredients and maxResults bound recipe shapes so machine state stays flat.
const (
	maxIngredients = 6
	// maxTechPacks bounds a technology's packs (a lab has at most 8 inputs).
	maxTechPacks = 8
	maxResults   = 4
)

// BundleFromFacts converts the Factorio facts file (read from the game's prototype data)
// and Starlane's extras into a bundle, without modules and beacons.
func BundleFromFacts(factsJSON, extrasJSON []byte) (*Bundle, error) {
	return BundleFromData(factsJSON, extrasJSON, nil, nil, nil)
}

// BundleFromData is BundleFromFacts plus the fluid data (data/fluids.json), the
// science and rocket data (data/science.json, which needs the fluid data) and the
// module and beacon data (data/modules.json); nil leaves one out.
func BundleFromData(factsJSON, extrasJSON, fluidsJSON, scienceJSON, modulesJSON []byte) (*Bundle, error) {
	var f factsFile
	if err := json.Unmarshal(factsJSON, &f); err != nil {
		return nil, fmt.Errorf("facts file: %w", err)
	}
	var x extrasFile
	if err := json.Unmarshal(extrasJSON, &x); err != nil {
		return nil, fmt.Errorf("extras file: %w", err)
	}
	b := &Bundle{
		Name:            "vanilla",
		Version:         f.Source.Version,
		DayTicks:        x.Defaults.DayTicks,
		CharacterSlots:  x.Defaults.CharacterSlots,
		IngredientTicks: x.Defaults.IngredientTicks,
		Unsupported:     x.Unsupported,
	}
	fuel := map[string]int64{}
	for name, fu := range f.Power.Fuel {
		j, err := parseEnergy(fu.FuelValue, "J")
		if err != nil {
			return nil, fmt.Errorf("fuel %s: %w", name, err)
		}
		fuel[name] = j * EnergyPerJoule
	}
	addItem := func(name string, stack int32) {
		b.Items = append(b.Items, ItemProto{Name: name, StackSize: stack, FuelValue: fuel[name]})
	}
	for name, it := range f.Items {
		addItem(name, it.StackSize)
	}
	var ents factsEntities
	if err := json.Unmarshal(f.Entities, &ents); err != nil {
		return nil, fmt.Errorf("entities: %w", err)
	}
	for name, it := range x.Items {
		if _, dup := f.Items[name]; dup {
			return nil, fmt.Errorf("extras redefine item %s from the facts file", name)
		}
		addItem(name, it.StackSize)
	}
	for name, r := range f.Recipes {
		rp := RecipeProto{Name: name, Category: r.Category, Work: secondsToWork(r.EnergyRequired)}
		fluids := false
		for _, in := range r.Ingredients {
			if in.Type == "fluid" {
				fluids = true
				continue
			}
			rp.Ingredients = append(rp.Ingredients, ItemAmount{in.Name, in.Amount})
		}
		for _, out := range r.Results {
			rp.Results = append(rp.Results, ItemAmount{out.Name, out.Amount})
		}
		if fluids {
			continue // recipes with fluids come from the fluid data, with their boxes
		}
		b.Recipes = append(b.Recipes, rp)
	}
	for i := range b.Items {
		if r, ok := ents.Resources[b.Items[i].Name]; ok {
			b.Items[i].MiningWork = secondsToWork(r.MiningTime)
		}
	}
	// Every item named by a recipe must exist.
	known := map[string]bool{}
	for _, it := range b.Items {
		known[it.Name] = true
	}
	for _, r := range b.Recipes {
		for _, ia := range append(append([]ItemAmount{}, r.Ingredients...), r.Results...) {
			if !known[ia.Name] {
				return nil, fmt.Errorf("recipe %s uses item %s that has no stack size", r.Name, ia.Name)
			}
		}
	}
	if err := addFactsTechs(b, &f); err != nil {
		return nil, err
	}
	if err := addFactsEntities(b, &f, &x); err != nil {
		return nil, err
	}
	if fluidsJSON != nil {
		if err := addFluids(b, fluidsJSON, &f); err != nil {
			return nil, fmt.Errorf("fluids file: %w", err)
		}
	}
	if scienceJSON != nil {
		if fluidsJSON == nil {
			return nil, fmt.Errorf("science file: needs the fluid data")
		}
		if err := addScience(b, scienceJSON); err != nil {
			return nil, fmt.Errorf("science file: %w", err)
		}
	}
	if modulesJSON != nil {
		if err := addModules(b, modulesJSON, f.Sizes["beacon"]); err != nil {
			return nil, fmt.Errorf("modules file: %w", err)
		}
	}
	if err := b.index(); err != nil {
		return nil, err
	}
	return b, nil
}

func addFactsTechs(b *Bundle, f *factsFile) error {
	add := func(name string, t factsTech) {
		if t.Count == nil || t.Time == nil {
			return // trigger technologies cost no science
		}
		tp := TechProto{Name: name, Count: *t.Count, Work: secondsToWork(*t.Time), BulkBonus: t.BulkBonus}
		for _, in := range t.Ingredients {
			tp.Ingredients = append(tp.Ingredients, ItemAmount{in.Name, in.Amount})
		}
		b.Techs = append(b.Techs, tp)
	}
	for name, raw := range f.Technologies {
		if strings.HasPrefix(name, "_") {
			if name == "_context_red_only" {
				var group map[string]factsTech
				if err := json.Unmarshal(raw, &group); err != nil {
					return fmt.Errorf("technologies.%s: %w", name, err)
				}
				for n, t := range group {
					add(n, t)
				}
			}
			continue
		}
		var t factsTech
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("technologies.%s: %w", name, err)
		}
		add(name, t)
	}
	return nil
}

func addFactsEntities(b *Bundle, f *factsFile, x *extrasFile) error {
	size := func(name, sizeKey string) (int32, int32, error) {
		s, ok := f.Sizes[sizeKey]
		if !ok {
			return 0, 0, fmt.Errorf("entity %s: no size for %s in the facts file", name, sizeKey)
		}
		var sz factsSize
		if err := json.Unmarshal(s, &sz); err != nil {
			return 0, 0, fmt.Errorf("sizes.%s: %w", sizeKey, err)
		}
		if sz.TileW != 0 && sz.TileH != 0 {
			return sz.TileW, sz.TileH, nil
		}
		return sz.Tiles[0], sz.Tiles[1], nil
	}
	add := func(e EntityProto, sizeKey string) error {
		w, h, err := size(e.Name, sizeKey)
		if err != nil {
			return err
		}
		e.W, e.H = w, h
		b.Entities = append(b.Entities, e)
		return nil
	}
	var ents factsEntities
	if err := json.Unmarshal(f.Entities, &ents); err != nil {
		return fmt.Errorf("entities: %w", err)
	}
	for name, bp := range ents.Belts {
		if err := add(EntityProto{Name: name, Kind: KindBelt, BeltSpeed: beltUnits(bp.Speed)}, "transport-belt"); err != nil {
			return err
		}
	}
	for name, ug := range ents.Undergrounds {
		if err := add(EntityProto{Name: name, Kind: KindUnderground, BeltSpeed: beltUnits(ug.Speed), MaxDistance: ug.MaxDistance}, "underground-belt"); err != nil {
			return err
		}
	}
	for name, sp := range ents.Splitters {
		if err := add(EntityProto{Name: name, Kind: KindSplitter, BeltSpeed: beltUnits(sp.Speed)}, "splitter"); err != nil {
			return err
		}
	}
	for name, raw := range ents.Inserters {
		if strings.HasPrefix(name, "_") || name == "hand_stack_size_research" {
			continue
		}
		var in factsInserter
		if err := json.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("entities.inserter.%s: %w", name, err)
		}
		e := EntityProto{
			Name: name, Kind: KindInserter,
			Rotation:  int32(math.Round(in.Rotation * 1000)),
			Extension: int32(math.Round(in.Extension * 1000)),
			Pickup:    vec(in.Pickup), Insert: vec(in.Insert), Bulk: in.Bulk,
			Burner: strings.HasPrefix(in.EnergySource, "burner"),
		}
		var err error
		if e.EnergyPerMove, err = parseEnergy(in.EnergyPerMovement, "J"); err != nil {
			return fmt.Errorf("inserter %s: %w", name, err)
		}
		if e.EnergyPerRotation, err = parseEnergy(in.EnergyPerRotation, "J"); err != nil {
			return fmt.Errorf("inserter %s: %w", name, err)
		}
		if in.Drain != nil {
			if e.Drain, err = parseEnergy(*in.Drain, "W"); err != nil {
				return fmt.Errorf("inserter %s: %w", name, err)
			}
		}
		if e.Rotation <= 0 || e.Extension <= 0 {
			return fmt.Errorf("inserter %s: rotation and extension speeds must be positive", name)
		}
		if err := add(e, name); err != nil {
			return err
		}
	}
	crafter := func(name string, kind Kind, c factsCrafter) error {
		usage, err := parseEnergy(c.EnergyUsage, "W")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		e := EntityProto{Name: name, Kind: kind, Speed: speed100(c.CraftingSpeed), EnergyUsage: usage,
			Categories: c.Categories, Burner: strings.HasPrefix(c.EnergySource, "burner")}
		if kind == KindFurnace {
			e.Categories = []string{"smelting"}
		}
		if !e.Burner && x.Defaults.DrainDivisor > 0 {
			// The engine gives crafting machines a drain of 1/30 of their usage when unset.
			e.Drain = usage / x.Defaults.DrainDivisor
		}
		return add(e, name)
	}
	for name, c := range ents.Assemblers {
		if err := crafter(name, KindAssembler, c); err != nil {
			return err
		}
	}
	for name, c := range ents.Furnaces {
		if err := crafter(name, KindFurnace, c); err != nil {
			return err
		}
	}
	for name, raw := range ents.Drills {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var d factsDrill
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("entities.mining-drill.%s: %w", name, err)
		}
		usage, err := parseEnergy(d.EnergyUsage, "W")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		area := int32(math.Ceil(2 * d.Radius))
		e := EntityProto{Name: name, Kind: KindDrill, Speed: speed100(d.MiningSpeed), EnergyUsage: usage,
			MiningArea: area, DropVector: vec(d.DropVector), Burner: strings.HasPrefix(d.EnergySource, "burner")}
		if err := add(e, name); err != nil {
			return err
		}
	}
	for name, l := range ents.Labs {
		usage, err := parseEnergy(l.EnergyUsage, "W")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := add(EntityProto{Name: name, Kind: KindLab, Speed: speed100(l.ResearchingSpeed), EnergyUsage: usage, LabInputs: l.Inputs}, name); err != nil {
			return err
		}
	}
	for name, c := range ents.Containers {
		if err := add(EntityProto{Name: name, Kind: KindContainer, Slots: c.InventorySize}, name); err != nil {
			return err
		}
	}
	// The infinity chest: size and inventory from the facts' sizes table.
	{
		var sz factsSize
		if err := json.Unmarshal(f.Sizes["infinity-chest"], &sz); err != nil {
			return fmt.Errorf("sizes.infinity-chest: %w", err)
		}
		if err := add(EntityProto{Name: "infinity-chest", Kind: KindInfinityChest, Slots: sz.InventorySize}, "infinity-chest"); err != nil {
			return err
		}
	}
	var poles map[string]json.RawMessage
	if err := json.Unmarshal(f.Power.Poles, &poles); err != nil {
		return fmt.Errorf("power.electric-pole: %w", err)
	}
	for name, raw := range poles {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var p factsPole
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("power.electric-pole.%s: %w", name, err)
		}
		e := EntityProto{Name: name, Kind: KindPole, WireReach: fixed(p.WireDistance), SupplyRadius: fixed(p.SupplyDistance)}
		if err := add(e, name); err != nil {
			return err
		}
	}
	solar, err := parseEnergy(f.Power.Solar.Production, "W")
	if err != nil {
		return fmt.Errorf("solar-panel: %w", err)
	}
	if err := add(EntityProto{Name: "solar-panel", Kind: KindSolar, Production: solar}, "solar-panel"); err != nil {
		return err
	}
	acc := EntityProto{Name: "accumulator", Kind: KindAccumulator}
	if acc.Buffer, err = parseEnergy(f.Power.Accumulator.Buffer, "J"); err != nil {
		return fmt.Errorf("accumulator: %w", err)
	}
	acc.Buffer *= EnergyPerJoule
	if acc.FlowIn, err = parseEnergy(f.Power.Accumulator.In, "W"); err != nil {
		return fmt.Errorf("accumulator: %w", err)
	}
	if acc.FlowOut, err = parseEnergy(f.Power.Accumulator.Out, "W"); err != nil {
		return fmt.Errorf("accumulator: %w", err)
	}
	if err := add(acc, "accumulator"); err != nil {
		return err
	}
	for name, xe := range x.Entities {
		k, ok := kindByName(xe.Kind)
		if !ok {
			return fmt.Errorf("extras entity %s: unknown kind %q", name, xe.Kind)
		}
		b.Entities = append(b.Entities, EntityProto{Name: name, Kind: k, W: xe.Tiles[0], H: xe.Tiles[1], Slots: xe.InventorySize})
	}
	return nil
}

func secondsToWork(s float64) int64 { return int64(math.Round(s * WorkPerSecond)) }
func speed100(s float64) int32      { return int32(math.Round(s * SpeedOne)) }
func beltUnits(tilesPerTick float64) int32 {
	return int32(math.Round(tilesPerTick * TileUnits))
}
func fixed(tiles float64) int32 { return int32(math.Round(tiles * TileUnits)) }
func vec(v [2]float64) Vec      { return Vec{fixed(v[0]), fixed(v[1])} }

// parseEnergy reads a game energy string such as "75kW" or "4MJ" and returns its value in
// the base unit (W or J). The unit suffix must match.
func parseEnergy(s, unit string) (int64, error) {
	if !strings.HasSuffix(s, unit) {
		return 0, fmt.Errorf("energy %q: want a value in %s", s, unit)
	}
	num := strings.TrimSuffix(s, unit)
	mult := 1.0
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k':
			mult, num = 1e3, num[:n-1]
		case 'M':
			mult, num = 1e6, num[:n-1]
		case 'G':
			mult, num = 1e9, num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("energy %q: not a number", s)
	}
	return int64(math.Round(v * mult)), nil
}

// The facts file's shape (only the parts the bundle uses).
type factsFile struct {
	Source struct {
		Version string `json:"version"`
	} `json:"source"`
	Recipes map[string]struct {
		Category       string  `json:"category"`
		EnergyRequired float64 `json:"energy_required"`
		Ingredients    []struct {
			Type   string `json:"type"`
			Name   string `json:"name"`
			Amount int32  `json:"amount"`
		} `json:"ingredients"`
		Results []struct {
			Type   string `json:"type"`
			Name   string `json:"name"`
			Amount int32  `json:"amount"`
		} `json:"results"`
	} `json:"recipes"`
	Items map[string]struct {
		StackSize int32 `json:"stack_size"`
	} `json:"items"`
	Entities     json.RawMessage            `json:"entities"`
	Technologies map[string]json.RawMessage `json:"technologies"`
	Sizes        map[string]json.RawMessage `json:"sizes"`
	Power        struct {
		Poles json.RawMessage `json:"electric-pole"`
		Solar struct {
			Production string `json:"production"`
		} `json:"solar-panel"`
		Accumulator struct {
			Buffer string `json:"buffer_capacity"`
			In     string `json:"input_flow_limit"`
			Out    string `json:"output_flow_limit"`
		} `json:"accumulator"`
		Fuel map[string]struct {
			FuelValue string `json:"fuel_value"`
		} `json:"fuel"`
	} `json:"power"`
}

type factsTech struct {
	Count       *int64   `json:"count"`
	Time        *float64 `json:"time"`
	Ingredients []struct {
		Name   string `json:"name"`
		Amount int32  `json:"amount"`
	} `json:"ingredients"`
	BulkBonus int32 `json:"bulk_inserter_capacity_bonus"`
}

type factsSize struct {
	Tiles         [2]int32 `json:"tiles_w_x_h"`
	TileW         int32    `json:"tile_width"`
	TileH         int32    `json:"tile_height"`
	InventorySize int32    `json:"inventory_size"`
}

type factsEntities struct {
	Belts map[string]struct {
		Speed float64 `json:"speed_tiles_per_tick"`
	} `json:"transport-belt"`
	Undergrounds map[string]struct {
		MaxDistance int32   `json:"max_distance"`
		Speed       float64 `json:"speed"`
	} `json:"underground-belt"`
	Splitters map[string]struct {
		Speed float64 `json:"speed"`
	} `json:"splitter"`
	Inserters  map[string]json.RawMessage `json:"inserter"`
	Assemblers map[string]factsCrafter    `json:"assembling-machine"`
	Furnaces   map[string]factsCrafter    `json:"furnace"`
	Drills     map[string]json.RawMessage `json:"mining-drill"`
	Labs       map[string]struct {
		ResearchingSpeed float64  `json:"researching_speed"`
		EnergyUsage      string   `json:"energy_usage"`
		Inputs           []string `json:"inputs"`
	} `json:"lab"`
	Containers map[string]struct {
		InventorySize int32 `json:"inventory_size"`
	} `json:"container"`
	Resources map[string]struct {
		MiningTime float64 `json:"mining_time"`
	} `json:"resource"`
}

type factsInserter struct {
	Rotation          float64    `json:"rotation_speed"`
	Extension         float64    `json:"extension_speed"`
	Pickup            [2]float64 `json:"pickup_position"`
	Insert            [2]float64 `json:"insert_position"`
	EnergyPerMovement string     `json:"energy_per_movement"`
	EnergyPerRotation string     `json:"energy_per_rotation"`
	EnergySource      string     `json:"energy_source"`
	Drain             *string    `json:"drain"`
	Bulk              bool       `json:"bulk"`
}

type factsCrafter struct {
	CraftingSpeed float64  `json:"crafting_speed"`
	EnergyUsage   string   `json:"energy_usage"`
	EnergySource  string   `json:"energy_source"`
	Categories    []string `json:"crafting_categories"`
}

type factsDrill struct {
	MiningSpeed  float64    `json:"mining_speed"`
	Radius       float64    `json:"resource_searching_radius"`
	EnergyUsage  string     `json:"energy_usage"`
	EnergySource string     `json:"energy_source"`
	DropVector   [2]float64 `json:"vector_to_place_result"`
}

type factsPole struct {
	WireDistance   float64 `json:"maximum_wire_distance"`
	SupplyDistance float64 `json:"supply_area_distance"`
}

type extrasFile struct {
	Items map[string]struct {
		StackSize int32 `json:"stack_size"`
	} `json:"items"`
	Entities map[string]struct {
		Kind          string   `json:"kind"`
		Tiles         [2]int32 `json:"tiles"`
		InventorySize int32    `json:"inventory_size"`
	} `json:"entities"`
	Unsupported map[string]string `json:"unsupported"`
	Defaults    struct {
		DrainDivisor    int64 `json:"electric_drain_divisor"`
		CharacterSlots  int32 `json:"character_inventory_slots"`
		DayTicks        int64 `json:"day_ticks"`
		IngredientTicks int32 `json:"automated_ingredient_ticks"`
	} `json:"engine_defaults"`
}
