package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A small binary codec shared by actions and saves: unsigned and zig-zag varints and
// length-prefixed byte strings. The decoder never panics on bad input; it records the
// first error and returns zero values after it.

type encoder struct{ buf []byte }

func (e *encoder) u(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) i(v int64)  { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) b(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
func (e *encoder) str(s string) {
	e.u(uint64(len(s)))
	e.buf = append(e.buf, s...)
}
func (e *encoder) bytes(p []byte) {
	e.u(uint64(len(p)))
	e.buf = append(e.buf, p...)
}

type decoder struct {
	buf []byte
	err error
	// remap translates indexes of a save made with an earlier bundle (legacy.go).
	remap *remap
}

var errShort = errors.New("unexpected end of data")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) b() bool {
	if d.err != nil {
		return false
	}
	if len(d.buf) == 0 {
		d.fail(errShort)
		return false
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	if v > 1 {
		d.fail(fmt.Errorf("bad boolean %d", v))
	}
	return v == 1
}

// n reads a count that must not exceed limit (to refuse absurd allocations).
func (d *decoder) n(limit int) int {
	v := d.u()
	if v > uint64(limit) {
		d.fail(fmt.Errorf("count %d exceeds limit %d", v, limit))
		return 0
	}
	return int(v)
}

func (d *decoder) raw(limit int) []byte {
	n := d.n(limit)
	if d.err != nil {
		return nil
	}
	if n > len(d.buf) {
		d.fail(errShort)
		return nil
	}
	p := d.buf[:n:n]
	d.buf = d.buf[n:]
	return p
}

func (d *decoder) str(limit int) string { return string(d.raw(limit)) }

func (d *decoder) i32() int32 {
	v := d.i()
	if v < -1<<31 || v > 1<<31-1 {
		d.fail(fmt.Errorf("value %d out of int32 range", v))
		return 0
	}
	return int32(v)
}

func (d *decoder) u32() uint32 {
	v := d.u()
	if v > 1<<32-1 {
		d.fail(fmt.Errorf("value %d out of uint32 range", v))
		return 0
	}
	return uint32(v)
}
