// Package savefile reads the fixed header of a Starlane save: what a program
// that stores or forwards saves (the controllers) needs to check one without
// the simulation. The header is 56 bytes: the magic "STARLANE", the format
// version (uint32), a CRC-32 of the compressed body (uint32), the body's length
// (uint64), all little-endian, and the prototype bundle's sha256 (32 bytes).
package savefile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// HeaderSize is the length of a save's header.
const HeaderSize = 8 + 4 + 4 + 8 + 32

var magic = []byte("STARLANE")

// ErrNewer is returned for a save of a newer format than the reader knows.
var ErrNewer = errors.New("save is from a newer Starlane")

// Header is what a save's header says.
type Header struct {
	Version    uint32
	BodySum    uint32
	BodyLen    uint64
	BundleHash string
}

// Parse reads a header, refusing a format newer than maxVersion.
func Parse(hdr []byte, maxVersion uint32) (Header, error) {
	var h Header
	if len(hdr) < HeaderSize {
		return h, fmt.Errorf("not a Starlane save (%d bytes, a header alone is %d)", len(hdr), HeaderSize)
	}
	if !bytes.Equal(hdr[:8], magic) {
		return h, errors.New("not a Starlane save (bad magic)")
	}
	h.Version = binary.LittleEndian.Uint32(hdr[8:])
	h.BodySum = binary.LittleEndian.Uint32(hdr[12:])
	h.BodyLen = binary.LittleEndian.Uint64(hdr[16:])
	h.BundleHash = hex.EncodeToString(hdr[24:56])
	if h.Version > maxVersion {
		return h, fmt.Errorf("%w: the save has format version %d, this build reads versions 1 to %d; upgrade Starlane to load it",
			ErrNewer, h.Version, maxVersion)
	}
	if h.Version == 0 {
		return h, errors.New("corrupt save: format version 0")
	}
	return h, nil
}

// Check reads a whole save's header and checks its body's length and
// checksum: a save that passes is what its writer wrote (its state is checked
// when a node loads it).
func Check(data []byte, maxVersion uint32) (Header, error) {
	h, err := Parse(data, maxVersion)
	if err != nil {
		return h, err
	}
	body := data[HeaderSize:]
	if uint64(len(body)) != h.BodyLen {
		return h, fmt.Errorf("truncated or padded save: the header says %d bytes of body, there are %d", h.BodyLen, len(body))
	}
	if crc32.ChecksumIEEE(body) != h.BodySum {
		return h, errors.New("corrupt save: body checksum mismatch")
	}
	return h, nil
}
