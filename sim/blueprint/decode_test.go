package blueprint

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// v11 and v20 are the "version" numbers of Factorio 1.1.8.0 and 2.0.11.3.
const (
	v11 = "281479272202240"
	v20 = "562949954142211"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw    uint64
		want   string
		legacy bool
	}{
		{73016803328, "0.17.36.0", true},
		{281479272202240, "1.1.8.0", true},
		{562949954142211, "2.0.11.3", false},
		{562949958139904, "2.0.72.0", false},
		{0, "", true},
	} {
		v := Version(tc.raw)
		if v.String() != tc.want || v.Legacy() != tc.legacy {
			t.Errorf("Version(%d) = %q legacy %v, want %q legacy %v", tc.raw, v, v.Legacy(), tc.want, tc.legacy)
		}
		if tc.want != "" {
			p, err := ParseVersion(tc.want)
			if err != nil || p != v {
				t.Errorf("ParseVersion(%q) = %d, %v; want %d", tc.want, p, err, tc.raw)
			}
		}
	}
	if _, err := ParseVersion("2.0.x"); err == nil {
		t.Error("ParseVersion(2.0.x) accepted")
	}
}

func TestPositionsAreExactFixedPoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int32
	}{
		{"0", 0},
		{"0.5", 128},
		{"-0.5", -128},
		{"-26.5", -26*256 - 128},
		{"302", 302 * 256},
		{"0.00390625", 1},
		{"-0.00390625", -1},
		{"1e2", 25600},
		{"2.5E-1", 64},
		{"0.1", 26},          // not a multiple of 1/256: nearest unit
		{"0.001953125", 1},   // exactly half a unit: away from zero
		{"-0.001953125", -1}, // likewise
		{"8388607.99609375", 1<<31 - 1},
		{"-8388608", -1 << 31},
	} {
		o := mustDecodeJSON(t, `{"blueprint":{"entities":[{"entity_number":1,"name":"a","position":{"x":`+tc.in+`,"y":0}}],"version":`+v20+`}}`)
		if got := o.Blueprint.Entities[0].Position.X; got != tc.want {
			t.Errorf("x %s = %d units, want %d", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"8388608", "-8388608.00390625", "1e300", "1e999", "-1e999"} {
		_, err := DecodeJSON([]byte(`{"blueprint":{"entities":[{"entity_number":1,"name":"a","position":{"x":0,"y":` + bad + `}}]}}`))
		if err == nil || !strings.Contains(err.Error(), "blueprint.entities[0].position.y: coordinate "+bad) {
			t.Errorf("y %s: got error %v, want one naming the coordinate", bad, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	good := pack(t, `{"blueprint":{"entities":[],"version":`+v20+`}}`)
	ent := func(body string) string {
		return pack(t, `{"blueprint":{"version":`+v20+`,"entities":[{"entity_number":1,"name":"a","position":{"x":0,"y":0}},`+body+`]}}`)
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "  \n", "empty input"},
		{"version character", "1" + good[1:], `unsupported exchange string version '1'`},
		{"raw JSON", `{"blueprint":{}}`, "input is JSON, not an exchange string"},
		{"bad base64", good[:10] + "!" + good[11:], "malformed base64 at character 11"},
		{"base64 length", "0abcde", "ends in the middle of a base64 group: it was cut short"},
		{"not zlib", "0" + base64.StdEncoding.EncodeToString([]byte("hello world")), "not zlib data"},
		{"truncated zlib", good[:len(good)-12], "zlib"},
		{"bad checksum", corruptChecksum(t, good), "broken zlib data"},
		{"not JSON", pack(t, `blueprint`), "malformed JSON at byte 0: unexpected character 'b', expected object"},
		{"top level array", pack(t, `[1]`), "expected object, got array"},
		{"unknown object", pack(t, `{"blue":{}}`), `expected one of blueprint, blueprint_book, upgrade_planner or deconstruction_planner, found keys "blue"`},
		{"two objects", pack(t, `{"blueprint":{},"blueprint_book":{}}`), `blueprint_book: a second object beside "blueprint"`},
		{"trailing data", pack(t, `{"blueprint":{}} x`), "unexpected data after the top-level value"},
		{"entities not array", pack(t, `{"blueprint":{"entities":{}}}`), "blueprint.entities: expected array, got object"},
		{"position not object", ent(`{"entity_number":2,"name":"b","position":[0,0]}`), "blueprint.entities[1].position: expected object, got array"},
		{"position missing y", ent(`{"entity_number":2,"name":"b","position":{"x":1}}`), "blueprint.entities[1].position: needs both x and y"},
		{"name not string", ent(`{"entity_number":2,"name":7,"position":{"x":1,"y":1}}`), "blueprint.entities[1].name: expected string, got number"},
		{"no name", ent(`{"entity_number":2,"position":{"x":1,"y":1}}`), "blueprint.entities[1]: entity has no name"},
		{"no number", ent(`{"name":"b","position":{"x":1,"y":1}}`), "blueprint.entities[1]: entity has no entity_number"},
		{"number zero", ent(`{"entity_number":0,"name":"b","position":{"x":1,"y":1}}`), "blueprint.entities[1].entity_number: expected an integer from 1 to 4294967295, got 0"},
		{"duplicate number", ent(`{"entity_number":1,"name":"b","position":{"x":1,"y":1}}`), "blueprint.entities[1].entity_number: entity_number 1 is also used by entities[0]"},
		{"direction 16", ent(`{"entity_number":2,"name":"b","position":{"x":1,"y":1},"direction":16}`), "blueprint.entities[1].direction: expected an integer from 0 to 15, got 16"},
		{"legacy direction 9", pack(t, `{"blueprint":{"version":`+v11+`,"entities":[{"entity_number":1,"name":"b","position":{"x":1,"y":1},"direction":9}]}}`),
			"blueprint.entities[0].direction: 9 is not one of the 8 directions (0–7) of a Factorio 1.1.8.0 blueprint"},
		{"dangling wire", pack(t, `{"blueprint":{"version":`+v20+`,"entities":[{"entity_number":1,"name":"b","position":{"x":1,"y":1}}],"wires":[[1,1,2,1]]}}`),
			"blueprint.wires[0]: wire to entity 2, which is not in the blueprint"},
		{"short wire", pack(t, `{"blueprint":{"wires":[[1,1,2]]}}`), "blueprint.wires[0]: a wire has 4 numbers"},
		{"dangling neighbour", pack(t, `{"blueprint":{"version":`+v11+`,"entities":[{"entity_number":1,"name":"p","position":{"x":1,"y":1},"neighbours":[5]}]}}`),
			"blueprint.entities[0]: wire to entity 5, which is not in the blueprint"},
		{"bad connection point", pack(t, `{"blueprint":{"entities":[{"entity_number":1,"name":"p","position":{"x":1,"y":1},"connections":{"3":{}}}]}}`),
			"blueprint.entities[0].connections.3: unknown connection point"},
		{"bad circuit id", pack(t, `{"blueprint":{"entities":[{"entity_number":1,"name":"p","position":{"x":1,"y":1},"connections":{"1":{"red":[{"entity_id":1,"circuit_id":3}]}}}]}}`),
			"blueprint.entities[0].connections.1.red[0]: circuit_id 3 does not exist"},
		{"version string", pack(t, `{"blueprint":{"version":"2.0"}}`), "blueprint.version: expected number, got string"},
		{"version negative", pack(t, `{"blueprint":{"version":-1}}`), "blueprint.version: expected a 64-bit game version"},
		{"book entry shape", pack(t, `{"blueprint_book":{"blueprints":[{"index":0,"blueprint":{}},{"index":1,"blueprint":{"entities":[{"entity_number":1}]}}]}}`),
			"blueprint_book.blueprints[1].blueprint.entities[0]: entity has no name"},
		{"book entry empty", pack(t, `{"blueprint_book":{"blueprints":[{"index":0}]}}`), "blueprint_book.blueprints[0]: expected one of"},
		{"items wrong shape", ent(`{"entity_number":2,"name":"b","position":{"x":1,"y":1},"items":"x"}`), "blueprint.entities[1].items: expected array (2.0) or object (1.x) of item requests, got string"},
		{"unterminated string", pack(t, `{"blueprint":{"label":"abc`), "blueprint.label: malformed JSON at byte 26: unexpected end of input in string"},
		{"invalid utf8", pack(t, "{\"blueprint\":{\"label\":\"a\xffb\"}}"), "blueprint.label: malformed JSON at byte 24: invalid UTF-8 in string"},
		{"duplicate key", ent(`{"entity_number":2,"name":"b","name":"c","position":{"x":1,"y":1}}`), `blueprint.entities[1]: key "name" appears twice`},
		{"odd key", pack(t, `{"blueprint":{"entities":[{"a b":1,"entity_number":1,"name":"x","position":1}]}}`), `blueprint.entities[0].position: expected object, got number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Decode(tc.in)
			if err == nil {
				t.Fatalf("decoded %+v, want error containing %q", o, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrLimit) {
				t.Errorf("error %q wraps ErrLimit", err)
			}
		})
	}
}

func corruptChecksum(t *testing.T, s string) string {
	raw, err := base64.StdEncoding.DecodeString(s[1:])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0xff
	return "0" + base64.StdEncoding.EncodeToString(raw)
}

// TestZipBombRefused inflates a small string of 65 MiB of spaces: it must be
// refused by the default limit, with the limit in the message.
func TestZipBombRefused(t *testing.T) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write([]byte(`{"blueprint":{"label":"`))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range 65 {
		zw.Write(chunk)
	}
	zw.Write([]byte(`"}}`))
	zw.Close()
	s := "0" + base64.StdEncoding.EncodeToString(z.Bytes())
	if len(s) > 200_000 {
		t.Fatalf("bomb string is %d bytes; expected a small string", len(s))
	}
	_, err := Decode(s)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "inflates past the limit of 64 MiB") {
		t.Fatalf("error %v, want a limit error naming 64 MiB", err)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	small := DefaultLimits()
	small.MaxStringBytes = 100
	small.MaxEntities = 2
	small.MaxBookDepth = 2
	small.MaxJSONDepth = 12
	small.MaxBlueprints = 3
	three := `{"blueprint":{"entities":[` +
		`{"entity_number":1,"name":"a","position":{"x":0,"y":0}},` +
		`{"entity_number":2,"name":"a","position":{"x":1,"y":0}},` +
		`{"entity_number":3,"name":"a","position":{"x":2,"y":0}}]}}`
	nest := func(n int) string {
		s := `{"blueprint":{}}`
		for range n {
			s = `{"blueprint_book":{"blueprints":[` + strings.Replace(s, "{", `{"index":0,`, 1) + `]}}`
		}
		return s
	}
	for _, tc := range []struct {
		name, json, want string
	}{
		{"entities", three, "blueprint.entities[2]: more than the limit of 2 entities"},
		{"book depth", nest(3), "books nested deeper than the limit of 2"},
		{"json depth", `{"blueprint":{"x":[[[[[[[[[[[[1]]]]]]]]]]]]}}`, "JSON nesting is deeper than the limit of 12 levels"},
		{"blueprints", `{"blueprint_book":{"blueprints":[{"blueprint":{}},{"blueprint":{}},{"blueprint":{}},{"blueprint":{}}]}}`, "more than the limit of 3 blueprints"},
	} {
		_, err := small.DecodeJSON([]byte(tc.json))
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrLimit containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := small.DecodeJSON([]byte(nest(2))); err != nil {
		t.Errorf("books nested 2 deep: %v", err)
	}
	_, err := small.Decode(pack(t, three))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "past the limit of 100 bytes") {
		t.Errorf("long string: error %v, want the 100-byte limit", err)
	}
	_, err = small.DecodeReader(strings.NewReader(strings.Repeat("A", 126)))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "input is longer than 125 bytes") {
		t.Errorf("long reader: error %v, want the limit", err)
	}
	small.MaxJSONBytes = 50
	_, err = small.DecodeJSON([]byte(three))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "past the limit of 50 bytes") {
		t.Errorf("long JSON: error %v, want the 50-byte limit", err)
	}
}

func TestWhitespaceAndPaddingTolerated(t *testing.T) {
	t.Parallel()
	s := realStrings(t)["rs_latch_2_0"]
	wrapped := "\n  " + s[:40] + "\r\n" + s[40:80] + " " + s[80:] + "\n"
	unpadded := strings.TrimRight(s, "=")
	// From a Windows editor (byte-order mark) and a web page (non-breaking spaces).
	bom := "\ufeff" + s + "\r\n"
	web := "\u00a0" + s[:60] + "\u00a0" + s[60:] + "\u200b"
	want := mustDecode(t, s)
	for _, in := range []string{wrapped, unpadded, bom, web} {
		if diff := cmp.Diff(want, mustDecode(t, in)); diff != "" {
			t.Errorf("decoding a reformatted string differs:\n%s", diff)
		}
	}
}

// A string copied out of a JSON file, a chat message or a Markdown page comes
// wrapped in quotes or a code fence; no exchange string contains either, so
// the wrapping is dropped as whitespace is.
func TestDecodeUnwrapsQuotesAndCodeFences(t *testing.T) {
	t.Parallel()
	good := pack(t, `{"blueprint":{"entities":[],"label":"wrapped","version":`+v20+`}}`)
	for _, in := range []string{
		`"` + good + `"`,
		"'" + good + "'",
		"`" + good + "`",
		"```\n" + good + "\n```\n",
		"```text\r\n" + good[:20] + "\r\n" + good[20:] + "\r\n```",
	} {
		o, err := Decode(in)
		if err != nil || o.Blueprint.Label != "wrapped" {
			t.Errorf("Decode(%.30q…): %v", in, err)
			continue
		}
	}
	// Unbalanced wrapping is no exchange string: say what was found.
	if _, err := Decode(`"` + good); err == nil || !strings.Contains(err.Error(), `unsupported exchange string version '"'`) {
		t.Errorf("an opening quote alone: %v", err)
	}
}
