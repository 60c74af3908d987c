// Package simtest makes hostile simulation inputs for tests of the packages
// that load saves and checkpoints.
package simtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/starlane/starlane/sim"
)

// BombSave returns a save with a valid header (for the default bundle) whose
// state is size zero bytes compressed without a declared size: a few tens of KB
// that inflate to whatever size is asked.
func BombSave(size int64) ([]byte, error) {
	var z bytes.Buffer
	zw, err := zstd.NewWriter(&z, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, io.LimitReader(zeros{}, size)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	s, err := sim.NewMap(sim.DefaultBundle(), "empty", 1, "bomb")
	if err != nil {
		return nil, err
	}
	var real bytes.Buffer
	if err := s.Save(&real); err != nil {
		return nil, err
	}
	// The header: magic, version, body checksum, body length, bundle hash.
	hdr := append([]byte(nil), real.Bytes()[:56]...)
	binary.LittleEndian.PutUint32(hdr[12:], crc32.ChecksumIEEE(z.Bytes()))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(z.Len()))
	return append(hdr, z.Bytes()...), nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
