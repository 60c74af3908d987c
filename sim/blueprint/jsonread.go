package blueprint

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// reader is a single-pass JSON reader over the inflated blueprint text.
//
// It validates as it goes (the RFC 8259 grammar, UTF-8 in strings, a nesting
// bound) and hands the typed decoder keys, scalars and the exact bytes of
// values it does not model, without building a tree. The path of the value
// being read is kept on a small stack, so any error names where it happened
// ("blueprint.entities[3].position") at no cost on the happy path.
type reader struct {
	data     []byte
	pos      int
	depth    int
	maxDepth int
	stack    []seg
	interned map[string]string
	scratch  []byte
}

// seg is one step of a JSON path: an object key, or an array index when key
// is empty and isIndex is set.
type seg struct {
	key     string
	index   int
	isIndex bool
}

func newReader(data []byte, maxDepth int) *reader {
	return &reader{data: data, maxDepth: maxDepth, interned: make(map[string]string, 256)}
}

// path renders the current position as "a.b[3].c".
func (r *reader) path() string { return renderPath(r.stack) }

func renderPath(stack []seg) string {
	var b strings.Builder
	for _, s := range stack {
		if s.isIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if plainKey(s.key) {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
			continue
		}
		b.WriteByte('[')
		b.WriteString(strconv.Quote(s.key))
		b.WriteByte(']')
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// fail returns an *Error at the current path.
func (r *reader) fail(format string, args ...any) error {
	return newError(r.path(), format, args...)
}

// syntax returns an error about malformed JSON text, with the byte offset.
func (r *reader) syntax(what string) error {
	return newError(r.path(), "malformed JSON at byte %d: %s", r.pos, what)
}

// eof reports whether only whitespace is left.
func (r *reader) eof() bool {
	r.ws()
	return r.pos >= len(r.data)
}

func (r *reader) ws() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value (after whitespace), or 0 at
// the end of the input; callers tell a NUL byte from the end with eof.
func (r *reader) peek() byte {
	r.ws()
	if r.pos >= len(r.data) {
		return 0
	}
	return r.data[r.pos]
}

// describe names the JSON type a value starting with c has, for messages
// such as "expected object, got string".
func describe(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	default:
		return strconv.QuoteRune(rune(c))
	}
}

func (r *reader) want(kind string, c byte) error {
	switch {
	case r.eof():
		return r.syntax("unexpected end of input, expected " + kind)
	case !strings.ContainsRune("{[\"tfn-0123456789", rune(c)):
		return r.syntax("unexpected character " + describe(c) + ", expected " + kind)
	}
	return r.fail("expected %s, got %s", kind, describe(c))
}

// null consumes a JSON null if one comes next and reports whether it did.
// The decoder treats null like an absent key.
func (r *reader) null() (bool, error) {
	if r.peek() != 'n' {
		return false, nil
	}
	if err := r.literal("null"); err != nil {
		return false, err
	}
	return true, nil
}

func (r *reader) literal(lit string) error {
	if len(r.data)-r.pos < len(lit) || string(r.data[r.pos:r.pos+len(lit)]) != lit {
		return r.syntax("invalid literal, expected " + lit)
	}
	r.pos += len(lit)
	return nil
}

func (r *reader) enter() error {
	r.depth++
	if r.depth > r.maxDepth {
		return limitError(r.path(), "JSON nesting is deeper than the limit of %d levels", r.maxDepth)
	}
	return nil
}

// object reads a JSON object, calling fn once per key with the reader
// positioned on that key's value; fn must consume the value. The key is on
// the path stack while fn runs. A key that appears twice is an error: the
// game never writes one, and which of the two counts would be a guess.
func (r *reader) object(fn func(key string) error) error { return r.readObject(fn, true) }

// anyObject is object without the duplicate check, for values kept raw.
func (r *reader) anyObject(fn func(key string) error) error { return r.readObject(fn, false) }

func (r *reader) readObject(fn func(key string) error, unique bool) error {
	if c := r.peek(); c != '{' {
		return r.want("object", c)
	}
	if err := r.enter(); err != nil {
		return err
	}
	r.pos++
	if r.peek() == '}' {
		r.pos++
		r.depth--
		return nil
	}
	// Few keys: a scan of a small array; many (a hostile object): a map.
	var small [16]string
	seen := small[:0]
	var many map[string]bool
	for {
		if c := r.peek(); c != '"' {
			if r.eof() {
				return r.syntax("unexpected end of input in object")
			}
			return r.syntax("expected a string key in object, got " + describe(c))
		}
		kb, err := r.stringBytes()
		if err != nil {
			return err
		}
		key := r.intern(kb)
		if unique {
			dup := many[key]
			if many == nil {
				dup = slices.Contains(seen, key)
				if seen = append(seen, key); len(seen) == len(small) {
					many = make(map[string]bool, 2*len(small))
					for _, k := range seen {
						many[k] = true
					}
				}
			} else {
				many[key] = true
			}
			if dup {
				return r.fail("key %q appears twice", key)
			}
		}
		if r.peek() != ':' {
			return r.syntax("expected ':' after object key " + strconv.Quote(key))
		}
		r.pos++
		r.stack = append(r.stack, seg{key: key})
		if err := fn(key); err != nil {
			return err
		}
		r.stack = r.stack[:len(r.stack)-1]
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			r.depth--
			return nil
		default:
			if r.eof() {
				return r.syntax("unexpected end of input in object")
			}
			return r.syntax("expected ',' or '}' after object value, got " + describe(r.data[r.pos]))
		}
	}
}

// array reads a JSON array, calling fn once per element with the reader
// positioned on it; fn must consume the element.
func (r *reader) array(fn func(i int) error) error {
	if c := r.peek(); c != '[' {
		return r.want("array", c)
	}
	if err := r.enter(); err != nil {
		return err
	}
	r.pos++
	if r.peek() == ']' {
		r.pos++
		r.depth--
		return nil
	}
	for i := 0; ; i++ {
		r.stack = append(r.stack, seg{index: i, isIndex: true})
		if err := fn(i); err != nil {
			return err
		}
		r.stack = r.stack[:len(r.stack)-1]
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return nil
		default:
			if r.eof() {
				return r.syntax("unexpected end of input in array")
			}
			return r.syntax("expected ',' or ']' after array element, got " + describe(r.data[r.pos]))
		}
	}
}

// str reads a JSON string value.
func (r *reader) str() (string, error) {
	if c := r.peek(); c != '"' {
		return "", r.want("string", c)
	}
	b, err := r.stringBytes()
	if err != nil {
		return "", err
	}
	return r.intern(b), nil
}

// optStr reads a string or null (which gives "").
func (r *reader) optStr() (string, error) {
	if isNull, err := r.null(); isNull || err != nil {
		return "", err
	}
	return r.str()
}

// intern returns b as a string, sharing one copy of short strings such as
// entity names and keys that repeat thousands of times in a big book.
func (r *reader) intern(b []byte) string {
	if len(b) > 64 {
		return string(b)
	}
	if s, ok := r.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	r.interned[s] = s
	return s
}

// stringBytes reads a JSON string token starting at '"' and returns its
// unescaped bytes. The result aliases the input or the scratch buffer and is
// only valid until the next call.
func (r *reader) stringBytes() ([]byte, error) {
	r.pos++ // opening quote
	start := r.pos
	data := r.data
	// Fast path: no escapes and ASCII only.
	for r.pos < len(data) {
		c := data[r.pos]
		if c == '"' {
			r.pos++
			return data[start : r.pos-1], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		r.pos++
	}
	buf := append(r.scratch[:0], data[start:r.pos]...)
	for {
		if r.pos >= len(data) {
			return nil, r.syntax("unexpected end of input in string")
		}
		c := data[r.pos]
		switch {
		case c == '"':
			r.pos++
			r.scratch = buf
			return buf, nil
		case c < 0x20:
			return nil, r.syntax("control character in string (must be escaped)")
		case c == '\\':
			if r.pos+1 >= len(data) {
				return nil, r.syntax("unexpected end of input in string escape")
			}
			e := data[r.pos+1]
			r.pos += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r1, ok := r.hex4()
				if !ok {
					return nil, r.syntax(`invalid \u escape in string`)
				}
				if utf16.IsSurrogate(r1) {
					// A valid pair becomes one rune; a lone surrogate becomes
					// U+FFFD, as encoding/json does.
					save := r.pos
					if r.pos+1 < len(data) && data[r.pos] == '\\' && data[r.pos+1] == 'u' {
						r.pos += 2
						if r2, ok := r.hex4(); ok {
							if dec := utf16.DecodeRune(r1, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								continue
							}
						}
					}
					r.pos = save
					r1 = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r1)
			default:
				return nil, r.syntax("invalid escape " + strconv.Quote(`\`+string(e)) + " in string")
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			r.pos++
		default:
			ru, size := utf8.DecodeRune(data[r.pos:])
			if ru == utf8.RuneError && size <= 1 {
				return nil, r.syntax("invalid UTF-8 in string")
			}
			buf = append(buf, data[r.pos:r.pos+size]...)
			r.pos += size
		}
	}
}

func (r *reader) hex4() (rune, bool) {
	if len(r.data)-r.pos < 4 {
		return 0, false
	}
	var v rune
	for _, c := range r.data[r.pos : r.pos+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	r.pos += 4
	return v, true
}

// number reads a JSON number token and returns its text.
func (r *reader) number() ([]byte, error) {
	c := r.peek()
	if c != '-' && (c < '0' || c > '9') {
		return nil, r.want("number", c)
	}
	data := r.data
	start := r.pos
	if data[r.pos] == '-' {
		r.pos++
	}
	switch {
	case r.pos < len(data) && data[r.pos] == '0':
		r.pos++
	case r.pos < len(data) && data[r.pos] >= '1' && data[r.pos] <= '9':
		for r.pos < len(data) && data[r.pos] >= '0' && data[r.pos] <= '9' {
			r.pos++
		}
	default:
		return nil, r.syntax("invalid number")
	}
	if r.pos < len(data) && data[r.pos] == '.' {
		r.pos++
		if r.pos >= len(data) || data[r.pos] < '0' || data[r.pos] > '9' {
			return nil, r.syntax("invalid number: digit expected after '.'")
		}
		for r.pos < len(data) && data[r.pos] >= '0' && data[r.pos] <= '9' {
			r.pos++
		}
	}
	if r.pos < len(data) && (data[r.pos] == 'e' || data[r.pos] == 'E') {
		r.pos++
		if r.pos < len(data) && (data[r.pos] == '+' || data[r.pos] == '-') {
			r.pos++
		}
		if r.pos >= len(data) || data[r.pos] < '0' || data[r.pos] > '9' {
			return nil, r.syntax("invalid number: digit expected in exponent")
		}
		for r.pos < len(data) && data[r.pos] >= '0' && data[r.pos] <= '9' {
			r.pos++
		}
	}
	return data[start:r.pos], nil
}

// boolean reads true or false.
func (r *reader) boolean() (bool, error) {
	switch c := r.peek(); c {
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	default:
		return false, r.want("boolean", c)
	}
}

// skip reads any value and returns its exact bytes (a copy, so the caller
// may keep it after the inflated text is dropped).
func (r *reader) skip() ([]byte, error) {
	r.ws()
	start := r.pos
	if err := r.skipValue(); err != nil {
		return nil, err
	}
	out := make([]byte, r.pos-start)
	copy(out, r.data[start:r.pos])
	return out, nil
}

func (r *reader) skipValue() error {
	switch c := r.peek(); {
	case c == '{':
		return r.anyObject(func(string) error { return r.skipValue() })
	case c == '[':
		return r.array(func(int) error { return r.skipValue() })
	case c == '"':
		_, err := r.stringBytes()
		return err
	case c == 't' || c == 'f':
		_, err := r.boolean()
		return err
	case c == 'n':
		return r.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, err := r.number()
		return err
	case r.eof():
		return r.syntax("unexpected end of input, expected a value")
	default:
		return r.syntax("unexpected character " + describe(c))
	}
}

// end checks that only whitespace follows the top-level value.
func (r *reader) end() error {
	if !r.eof() {
		return r.syntax("unexpected data after the top-level value")
	}
	return nil
}
