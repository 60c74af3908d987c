package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A bundle whose stack sizes the 32-bit item counts cannot hold is refused when
// it is read, before any surface runs with it (2^31-1 overflowed in the first
// chest that added two stacks, and hot standbys drifted from their primaries).
func TestBundleStackSizesAreBounded(t *testing.T) {
	for size, ok := range map[int32]bool{1: true, 500: true, MaxStackSize: true, MaxStackSize + 1: false, 2147483647: false, 0: false, -5: false} {
		data, err := DefaultBundle().CanonicalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var b Bundle
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		b.Items[0].StackSize = size
		if data, err = json.Marshal(&b); err != nil {
			t.Fatal(err)
		}
		_, err = LoadBundle(bytes.NewReader(data))
		if ok && err != nil {
			t.Errorf("stack size %d refused: %v", size, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "is out of range: 1 to 1000000")) {
			t.Errorf("stack size %d: %v, want it refused with the range", size, err)
		}
	}
}

// A bundle file that does not decode says where and what is wrong in the file's
// terms, not the Go type it was to fill ("cannot unmarshal number … into Go
// struct field ItemProto.items.stack_size of type int32").
func TestBundleDecodeErrorsReadPlainly(t *testing.T) {
	data, err := DefaultBundle().CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// field replaces the value of the first stack_size with v.
	field := func(v string) string {
		return strings.Replace(string(data), `"stack_size":`, `"stack_size":`+v+`,"stack_size_was":`, 1)
	}
	for name, c := range map[string]struct{ file, want string }{
		"number out of range": {field("1000000000000000000000000000000"), "field items.stack_size (byte"},
		"wrong type":          {field(`"fifty"`), "string is not a whole number from -2147483648 to 2147483647"},
		"unknown field":       {strings.Replace(string(data), `"stack_size":`, `"stack_sise":`, 1), `unknown field "stack_sise"`},
		"not JSON":            {"Some text, not a bundle", "not valid JSON at byte 1"},
		"cut short":           {string(data[:len(data)/2]), "the file ends before the bundle does"},
	} {
		_, err := LoadBundle(strings.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "json:") {
			t.Errorf("%s: %v; want it to say %q in plain words", name, err, c.want)
		}
	}
}
