package blueprint

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// DecodeJSON decodes the JSON inside an exchange string with DefaultLimits().
func DecodeJSON(data []byte) (*Object, error) { return DefaultLimits().DecodeJSON(data) }

// DecodeJSON decodes the JSON inside an exchange string: one object whose
// key is blueprint, blueprint_book, upgrade_planner or deconstruction_planner.
func (l Limits) DecodeJSON(data []byte) (*Object, error) {
	if len(data) > l.MaxJSONBytes {
		return nil, limitError("", "blueprint JSON is %d bytes, past the limit of %s", len(data), mib(l.MaxJSONBytes))
	}
	d := &decoder{r: newReader(data, l.MaxJSONDepth), lim: l}
	o := new(Object)
	if d.r.peek() != '{' {
		return nil, d.r.want("object", d.r.peek())
	}
	if err := d.item(o, nil, nil); err != nil {
		return nil, err
	}
	if err := d.r.end(); err != nil {
		return nil, err
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return o, nil
}

// decoder turns the reader's tokens into the typed model. Whatever depends
// on the game version (directions, which may come before "version" in key
// order, and books whose version comes after their blueprints) is recorded
// in pending and settled by finish once everything is read.
type decoder struct {
	r   *reader
	lim Limits

	blueprints, entities, tiles, wires, legacyWires int
	bookDepth                                       int

	pending []*pending
}

// pending is a blueprint, book or planner waiting for its version.
type pending struct {
	version *Version
	has     bool // the object had its own version key
	parent  *pending
	bp      *Blueprint // nil for books and planners
	path    string
	legacy  []legacyWire
}

// legacyWire is a Factorio 1.x connection read from entity number entity
// (an index into Entities until finish resolves it).
type legacyWire struct {
	entity    int
	connector WireConnector
	target    uint32
	targetCon WireConnector
}

// kindKeys is the message fragment naming what an object may hold.
const kindKeys = "blueprint, blueprint_book, upgrade_planner or deconstruction_planner"

// item reads an object holding one kind key: the top level, or a book slot
// (then slot is set and the "index" key is the slot number).
func (d *decoder) item(o *Object, parent *pending, slot *int) error {
	r := d.r
	var keys []string
	err := r.object(func(key string) error {
		switch Kind(key) {
		case KindBlueprint, KindBook, KindUpgradePlanner, KindDeconstructionPlanner:
			if o.Kind != "" {
				return r.fail("a second object beside %q; one string or slot holds one of %s", o.Kind, kindKeys)
			}
			o.Kind = Kind(key)
			switch o.Kind {
			case KindBlueprint:
				o.Blueprint = new(Blueprint)
				return d.blueprint(o.Blueprint, parent)
			case KindBook:
				o.Book = new(Book)
				return d.book(o.Book, parent)
			default:
				o.Planner = new(Planner)
				return d.planner(o.Planner, parent)
			}
		}
		if slot != nil && key == "index" {
			n, err := d.integer(0, math.MaxInt32)
			*slot = int(n)
			return err
		}
		if len(keys) < 8 {
			keys = append(keys, strconv.Quote(key))
		}
		return d.extra(&o.Extra, key)
	})
	if err != nil {
		return err
	}
	if o.Kind == "" {
		found := "no keys"
		if len(keys) > 0 {
			found = "keys " + strings.Join(keys, ", ")
		}
		return newError(r.path(), "expected one of %s, found %s", kindKeys, found)
	}
	return nil
}

func (d *decoder) extra(f *Fields, key string) error {
	raw, err := d.r.skip()
	if err != nil {
		return err
	}
	*f = append(*f, Field{Key: key, Value: raw})
	return nil
}

func (d *decoder) newPending(v *Version, parent *pending) *pending {
	p := &pending{version: v, parent: parent, path: d.r.path()}
	d.pending = append(d.pending, p)
	return p
}

func (d *decoder) version(p *pending) error {
	if isNull, err := d.r.null(); isNull || err != nil {
		return err
	}
	b, err := d.r.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return d.r.fail("expected a 64-bit game version (four 16-bit parts), got %s", b)
	}
	*p.version = Version(v)
	p.has = true
	return nil
}

func (d *decoder) planner(pl *Planner, parent *pending) error {
	p := d.newPending(&pl.Version, parent)
	return d.r.object(func(key string) (err error) {
		switch key {
		case "label":
			pl.Label, err = d.r.optStr()
		case "version":
			err = d.version(p)
		default:
			err = d.extra(&pl.Extra, key)
		}
		return err
	})
}

func (d *decoder) book(b *Book, parent *pending) error {
	d.bookDepth++
	if d.bookDepth > d.lim.MaxBookDepth {
		return limitError(d.r.path(), "books nested deeper than the limit of %d", d.lim.MaxBookDepth)
	}
	p := d.newPending(&b.Version, parent)
	r := d.r
	err := r.object(func(key string) (err error) {
		switch key {
		case "label":
			b.Label, err = r.optStr()
		case "description":
			b.Description, err = r.optStr()
		case "version":
			err = d.version(p)
		case "active_index":
			var n int64
			n, err = d.optInteger(math.MinInt32, math.MaxInt32)
			b.ActiveIndex = int(n)
		case "blueprints":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(i int) error {
				slot := i
				b.Entries = append(b.Entries, BookEntry{})
				e := &b.Entries[len(b.Entries)-1]
				if err := d.item(&e.Item, p, &slot); err != nil {
					return err
				}
				e.Slot = slot
				return nil
			})
		default:
			err = d.extra(&b.Extra, key)
		}
		return err
	})
	if err != nil {
		return err
	}
	// The game shows slots in index order; keep input order for ties.
	slices.SortStableFunc(b.Entries, func(x, y BookEntry) int { return x.Slot - y.Slot })
	d.bookDepth--
	return nil
}

func (d *decoder) blueprint(bp *Blueprint, parent *pending) error {
	d.blueprints++
	if d.blueprints > d.lim.MaxBlueprints {
		return limitError(d.r.path(), "more than the limit of %d blueprints", d.lim.MaxBlueprints)
	}
	p := d.newPending(&bp.Version, parent)
	p.bp = bp
	r := d.r
	return r.object(func(key string) (err error) {
		switch key {
		case "label":
			bp.Label, err = r.optStr()
		case "description":
			bp.Description, err = r.optStr()
		case "version":
			err = d.version(p)
		case "entities":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(int) error {
				d.entities++
				if d.entities > d.lim.MaxEntities {
					return limitError(r.path(), "more than the limit of %d entities", d.lim.MaxEntities)
				}
				bp.Entities = append(bp.Entities, Entity{})
				// The index into all entities read so far, for legacy wires.
				return d.entity(&bp.Entities[len(bp.Entities)-1], len(bp.Entities)-1, p)
			})
		case "wires":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(int) error {
				d.wires++
				if d.wires > d.lim.MaxWires {
					return limitError(r.path(), "more than the limit of %d wires", d.lim.MaxWires)
				}
				w, err := d.wire()
				bp.Wires = append(bp.Wires, w)
				return err
			})
		case "tiles":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(int) error {
				d.tiles++
				if d.tiles > d.lim.MaxTiles {
					return limitError(r.path(), "more than the limit of %d tiles", d.lim.MaxTiles)
				}
				t, err := d.tile()
				bp.Tiles = append(bp.Tiles, t)
				return err
			})
		case "parameters":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(int) error {
				bp.Parameters = append(bp.Parameters, Parameter{})
				return d.parameter(&bp.Parameters[len(bp.Parameters)-1])
			})
		default:
			err = d.extra(&bp.Extra, key)
		}
		return err
	})
}

// wire reads a 2.0 wire: [entity, connector, entity, connector].
func (d *decoder) wire() (Wire, error) {
	var v [4]int64
	n := 0
	err := d.r.array(func(i int) error {
		if i >= 4 {
			return d.r.fail("a wire has 4 numbers: entity, connector, entity, connector")
		}
		var err error
		if i%2 == 0 {
			v[i], err = d.integer(1, math.MaxUint32)
		} else {
			v[i], err = d.integer(1, math.MaxUint8)
		}
		n++
		return err
	})
	if err == nil && n != 4 {
		err = d.r.fail("a wire has 4 numbers (entity, connector, entity, connector), got %d", n)
	}
	return Wire{uint32(v[0]), WireConnector(v[1]), uint32(v[2]), WireConnector(v[3])}, err
}

func (d *decoder) tile() (Tile, error) {
	var t Tile
	var hasName, hasPos bool
	err := d.r.object(func(key string) (err error) {
		switch key {
		case "name":
			t.Name, err = d.r.str()
			hasName = true
		case "position":
			t.Position, err = d.position()
			hasPos = true
		default:
			_, err = d.r.skip()
		}
		return err
	})
	if err == nil && !hasName {
		err = d.r.fail("tile has no name")
	}
	if err == nil && !hasPos {
		err = d.r.fail("tile has no position")
	}
	return t, err
}

func (d *decoder) parameter(p *Parameter) error {
	r := d.r
	return r.object(func(key string) (err error) {
		switch key {
		case "type", "name", "id", "number":
			if r.peek() != '"' {
				// Keep shapes the model does not expect as they are.
				return d.extra(&p.Extra, key)
			}
			var s string
			if s, err = r.str(); err != nil {
				return err
			}
			switch key {
			case "type":
				p.Type = s
			case "name":
				p.Name = s
			case "id":
				p.ID = s
			case "number":
				p.Number = s
			}
			return nil
		default:
			return d.extra(&p.Extra, key)
		}
	})
}

func (d *decoder) entity(e *Entity, index int, p *pending) error {
	r := d.r
	var hasNumber, hasName, hasPos bool
	err := r.object(func(key string) (err error) {
		switch key {
		case "entity_number":
			var n int64
			n, err = d.integer(1, math.MaxUint32)
			e.Number = uint32(n)
			hasNumber = true
		case "name":
			e.Name, err = r.str()
			hasName = true
		case "position":
			e.Position, err = d.position()
			hasPos = true
		case "direction":
			// Range-checked for the version in finish.
			var n int64
			n, err = d.optInteger(0, 15)
			e.Direction = Direction(n)
		case "quality":
			e.Quality, err = r.optStr()
		case "recipe":
			e.Recipe, err = r.optStr()
		case "recipe_quality":
			e.RecipeQuality, err = r.optStr()
		case "type":
			e.Type, err = r.optStr()
		case "input_priority":
			e.InputPriority, err = r.optStr()
		case "output_priority":
			e.OutputPriority, err = r.optStr()
		case "filter":
			e.Filter, err = d.itemFilter()
		case "infinity_settings":
			e.Infinity, err = d.infinity()
		case "items":
			e.Items, err = d.items()
		case "connections":
			err = d.connections(index, p)
		case "neighbours":
			err = d.neighbours(index, p)
		default:
			err = d.extra(&e.Extra, key)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case !hasNumber:
		return r.fail("entity has no entity_number")
	case !hasName:
		return r.fail("entity has no name")
	case !hasPos:
		return r.fail("entity %q has no position", e.Name)
	}
	return nil
}

// position reads {"x": tiles, "y": tiles} into fixed point.
func (d *decoder) position() (Position, error) {
	var pos Position
	var hasX, hasY bool
	err := d.r.object(func(key string) (err error) {
		switch key {
		case "x":
			pos.X, err = d.fixed()
			hasX = true
		case "y":
			pos.Y, err = d.fixed()
			hasY = true
		default:
			_, err = d.r.skip()
		}
		return err
	})
	if err == nil && (!hasX || !hasY) {
		err = d.r.fail("needs both x and y")
	}
	return pos, err
}

// fixed reads a coordinate in tiles as fixed point (1/256 tile). Multiples
// of 1/256, which is all the game writes, convert exactly; anything else
// rounds to the nearest unit, halves away from zero.
func (d *decoder) fixed() (int32, error) {
	b, err := d.r.number()
	if err != nil {
		return 0, err
	}
	if v, ok := exactFixed(b); ok {
		return v, nil
	}
	// The grammar is already checked; ParseFloat fails only on overflow.
	f, _ := strconv.ParseFloat(string(b), 64)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, d.r.fail("coordinate %s is not a finite number", b)
	}
	u := math.Round(f * TileScale)
	if u > math.MaxInt32 || u < math.MinInt32 {
		return 0, d.r.fail("coordinate %s is outside the fixed-point map (±%d tiles)", b, math.MaxInt32/TileScale)
	}
	return int32(u), nil
}

var pow10 = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8}

// exactFixed converts plain decimals like "-26.5" without floating point.
// It reports false for anything it does not convert exactly.
func exactFixed(b []byte) (int32, bool) {
	i, neg := 0, false
	if i < len(b) && b[i] == '-' {
		neg, i = true, i+1
	}
	var m int64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + int64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false // exponent
		}
		if digits > 15 {
			return 0, false
		}
	}
	if frac < 0 {
		frac = 0
	}
	if frac >= len(pow10) {
		return 0, false
	}
	scaled := m * TileScale
	if scaled%pow10[frac] != 0 {
		return 0, false
	}
	v := scaled / pow10[frac]
	if neg {
		v = -v
	}
	if v > math.MaxInt32 || v < math.MinInt32 {
		return 0, false
	}
	return int32(v), true
}

// integer reads an integral number in [min, max]. "3.0" and "3e0" count.
func (d *decoder) integer(min, max int64) (int64, error) {
	b, err := d.r.number()
	if err != nil {
		return 0, err
	}
	v, ok := parseInteger(b)
	if !ok || v < min || v > max {
		return 0, d.r.fail("expected an integer from %d to %d, got %s", min, max, b)
	}
	return v, nil
}

// optInteger is integer, with null read as 0.
func (d *decoder) optInteger(min, max int64) (int64, error) {
	if isNull, err := d.r.null(); isNull || err != nil {
		return 0, err
	}
	return d.integer(min, max)
}

func parseInteger(b []byte) (int64, bool) {
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// itemFilter reads a splitter filter: "iron-plate" (1.x) or
// {"name": "iron-plate", "quality": "rare", "comparator": "="} (2.0).
func (d *decoder) itemFilter() (*ItemFilter, error) {
	r := d.r
	switch r.peek() {
	case 'n':
		return nil, r.literal("null")
	case '"':
		s, err := r.str()
		return &ItemFilter{Name: s}, err
	}
	f := new(ItemFilter)
	err := r.object(func(key string) (err error) {
		switch key {
		case "name":
			f.Name, err = r.str()
		case "quality":
			f.Quality, err = r.optStr()
		case "comparator":
			f.Comparator, err = r.optStr()
		default:
			err = d.extra(&f.Extra, key)
		}
		return err
	})
	return f, err
}

func (d *decoder) infinity() (*InfinitySettings, error) {
	r := d.r
	if isNull, err := r.null(); isNull || err != nil {
		return nil, err
	}
	s := new(InfinitySettings)
	err := r.object(func(key string) (err error) {
		switch key {
		case "remove_unfiltered_items":
			s.RemoveUnfilteredItems, err = r.boolean()
		case "filters":
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			err = r.array(func(int) error {
				s.Filters = append(s.Filters, InfinityFilter{})
				f := &s.Filters[len(s.Filters)-1]
				return r.object(func(key string) (err error) {
					switch key {
					case "index":
						var n int64
						n, err = d.integer(0, math.MaxUint32)
						f.Index = int(n)
					case "name":
						f.Name, err = r.str()
					case "quality":
						f.Quality, err = r.optStr()
					case "count":
						f.Count, err = d.integer(0, math.MaxUint32)
					case "mode":
						f.Mode, err = r.optStr()
					default:
						err = d.extra(&f.Extra, key)
					}
					return err
				})
			})
		default:
			err = d.extra(&s.Extra, key)
		}
		return err
	})
	return s, err
}

// items reads item requests in either shape: 1.x {"speed-module": 2} or
// 2.0 [{"id": {"name", "quality"}, "items": {"in_inventory": [...], "grid_count": n}}].
func (d *decoder) items() ([]ItemRequest, error) {
	r := d.r
	switch r.peek() {
	case 'n':
		return nil, r.literal("null")
	case '{':
		var out []ItemRequest
		err := r.object(func(key string) error {
			n, err := d.integer(0, math.MaxUint32)
			out = append(out, ItemRequest{Name: key, Count: n})
			return err
		})
		return out, err
	case '[':
	default:
		return nil, r.want("array (2.0) or object (1.x) of item requests", r.peek())
	}
	var out []ItemRequest
	err := r.array(func(int) error {
		out = append(out, ItemRequest{})
		q := &out[len(out)-1]
		hasID := false
		err := r.object(func(key string) (err error) {
			switch key {
			case "id":
				hasID = true
				err = r.object(func(key string) (err error) {
					switch key {
					case "name":
						q.Name, err = r.str()
					case "quality":
						q.Quality, err = r.optStr()
					default:
						_, err = r.skip()
					}
					return err
				})
			case "items":
				err = r.object(func(key string) (err error) {
					switch key {
					case "in_inventory":
						err = r.array(func(int) error {
							s := InventorySlot{Count: 1}
							err := r.object(func(key string) (err error) {
								var n int64
								switch key {
								case "inventory":
									n, err = d.integer(0, math.MaxUint8)
									s.Inventory = int(n)
								case "stack":
									n, err = d.integer(0, math.MaxUint32)
									s.Stack = int(n)
								case "count":
									s.Count, err = d.integer(0, math.MaxUint32)
								default:
									_, err = r.skip()
								}
								return err
							})
							q.Slots = append(q.Slots, s)
							q.Count += s.Count
							return err
						})
					case "grid_count":
						q.GridCount, err = d.integer(0, math.MaxUint32)
					default:
						_, err = r.skip()
					}
					return err
				})
			default:
				err = d.extra(&q.Extra, key)
			}
			return err
		})
		if err == nil && (!hasID || q.Name == "") {
			err = r.fail("item request has no id.name")
		}
		q.Count += q.GridCount
		return err
	})
	return out, err
}

// connections reads Factorio 1.x per-entity circuit and power-switch wires:
// {"1": {"red": [{"entity_id": 2, "circuit_id": 1}], "green": [...]},
// "2": {...}, "Cu0": [{"entity_id": 5, "wire_id": 0}], "Cu1": [...]}.
func (d *decoder) connections(index int, p *pending) error {
	r := d.r
	if isNull, err := r.null(); isNull || err != nil {
		return err
	}
	return r.object(func(point string) error {
		switch point {
		case "1", "2":
			base := WireConnector(1)
			if point == "2" {
				base = 3
			}
			if isNull, err := r.null(); isNull || err != nil {
				return err
			}
			return r.object(func(colour string) error {
				var off WireConnector
				switch colour {
				case "red":
				case "green":
					off = 1
				default:
					return r.fail("unknown wire colour (Factorio 1.x uses red and green)")
				}
				return d.connectionList(index, p, base+off, "circuit_id", func(id int64) (WireConnector, bool) {
					return WireConnector(2*id-1) + off, id == 1 || id == 2
				})
			})
		case "Cu0", "Cu1":
			con := Copper
			if point == "Cu1" {
				con = PowerSwitchRightCopper
			}
			return d.connectionList(index, p, con, "wire_id", func(id int64) (WireConnector, bool) {
				return Copper + WireConnector(id), id == 0 || id == 1
			})
		default:
			return r.fail("unknown connection point (Factorio 1.x uses 1, 2, Cu0 and Cu1)")
		}
	})
}

// connectionList reads [{"entity_id": n, idKey: k}, ...]; target maps k
// (absent: its zero default) to the far end's connector.
func (d *decoder) connectionList(index int, p *pending, con WireConnector, idKey string, target func(int64) (WireConnector, bool)) error {
	r := d.r
	if isNull, err := r.null(); isNull || err != nil {
		return err
	}
	return r.array(func(int) error {
		var ent int64
		id := int64(-1)
		err := r.object(func(key string) (err error) {
			switch key {
			case "entity_id":
				ent, err = d.integer(1, math.MaxUint32)
			case idKey:
				id, err = d.integer(0, 255)
			default:
				_, err = r.skip()
			}
			return err
		})
		if err != nil {
			return err
		}
		if ent == 0 {
			return r.fail("connection has no entity_id")
		}
		if id < 0 {
			id = 1 // circuit_id defaults to the first point
			if idKey == "wire_id" {
				id = 0
			}
		}
		tc, ok := target(id)
		if !ok {
			return r.fail("%s %d does not exist", idKey, id)
		}
		return d.addLegacy(p, legacyWire{entity: index, connector: con, target: uint32(ent), targetCon: tc})
	})
}

// neighbours reads Factorio 1.x copper wires between poles: [entity, ...].
func (d *decoder) neighbours(index int, p *pending) error {
	r := d.r
	if isNull, err := r.null(); isNull || err != nil {
		return err
	}
	return r.array(func(int) error {
		n, err := d.integer(1, math.MaxUint32)
		if err != nil {
			return err
		}
		return d.addLegacy(p, legacyWire{entity: index, connector: Copper, target: uint32(n), targetCon: Copper})
	})
}

func (d *decoder) addLegacy(p *pending, w legacyWire) error {
	// Each 1.x wire is usually listed at both ends, so count half against
	// the limit; finish removes the duplicates.
	d.legacyWires++
	if d.legacyWires > 2*d.lim.MaxWires {
		return limitError(d.r.path(), "more than the limit of %d wires", d.lim.MaxWires)
	}
	p.legacy = append(p.legacy, w)
	return nil
}
