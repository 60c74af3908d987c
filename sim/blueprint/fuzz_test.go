package blueprint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// fuzzLimits keep each fuzz input cheap: a zip bomb costs 1 MiB, not 64.
var fuzzLimits = Limits{
	MaxStringBytes: 1 << 20,
	MaxJSONBytes:   1 << 20,
	MaxJSONDepth:   64,
	MaxBookDepth:   8,
	MaxBlueprints:  1000,
	MaxEntities:    10_000,
	MaxTiles:       10_000,
	MaxWires:       10_000,
}

// malformedJSON are hand-made documents of the wrong shape, for the seeds.
var malformedJSON = []string{
	`{}`, `[]`, `null`, `{"blueprint":null}`, `{"blueprint":[]}`, `{"blueprint":{"entities":{}}}`,
	`{"blueprint":{"entities":[{"entity_number":1,"name":"a","position":{"x":"0","y":0}}]}}`,
	`{"blueprint":{"entities":[{"entity_number":1,"name":"a","position":{"x":1e999,"y":0}}]}}`,
	`{"blueprint":{"version":281479272202240,"entities":[{"entity_number":1,"name":"a","position":{"x":0,"y":0},"direction":9}]}}`,
	`{"blueprint":{"version":281479272202240,"entities":[{"entity_number":1,"name":"power-switch","position":{"x":0,"y":0},"connections":{"Cu0":[{"entity_id":2,"wire_id":0}],"1":{"red":[{"entity_id":2}]}}},{"entity_number":2,"name":"pole","position":{"x":3,"y":0},"neighbours":[1]}]}}`,
	`{"blueprint":{"version":562949954142211,"entities":[{"entity_number":1,"name":"a","position":{"x":0,"y":0},"items":[{"id":{"name":"coal"},"items":{"in_inventory":[{"inventory":1,"stack":0,"count":5}],"grid_count":2}}]}],"wires":[[1,1,1,3]]}}`,
	`{"blueprint":{"entities":[{"entity_number":1,"name":"a","position":{"x":0,"y":0},"items":{"coal":5},"filter":"coal","infinity_settings":{"filters":[{"name":"coal","count":5,"index":1}]}}]}}`,
	`{"blueprint_book":{"blueprints":[{"index":1,"blueprint":{}},{"index":0,"blueprint_book":{"blueprints":[{"upgrade_planner":{}}]}}],"version":1}}`,
	`{"deconstruction_planner":{"settings":{"entity_filters":[{"name":"a","index":1}]},"label":"x"}}`,
	`{"blueprint":{"label":"\ud800\u00e9\"\\","tiles":[{"name":"t","position":{"x":-1,"y":2}}],"parameters":[{"type":"id","number":5}]}}`,
	`{"blueprint":{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`,
	`{"blueprint":{"label":"a`, `{"blueprint":{}} x`, "{\"blueprint\":{\"label\":\"\xff\"}}", `{"blueprint":{"version":-1}}`,
}

// checkDecoded is the fuzz oracle: whatever decodes must encode, and the
// encoding must decode to the same model and summary.
func checkDecoded(t *testing.T, o *Object, err error) {
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error of type %T, want *Error: %v", err, err)
		}
		return
	}
	sum := Inspect(o, func(name string) bool { return strings.HasPrefix(name, "a") })
	s, err := Encode(o)
	if err != nil {
		t.Fatalf("decoded but cannot encode: %v", err)
	}
	back, err := fuzzLimits.Decode(s)
	if err != nil {
		t.Fatalf("cannot decode our own encoding: %v", err)
	}
	if diff := cmp.Diff(o, back); diff != "" {
		t.Fatalf("decode(encode(x)) differs (-x +round trip):\n%s", diff)
	}
	if diff := cmp.Diff(sum, Inspect(back, func(name string) bool { return strings.HasPrefix(name, "a") })); diff != "" {
		t.Fatalf("summary changed over a round trip:\n%s", diff)
	}
	for _, e := range o.Blueprints() {
		if _, err := o.Select(e.Index); err != nil {
			t.Fatalf("Select(%d): %v", e.Index, err)
		}
		e.Blueprint.Bounds(nil)
	}
}

// FuzzDecode feeds whole exchange strings: the real ones, damaged copies
// and hand-made malformed ones. Its seed corpus runs in every `go test`.
func FuzzDecode(f *testing.F) {
	for _, s := range realStrings(f) {
		f.Add(s)
		f.Add(s[:len(s)/2])                    // truncated
		f.Add("1" + s[1:])                     // wrong version character
		f.Add(s[:20] + "*" + s[21:])           // bad base64
		f.Add(s[:len(s)-8] + "AAAAAAA=")       // broken zlib tail
		f.Add(strings.ReplaceAll(s, "A", "B")) // corrupt deflate data
	}
	for _, j := range malformedJSON {
		f.Add(pack(f, j))
	}
	f.Add("")
	f.Add("0")
	f.Add("0" + base64.StdEncoding.EncodeToString([]byte("not zlib")))
	f.Fuzz(func(t *testing.T, s string) {
		o, err := fuzzLimits.Decode(s)
		checkDecoded(t, o, err)
	})
}

// FuzzDecodeJSON skips the framing, so the fuzzer spends its time on the
// JSON reader and the typed decoder.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range realStrings(f) {
		f.Add(unpack(f, s))
	}
	for _, j := range malformedJSON {
		f.Add([]byte(j))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := fuzzLimits.DecodeJSON(data)
		checkDecoded(t, o, err)
	})
}

// FuzzReaderAgreesWithEncodingJSON checks the hand-written JSON reader
// accepts exactly the documents encoding/json accepts (valid UTF-8, within
// the nesting limit) and returns a value's exact bytes.
func FuzzReaderAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range realStrings(f) {
		f.Add(unpack(f, s))
	}
	for _, j := range malformedJSON {
		f.Add([]byte(j))
	}
	for _, j := range []string{`0`, `-0.5e+10`, `01`, `1.`, `.5`, `"\u12"`, `"\uD834\uDD1E"`, `[1,]`, `{"a":1,}`, `{"a" 1}`, ` true `, `nul`, "\"\t\""} {
		f.Add([]byte(j))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		r := newReader(data, 64)
		raw, err := r.skip()
		if err == nil {
			err = r.end()
		}
		var e *Error
		if errors.As(err, &e) && errors.Is(err, ErrLimit) {
			return // deeper than our limit; encoding/json allows more
		}
		if want := json.Valid(data); want != (err == nil) {
			t.Fatalf("json.Valid = %v, reader error = %v", want, err)
		}
		if err == nil && string(raw) != strings.Trim(string(data), " \t\r\n") {
			t.Fatalf("raw value %q, input %q", raw, data)
		}
	})
}
