package blueprint

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Encode writes an exchange string: '0' + base64(zlib(JSON)), compressed at
// zlib's best level as the game does. Each blueprint is written in the
// format of its own Version: a 1.x blueprint gets 8-way directions and
// per-entity connections back, a 2.0 one 16-way directions and a top-level
// wire list. Unknown fields are written back as they were read.
func Encode(o *Object) (string, error) {
	data, err := EncodeJSON(o)
	if err != nil {
		return "", err
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(data); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	out := make([]byte, 1+base64.StdEncoding.EncodedLen(z.Len()))
	out[0] = '0'
	base64.StdEncoding.Encode(out[1:], z.Bytes())
	return string(out), nil
}

// EncodeBlueprint writes one blueprint as an exchange string.
func EncodeBlueprint(bp *Blueprint) (string, error) {
	return Encode(&Object{Kind: KindBlueprint, Blueprint: bp})
}

// EncodeJSON writes the JSON an exchange string holds.
func EncodeJSON(o *Object) ([]byte, error) {
	w := &writer{}
	if err := w.item(o, nil, ""); err != nil {
		return nil, err
	}
	return w.b, nil
}

// writer appends compact JSON to b.
type writer struct {
	b []byte
}

// obj writes one JSON object and remembers its keys, so an Extra field
// cannot repeat a key the typed model wrote.
type obj struct {
	w    *writer
	keys []string
}

func (w *writer) open() *obj {
	w.b = append(w.b, '{')
	return &obj{w: w}
}

func (o *obj) key(k string) {
	if len(o.keys) > 0 {
		o.w.b = append(o.w.b, ',')
	}
	o.keys = append(o.keys, k)
	o.w.str(k)
	o.w.b = append(o.w.b, ':')
}

func (o *obj) close() { o.w.b = append(o.w.b, '}') }

func (o *obj) str(k, v string) {
	o.key(k)
	o.w.str(v)
}

func (o *obj) optStr(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.w.b = strconv.AppendInt(o.w.b, v, 10)
}

// extras writes unknown fields; where names the object for errors, and
// reserved are the keys the typed model owns in this object.
func (o *obj) extras(f Fields, where string, reserved ...string) error {
	for _, x := range f {
		if slices.Contains(reserved, x.Key) || slices.Contains(o.keys, x.Key) {
			return fmt.Errorf("%s: extra field %q repeats a field the model writes", where, x.Key)
		}
		if !json.Valid(x.Value) {
			return fmt.Errorf("%s: extra field %q is not valid JSON", where, x.Key)
		}
		o.key(x.Key)
		o.w.b = append(o.w.b, x.Value...)
	}
	return nil
}

// str writes a JSON string; invalid UTF-8 becomes U+FFFD as in encoding/json.
func (w *writer) str(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				w.b = append(w.b, '\\', c)
			case c == '\n':
				w.b = append(w.b, '\\', 'n')
			case c == '\r':
				w.b = append(w.b, '\\', 'r')
			case c == '\t':
				w.b = append(w.b, '\\', 't')
			case c < 0x20:
				w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				w.b = append(w.b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, `\ufffd`...)
		} else {
			w.b = append(w.b, s[i:i+size]...)
		}
		i += size
	}
	w.b = append(w.b, '"')
}

func (w *writer) fixed(v int32) { w.b = append(w.b, formatFixed(v)...) }

var kindKeyList = []string{string(KindBlueprint), string(KindBook), string(KindUpgradePlanner), string(KindDeconstructionPlanner)}

// item writes an object holding one kind key; slot is set for book slots.
func (w *writer) item(it *Object, slot *int, where string) error {
	if where == "" {
		where = string(it.Kind)
	}
	o := w.open()
	if slot != nil {
		o.int("index", int64(*slot))
	}
	var err error
	switch {
	case it.Kind == KindBlueprint && it.Blueprint != nil:
		o.key(string(it.Kind))
		err = w.blueprint(it.Blueprint, where)
	case it.Kind == KindBook && it.Book != nil:
		o.key(string(it.Kind))
		err = w.book(it.Book, where)
	case it.Kind.isPlanner() && it.Planner != nil:
		o.key(string(it.Kind))
		err = w.planner(it.Planner, where)
	default:
		return fmt.Errorf("%s: object of kind %q has no matching Blueprint, Book or Planner", where, it.Kind)
	}
	if err != nil {
		return err
	}
	if err := o.extras(it.Extra, where, kindKeyList...); err != nil {
		return err
	}
	o.close()
	return nil
}

func (w *writer) planner(p *Planner, where string) error {
	o := w.open()
	o.optStr("label", p.Label)
	if err := o.extras(p.Extra, where, "label", "version"); err != nil {
		return err
	}
	if p.Version != 0 {
		o.key("version")
		w.b = strconv.AppendUint(w.b, uint64(p.Version), 10)
	}
	o.close()
	return nil
}

func (w *writer) book(b *Book, where string) error {
	o := w.open()
	o.optStr("label", b.Label)
	o.optStr("description", b.Description)
	if err := o.extras(b.Extra, where, "label", "description", "version", "active_index", "blueprints"); err != nil {
		return err
	}
	o.key("blueprints")
	w.b = append(w.b, '[')
	for i := range b.Entries {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		e := &b.Entries[i]
		if err := w.item(&e.Item, &e.Slot, fmt.Sprintf("%s.blueprints[%d].%s", where, i, e.Item.Kind)); err != nil {
			return err
		}
	}
	w.b = append(w.b, ']')
	o.int("active_index", int64(b.ActiveIndex))
	if b.Version != 0 {
		o.key("version")
		w.b = strconv.AppendUint(w.b, uint64(b.Version), 10)
	}
	o.close()
	return nil
}

var blueprintKeys = []string{"label", "description", "version", "entities", "wires", "tiles", "parameters"}

func (w *writer) blueprint(bp *Blueprint, where string) error {
	legacy := bp.Version.Legacy()
	o := w.open()
	o.optStr("label", bp.Label)
	o.optStr("description", bp.Description)
	if err := o.extras(bp.Extra, where, blueprintKeys...); err != nil {
		return err
	}

	var lc *legacyConns
	wires := bp.Wires
	if legacy && len(wires) > 0 {
		var err error
		if lc, wires, err = splitLegacyWires(bp); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}

	if len(bp.Entities) > 0 {
		o.key("entities")
		w.b = append(w.b, '[')
		for i := range bp.Entities {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			if err := w.entity(&bp.Entities[i], i, legacy, lc, fmt.Sprintf("%s.entities[%d]", where, i)); err != nil {
				return err
			}
		}
		w.b = append(w.b, ']')
	}
	if len(wires) > 0 {
		o.key("wires")
		w.b = append(w.b, '[')
		for i, x := range wires {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = fmt.Appendf(w.b, "[%d,%d,%d,%d]", x.SourceEntity, x.SourceConnector, x.TargetEntity, x.TargetConnector)
		}
		w.b = append(w.b, ']')
	}
	if len(bp.Tiles) > 0 {
		o.key("tiles")
		w.b = append(w.b, '[')
		for i, t := range bp.Tiles {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			to := w.open()
			to.str("name", t.Name)
			to.key("position")
			w.position(t.Position)
			to.close()
		}
		w.b = append(w.b, ']')
	}
	if len(bp.Parameters) > 0 {
		o.key("parameters")
		w.b = append(w.b, '[')
		for i := range bp.Parameters {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			p := &bp.Parameters[i]
			po := w.open()
			po.optStr("type", p.Type)
			po.optStr("name", p.Name)
			po.optStr("id", p.ID)
			po.optStr("number", p.Number)
			if err := po.extras(p.Extra, fmt.Sprintf("%s.parameters[%d]", where, i)); err != nil {
				return err
			}
			po.close()
		}
		w.b = append(w.b, ']')
	}
	if bp.Version != 0 {
		o.key("version")
		w.b = strconv.AppendUint(w.b, uint64(bp.Version), 10)
	}
	o.close()
	return nil
}

func (w *writer) position(p Position) {
	w.b = append(w.b, `{"x":`...)
	w.fixed(p.X)
	w.b = append(w.b, `,"y":`...)
	w.fixed(p.Y)
	w.b = append(w.b, '}')
}

var entityKeys = []string{
	"entity_number", "name", "position", "direction", "quality", "recipe", "recipe_quality",
	"type", "input_priority", "output_priority", "filter", "infinity_settings", "items",
	"connections", "neighbours",
}

func (w *writer) entity(e *Entity, i int, legacy bool, lc *legacyConns, where string) error {
	o := w.open()
	o.int("entity_number", int64(e.Number))
	o.str("name", e.Name)
	o.key("position")
	w.position(e.Position)
	if e.Direction > 15 {
		return fmt.Errorf("%s: direction %d is not one of the 16 directions", where, e.Direction)
	}
	if d := e.Direction; d != 0 {
		if legacy {
			if d%2 != 0 {
				return fmt.Errorf("%s: direction %s has no 8-way equivalent in a Factorio 1.x blueprint", where, d)
			}
			d /= 2
		}
		o.int("direction", int64(d))
	}
	o.optStr("quality", e.Quality)
	o.optStr("recipe", e.Recipe)
	o.optStr("recipe_quality", e.RecipeQuality)
	o.optStr("type", e.Type)
	o.optStr("input_priority", e.InputPriority)
	o.optStr("output_priority", e.OutputPriority)
	if f := e.Filter; f != nil {
		o.key("filter")
		if err := w.itemFilter(f, legacy, where+".filter"); err != nil {
			return err
		}
	}
	if s := e.Infinity; s != nil {
		o.key("infinity_settings")
		if err := w.infinity(s, where+".infinity_settings"); err != nil {
			return err
		}
	}
	if len(e.Items) > 0 {
		o.key("items")
		if err := w.items(e.Items, legacy, where+".items"); err != nil {
			return err
		}
	}
	if err := o.extras(e.Extra, where, entityKeys...); err != nil {
		return err
	}
	if lc != nil {
		lc.write(w, o, i)
	}
	o.close()
	return nil
}

func (w *writer) itemFilter(f *ItemFilter, legacy bool, where string) error {
	if legacy && f.Quality == "" && f.Comparator == "" && len(f.Extra) == 0 {
		w.str(f.Name)
		return nil
	}
	o := w.open()
	o.str("name", f.Name)
	o.optStr("quality", f.Quality)
	o.optStr("comparator", f.Comparator)
	if err := o.extras(f.Extra, where, "name", "quality", "comparator"); err != nil {
		return err
	}
	o.close()
	return nil
}

func (w *writer) infinity(s *InfinitySettings, where string) error {
	o := w.open()
	if s.RemoveUnfilteredItems {
		o.key("remove_unfiltered_items")
		w.b = append(w.b, "true"...)
	}
	if len(s.Filters) > 0 {
		o.key("filters")
		w.b = append(w.b, '[')
		for i := range s.Filters {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			f := &s.Filters[i]
			fo := w.open()
			fo.int("index", int64(f.Index))
			fo.str("name", f.Name)
			fo.optStr("quality", f.Quality)
			fo.int("count", f.Count)
			fo.optStr("mode", f.Mode)
			if err := fo.extras(f.Extra, fmt.Sprintf("%s.filters[%d]", where, i), "index", "name", "quality", "count", "mode"); err != nil {
				return err
			}
			fo.close()
		}
		w.b = append(w.b, ']')
	}
	if err := o.extras(s.Extra, where, "remove_unfiltered_items", "filters"); err != nil {
		return err
	}
	o.close()
	return nil
}

// items writes item requests. The 1.x shape {"name": count} is used when
// every request fits it and the blueprint is 1.x, or when the requests carry
// counts but no inventory positions (they were read in that shape).
func (w *writer) items(items []ItemRequest, legacy bool, where string) error {
	plain, counted := true, false
	for _, q := range items {
		if q.Quality != "" || len(q.Slots) > 0 || q.GridCount != 0 || len(q.Extra) > 0 {
			plain = false
		}
		if q.Count != 0 {
			counted = true
		}
	}
	if plain && (legacy || counted) {
		o := w.open()
		for _, q := range items {
			o.int(q.Name, q.Count)
		}
		o.close()
		return nil
	}
	w.b = append(w.b, '[')
	for i := range items {
		q := &items[i]
		at := fmt.Sprintf("%s[%d]", where, i)
		sum := q.GridCount
		for _, s := range q.Slots {
			sum += s.Count
		}
		if sum != q.Count {
			return fmt.Errorf("%s: %d %s requested but its inventory positions hold %d; Factorio 2.0 needs a position for each item", at, q.Count, q.Name, sum)
		}
		if i > 0 {
			w.b = append(w.b, ',')
		}
		o := w.open()
		o.key("id")
		io := w.open()
		io.str("name", q.Name)
		io.optStr("quality", q.Quality)
		io.close()
		o.key("items")
		ito := w.open()
		if len(q.Slots) > 0 {
			ito.key("in_inventory")
			w.b = append(w.b, '[')
			for j, s := range q.Slots {
				if j > 0 {
					w.b = append(w.b, ',')
				}
				w.b = fmt.Appendf(w.b, `{"inventory":%d,"stack":%d,"count":%d}`, s.Inventory, s.Stack, s.Count)
			}
			w.b = append(w.b, ']')
		}
		if q.GridCount != 0 {
			ito.int("grid_count", q.GridCount)
		}
		ito.close()
		if err := o.extras(q.Extra, at, "id", "items"); err != nil {
			return err
		}
		o.close()
	}
	w.b = append(w.b, ']')
	return nil
}
