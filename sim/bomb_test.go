package sim

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// bombSave writes a save whose header is valid and whose body inflates to size
// zero bytes. With declare, the zstd frame states declared as its size (which
// may lie); without, it states none, as saves of older builds did.
func bombSave(t testing.TB, size int64, declare bool, declared int64) []byte {
	t.Helper()
	var z bytes.Buffer
	var opts = []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1)}
	zw, err := zstd.NewWriter(&z, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if declare {
		zw.ResetContentSize(&z, declared)
	}
	if _, err := io.Copy(zw, io.LimitReader(zeros{}, size)); err != nil && !(declare && strings.Contains(err.Error(), "content size")) {
		t.Fatal(err)
	}
	zw.Close()
	var hdr [headerSize]byte
	copy(hdr[:8], saveMagic[:])
	binary.LittleEndian.PutUint32(hdr[8:], SaveVersion)
	binary.LittleEndian.PutUint32(hdr[12:], crc32.ChecksumIEEE(z.Bytes()))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(z.Len()))
	h, _ := hexDecode(DefaultBundle().Hash())
	copy(hdr[24:], h)
	return append(hdr[:], z.Bytes()...)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSaveBombIsRefusedWithinItsLimit: a save whose state inflates past the
// limit is refused while holding no more than the limit. Before the limit came
// from the frame, a 51,852-byte save inflating to 1.5 GB made `sim run --map`
// use 3.13 GB before it failed.
func TestSaveBombIsRefusedWithinItsLimit(t *testing.T) {
	const limit = 32 << 20
	for _, tc := range []struct {
		name     string
		size     int64
		declare  bool
		declared int64
		want     string
	}{
		{"no declared size", 256 << 20, false, 0, "inflates past the 33554432 byte limit"},
		{"declares too much", 64 << 20, true, 64 << 20, "declares 67108864 bytes, over the 33554432 byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			save := bombSave(t, tc.size, tc.declare, tc.declared)
			if len(save) > 64<<10 {
				t.Fatalf("bomb is %d bytes; want a small file", len(save))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := LoadLimited(DefaultBundle(), bytes.NewReader(save), limit)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load of a bomb: %v; want %q", err, tc.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit+16<<20 {
				t.Errorf("refusing the bomb allocated %d MB; want at most the %d MB limit and a few MB", alloc>>20, limit>>20)
			}
		})
	}
}

// TestSaveRoundTripDeclaresItsSize: saves written now declare their state's
// size, and saves that do not (older builds) still load.
func TestSaveRoundTripDeclaresItsSize(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "starter", 7, "nauvis")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	var fh zstd.Header
	if err := fh.Decode(buf.Bytes()[headerSize:]); err != nil || !fh.HasFCS {
		t.Fatalf("save frame header: %+v, %v; want a declared size", fh, err)
	}
	// Re-encode the same body as an older build did: a stream without a size.
	_, body, err := readSave(bytes.NewReader(buf.Bytes()), DefaultMaxStateBytes)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z, zstd.WithEncoderConcurrency(1))
	zw.Write(body)
	zw.Close()
	old := append([]byte(nil), buf.Bytes()[:headerSize]...)
	binary.LittleEndian.PutUint32(old[12:], crc32.ChecksumIEEE(z.Bytes()))
	binary.LittleEndian.PutUint64(old[16:], uint64(z.Len()))
	old = append(old, z.Bytes()...)
	back, err := Load(DefaultBundle(), bytes.NewReader(old))
	if err != nil {
		t.Fatalf("load of a save without a declared size: %v", err)
	}
	if back.Hash() != s.Hash() {
		t.Fatal("the older save loaded to another state")
	}
}
