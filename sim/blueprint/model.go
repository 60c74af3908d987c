package blueprint

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Kind names what an exchange string (or a book slot) holds, as the key the
// game writes for it.
type Kind string

// The kinds of object an exchange string holds.
const (
	KindBlueprint             Kind = "blueprint"
	KindBook                  Kind = "blueprint_book"
	KindUpgradePlanner        Kind = "upgrade_planner"
	KindDeconstructionPlanner Kind = "deconstruction_planner"
)

func (k Kind) isPlanner() bool {
	return k == KindUpgradePlanner || k == KindDeconstructionPlanner
}

// Object is one decoded exchange string, or one slot of a book. Exactly one
// of Blueprint, Book and Planner is set, as Kind says.
type Object struct {
	Kind      Kind
	Blueprint *Blueprint
	Book      *Book
	Planner   *Planner
	// Extra holds unknown keys beside the kind key, in input order.
	Extra Fields
}

// Label returns the label of whatever the object holds.
func (o *Object) Label() string {
	switch {
	case o.Blueprint != nil:
		return o.Blueprint.Label
	case o.Book != nil:
		return o.Book.Label
	case o.Planner != nil:
		return o.Planner.Label
	}
	return ""
}

// Version returns the game version of whatever the object holds.
func (o *Object) Version() Version {
	switch {
	case o.Blueprint != nil:
		return o.Blueprint.Version
	case o.Book != nil:
		return o.Book.Version
	case o.Planner != nil:
		return o.Planner.Version
	}
	return 0
}

// Book is a blueprint book: blueprints, planners and other books in slots.
type Book struct {
	Label       string
	Description string
	Version     Version
	ActiveIndex int
	// Entries are in slot order (the order the game shows them in).
	Entries []BookEntry
	// Extra holds unknown keys (item, icons, label_color, …), in input order.
	Extra Fields
}

// BookEntry is one occupied slot of a book.
type BookEntry struct {
	// Slot is the slot number the game stores as "index" (0-based).
	Slot int
	Item Object
}

// Planner is an upgrade or deconstruction planner. Starlane recognises and
// reports planners but never applies them, so their settings stay raw.
type Planner struct {
	Label   string
	Version Version
	// Extra holds everything else (settings, item, icons, …), in input order.
	Extra Fields
}

// Blueprint is one blueprint, normalised to Factorio 2.0 conventions
// whatever version wrote it: 16-way directions, wires as a flat list.
type Blueprint struct {
	Label       string
	Description string
	// Version is the game version that wrote the blueprint (inherited from
	// the enclosing book when the blueprint has none). It decides how the
	// string is read and how Encode writes it back.
	Version    Version
	Entities   []Entity
	Wires      []Wire
	Tiles      []Tile
	Parameters []Parameter
	// Extra holds unknown keys (item, icons, snap-to-grid, schedules, …).
	Extra Fields
}

// Entity is one entity of a blueprint. Fields the simulation does not model
// stay in Extra, byte for byte, and are written back by Encode.
type Entity struct {
	// Number is the entity_number wires refer to; unique and at least 1.
	Number    uint32
	Name      string
	Position  Position
	Direction Direction
	// Quality and RecipeQuality are quality prototype names; "" means the
	// key was absent (normal quality).
	Quality       string
	Recipe        string
	RecipeQuality string
	// Type is "input" or "output" for underground belts and loaders.
	Type string
	// InputPriority and OutputPriority are "left" or "right" for splitters.
	InputPriority  string
	OutputPriority string
	// Filter is a splitter's output filter.
	Filter *ItemFilter
	// Infinity holds an infinity chest's settings.
	Infinity *InfinitySettings
	// Items are the item requests (modules, fuel, …) the entity arrives with.
	Items []ItemRequest
	Extra Fields
}

// ItemFilter selects an item (and optionally a quality). Factorio 1.x writes
// a splitter filter as a bare item name, 2.0 as an object.
type ItemFilter struct {
	Name       string
	Quality    string
	Comparator string
	Extra      Fields
}

// InfinitySettings are an infinity chest's filters.
type InfinitySettings struct {
	RemoveUnfilteredItems bool
	Filters               []InfinityFilter
	Extra                 Fields
}

// InfinityFilter keeps one item at a count in an infinity chest.
type InfinityFilter struct {
	Index   int
	Name    string
	Quality string
	Count   int64
	// Mode is "at-least", "at-most" or "exactly" ("" when absent: at-least).
	Mode  string
	Extra Fields
}

// ItemRequest is one item an entity requests on placement (modules in an
// assembler, fuel in a furnace).
//
// Factorio 1.x writes requests as {"name": count}: Count only. Factorio 2.0
// writes where each item goes; then Count is the sum of Slots' counts plus
// GridCount.
type ItemRequest struct {
	Name      string
	Quality   string
	Count     int64
	Slots     []InventorySlot
	GridCount int64
	Extra     Fields
}

// InventorySlot is where 2.0 puts requested items: an inventory (a
// defines.inventory value), a 0-based stack in it, and how many.
type InventorySlot struct {
	Inventory int
	Stack     int
	Count     int64
}

// Tile is one tile of a blueprint; Position is its top-left corner.
type Tile struct {
	Name     string
	Position Position
}

// Parameter is one parameter of a parameterised blueprint (2.0): an "id"
// parameter stands for a signal, item or recipe, a "number" one for a value.
type Parameter struct {
	Type string
	Name string
	// ID is the placeholder ("parameter-0") or default of an id parameter.
	ID string
	// Number is the default of a number parameter, as the game writes it
	// (a string).
	Number string
	// Extra holds the rest: quality-condition, ingredient-of, variable,
	// formula, not-parametrised, …
	Extra Fields
}

// WireConnector is a wire end on an entity, numbered as Factorio 2.0's
// defines.wire_connector_id.
type WireConnector uint8

// The wire connectors of Factorio 2.0.
const (
	CircuitRed             WireConnector = 1 // also a combinator's input, red
	CircuitGreen           WireConnector = 2 // also a combinator's input, green
	CombinatorOutputRed    WireConnector = 3
	CombinatorOutputGreen  WireConnector = 4
	Copper                 WireConnector = 5 // a pole's copper, or a power switch's left copper
	PowerSwitchRightCopper WireConnector = 6
)

func (c WireConnector) String() string {
	switch c {
	case CircuitRed:
		return "red"
	case CircuitGreen:
		return "green"
	case CombinatorOutputRed:
		return "output-red"
	case CombinatorOutputGreen:
		return "output-green"
	case Copper:
		return "copper"
	case PowerSwitchRightCopper:
		return "right-copper"
	}
	return "connector-" + strconv.Itoa(int(c))
}

// Wire joins two wire connectors of two entities (or of one entity, such as
// a combinator's output fed back to its input).
type Wire struct {
	SourceEntity    uint32
	SourceConnector WireConnector
	TargetEntity    uint32
	TargetConnector WireConnector
}

// Field is one JSON key the typed model does not cover, with its exact value.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Fields are unknown keys in input order; Encode writes them back unchanged.
type Fields []Field

// Get returns the value of key, if present.
func (f Fields) Get(key string) (json.RawMessage, bool) {
	for _, x := range f {
		if x.Key == key {
			return x.Value, true
		}
	}
	return nil, false
}

// TileScale is the number of fixed-point units in one tile: positions are in
// 1/256 tile, as Factorio's MapPosition.
const TileScale = 256

// Position is a map position in fixed point, 1/256 tile per unit. The game
// writes positions as decimal tiles (0.5 is 128 units).
type Position struct{ X, Y int32 }

// TilePosition returns the position of whole tile coordinates x, y.
func TilePosition(x, y int32) Position { return Position{X: x * TileScale, Y: y * TileScale} }

// Add returns p offset by q.
func (p Position) Add(q Position) Position { return Position{X: p.X + q.X, Y: p.Y + q.Y} }

func (p Position) String() string {
	return "(" + formatFixed(p.X) + ", " + formatFixed(p.Y) + ")"
}

// formatFixed writes a fixed-point coordinate as exact decimal tiles.
func formatFixed(v int32) string {
	if v%TileScale == 0 {
		return strconv.Itoa(int(v / TileScale))
	}
	// Every multiple of 1/256 is exact in a float64, and 'f' with -1
	// precision prints the shortest decimal that reads back to it.
	return strconv.FormatFloat(float64(v)/TileScale, 'f', -1, 64)
}

// Box is an axis-aligned box of map positions; Max is exclusive for tiles
// and footprints.
type Box struct{ Min, Max Position }

// Direction is one of Factorio 2.0's 16 directions: North=0, East=4,
// South=8, West=12. Factorio 1.x strings, which use 8 directions (East=2),
// are converted on decoding.
type Direction uint8

// The eight directions blueprints of both eras can hold, in 2.0 numbering.
const (
	North     Direction = 0
	NorthEast Direction = 2
	East      Direction = 4
	SouthEast Direction = 6
	South     Direction = 8
	SouthWest Direction = 10
	West      Direction = 12
	NorthWest Direction = 14
)

var directionNames = [16]string{
	"north", "north-north-east", "north-east", "east-north-east",
	"east", "east-south-east", "south-east", "south-south-east",
	"south", "south-south-west", "south-west", "west-south-west",
	"west", "west-north-west", "north-west", "north-north-west",
}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "direction-" + strconv.Itoa(int(d))
}

// Version is a game version packed as the game writes it in blueprints: 64
// bits, four 16-bit parts major.minor.patch.build. Zero means absent.
type Version uint64

// MakeVersion packs a version.
func MakeVersion(major, minor, patch, build uint16) Version {
	return Version(uint64(major)<<48 | uint64(minor)<<32 | uint64(patch)<<16 | uint64(build))
}

// ParseVersion reads "2.0.11.3" (or "2.0.11", build 0).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 3 || len(parts) > 4 {
		return 0, fmt.Errorf("version %q: want major.minor.patch[.build]", s)
	}
	var p [4]uint16
	for i, s := range parts {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("version %q: part %d is not a number from 0 to 65535", s, i+1)
		}
		p[i] = uint16(n)
	}
	return MakeVersion(p[0], p[1], p[2], p[3]), nil
}

// Parts returns major, minor, patch and build.
func (v Version) Parts() [4]uint16 {
	return [4]uint16{uint16(v >> 48), uint16(v >> 32), uint16(v >> 16), uint16(v)}
}

// String renders "2.0.11.3", or "" for an absent version.
func (v Version) String() string {
	if v == 0 {
		return ""
	}
	p := v.Parts()
	return fmt.Sprintf("%d.%d.%d.%d", p[0], p[1], p[2], p[3])
}

// Legacy reports whether the version predates Factorio 2.0, so the string
// uses 8-way directions and per-entity wire connections. An absent version
// is legacy too: the game stamps every blueprint it writes, and version 0 is
// the oldest there is.
func (v Version) Legacy() bool { return v.Parts()[0] < 2 }

// Version20 is the first Factorio 2.0 release (2.0.0.0), for blueprints
// Starlane writes.
const Version20 Version = 2 << 48
