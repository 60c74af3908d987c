package blueprint

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realDir holds exchange strings exported by the game (see SOURCES.md there).
const realDir = "../../testdata/blueprints"

// realStrings returns name -> exchange string for every real test input.
func realStrings(t testing.TB) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(realDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real blueprint strings in %s: %v", realDir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".txt")] = string(b)
	}
	return out
}

// pack frames JSON as an exchange string with the standard library alone,
// independently of Encode.
func pack(t testing.TB, json string) string {
	t.Helper()
	return packBytes(t, []byte(json))
}

func packBytes(t testing.TB, json []byte) string {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(json); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "0" + base64.StdEncoding.EncodeToString(z.Bytes())
}

// unpack is pack's inverse, again with the standard library alone.
func unpack(t testing.TB, s string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s[1:])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func mustDecode(t testing.TB, s string) *Object {
	t.Helper()
	o, err := Decode(s)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return o
}

func mustDecodeJSON(t testing.TB, json string) *Object {
	t.Helper()
	o, err := DecodeJSON([]byte(json))
	if err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	return o
}
