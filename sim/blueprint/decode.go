package blueprint

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Decode reads an exchange string with DefaultLimits().
func Decode(s string) (*Object, error) { return DefaultLimits().Decode(s) }

// Decode reads an exchange string as the game writes it: the version
// character '0', then base64 of zlib-deflated JSON. Whitespace around and
// inside the string (line-wrapped pastes) is ignored.
func (l Limits) Decode(s string) (*Object, error) {
	data, err := l.Inflate(s)
	if err != nil {
		return nil, err
	}
	return l.DecodeJSON(data)
}

// DecodeReader reads an exchange string from r (a file, or standard input),
// refusing one longer than MaxStringBytes (plus a quarter for line breaks)
// before reading it all.
func (l Limits) DecodeReader(r io.Reader) (*Object, error) {
	limit := int64(l.MaxStringBytes) + int64(l.MaxStringBytes)/4
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, limitError("", "input is longer than %d bytes, past the blueprint string limit of %s", limit, mib(l.MaxStringBytes))
	}
	return l.Decode(string(b))
}

// Inflate checks the framing of an exchange string and returns its JSON.
func (l Limits) Inflate(s string) ([]byte, error) {
	// Pastes from editors and web pages bring a byte-order mark, line breaks and
	// non-breaking spaces; none of them is part of an exchange string.
	s = unwrap(strings.TrimPrefix(strings.TrimSpace(s), "\ufeff"))
	if strings.IndexFunc(s, isSpace) >= 0 {
		s = strings.Map(func(r rune) rune {
			if isSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	if s == "" {
		return nil, newError("", "empty input: expected a blueprint exchange string (it starts with 0)")
	}
	if len(s) > l.MaxStringBytes {
		return nil, limitError("", "blueprint string is %d bytes, past the limit of %s", len(s), mib(l.MaxStringBytes))
	}
	switch s[0] {
	case '0':
	case '{':
		return nil, newError("", "input is JSON, not an exchange string; export the blueprint from the game (it starts with 0)")
	default:
		r, _ := utf8.DecodeRuneInString(s)
		return nil, newError("", "unsupported exchange string version %q: only version '0' (Factorio 0.15 to 2.x) exists", r)
	}
	body := strings.TrimRight(s[1:], "=")
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil && len(body)%4 == 1 && strings.IndexFunc(body, notBase64) < 0 {
		return nil, newError("", "the string ends in the middle of a base64 group: it was cut short")
	}
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			// +2: one for the version character, one to count from 1.
			return nil, newError("", "malformed base64 at character %d of the string", int(ce)+2)
		}
		return nil, newError("", "malformed base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, newError("", "not zlib data after the base64 (%v); the string is damaged or not a blueprint", err)
	}
	var buf bytes.Buffer
	buf.Grow(min(len(raw)*8, l.MaxJSONBytes) + 1)
	n, err := buf.ReadFrom(io.LimitReader(zr, int64(l.MaxJSONBytes)+1))
	if n > int64(l.MaxJSONBytes) {
		return nil, limitError("", "blueprint JSON inflates past the limit of %s (a %d-byte string); refusing it", mib(l.MaxJSONBytes), len(s))
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, newError("", "truncated zlib data: the string was cut short")
		}
		return nil, newError("", "broken zlib data (%v); the string is damaged", err)
	}
	return buf.Bytes(), nil
}

// unwrap drops what a string copied out of a JSON file, a chat message or a
// Markdown page is wrapped in: a Markdown code fence (with its language tag),
// or a pair of quotes or backticks. No exchange string contains either, so
// nothing of the string is lost; an unbalanced wrapper stays, and is refused
// as a version character.
func unwrap(s string) string {
	if body, ok := strings.CutPrefix(s, "```"); ok && strings.HasSuffix(body, "```") && len(body) >= 3 {
		body = strings.TrimSuffix(body, "```")
		if i := strings.IndexAny(body, "\r\n"); i >= 0 && strings.IndexFunc(body[:i], isSpace) < 0 && !strings.HasPrefix(body, "0") {
			body = body[i:] // the fence's language tag, such as "text"
		}
		return strings.TrimSpace(body)
	}
	if len(s) >= 2 && strings.ContainsRune(`"'`+"`", rune(s[0])) && s[len(s)-1] == s[0] {
		return strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b' }

func notBase64(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/')
}
