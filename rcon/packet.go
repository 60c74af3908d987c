// Package rcon serves an admin console over the Source RCON protocol (the one
// Factorio's --rcon-port speaks): a client logs in with a password and sends
// console commands, one response per command. The commands themselves belong to
// whoever runs the server (the node's console, node/console.go).
package rcon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types of the Source RCON protocol. SERVERDATA_AUTH_RESPONSE and
// SERVERDATA_EXECCOMMAND share the value 2; the direction tells them apart.
const (
	TypeResponse     int32 = 0
	TypeExecCommand  int32 = 2
	TypeAuthResponse int32 = 2
	TypeAuth         int32 = 3
)

// MaxPacket is the largest packet (its size field) accepted or sent: the
// protocol's 4096 bytes, which clients such as go-mc's DialRCON also enforce.
const MaxPacket = 4096

// minPacket is a packet with an empty body: id, type and two NUL bytes.
const minPacket = 4 + 4 + 2

// MaxBody is the longest body that fits one packet.
const MaxBody = MaxPacket - minPacket

// A Packet is one RCON message.
type Packet struct {
	ID   int32
	Type int32
	Body string
}

// ErrPacket is wrapped by every decoding error.
var ErrPacket = errors.New("bad rcon packet")

// ReadPacket reads one packet. It never allocates more than MaxPacket bytes,
// whatever the size field claims.
func ReadPacket(r io.Reader) (Packet, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Packet{}, err
	}
	size := int32(binary.LittleEndian.Uint32(hdr[:]))
	if size > MaxPacket && size <= maxSkip {
		return Packet{}, &TooLongError{Size: size}
	}
	if size < minPacket || size > MaxPacket {
		return Packet{}, fmt.Errorf("%w: size %d outside %d..%d", ErrPacket, size, minPacket, MaxPacket)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, err
	}
	return decode(buf)
}

// maxSkip is the largest packet ReadPacket reports as too long (and Skip
// reads past) rather than as damaged.
const maxSkip = 1 << 20

// TooLongError is a packet over MaxPacket but small enough to read past: the
// connection can go on after Skip.
type TooLongError struct{ Size int32 }

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%v: size %d over %d", ErrPacket, e.Size, MaxPacket)
}

func (e *TooLongError) Unwrap() error { return ErrPacket }

// Skip reads the rest of the too-long packet from r (what follows its size
// field) and returns its id, so the answer can name it.
func (e *TooLongError) Skip(r io.Reader) (int32, error) {
	var id [4]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return 0, err
	}
	if _, err := io.CopyN(io.Discard, r, int64(e.Size)-4); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(id[:])), nil
}

// decode parses a packet's bytes after the size field.
func decode(buf []byte) (Packet, error) {
	if len(buf) < minPacket {
		return Packet{}, fmt.Errorf("%w: %d bytes", ErrPacket, len(buf))
	}
	p := Packet{ID: int32(binary.LittleEndian.Uint32(buf)), Type: int32(binary.LittleEndian.Uint32(buf[4:]))}
	body := buf[8:]
	if body[len(body)-1] != 0 || body[len(body)-2] != 0 {
		return Packet{}, fmt.Errorf("%w: body is not NUL-terminated", ErrPacket)
	}
	body = body[:len(body)-2]
	for _, b := range body {
		if b == 0 {
			return Packet{}, fmt.Errorf("%w: NUL inside the body", ErrPacket)
		}
	}
	p.Body = string(body)
	return p, nil
}

// Append encodes p onto b. A body longer than MaxBody is an error: split it.
func (p Packet) Append(b []byte) ([]byte, error) {
	if len(p.Body) > MaxBody {
		return b, fmt.Errorf("rcon body of %d bytes is over %d", len(p.Body), MaxBody)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(minPacket+len(p.Body)))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.ID))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Type))
	b = append(b, p.Body...)
	return append(b, 0, 0), nil
}
