// Package ticket signs and verifies player tickets: short-lived statements by
// the controllers that "this connection plays as NAME", signed with ed25519 so a
// node checks them offline with the public key it got on its assignments
// stream. The controllers hold the private key in their replicated state.
package ticket

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// prefix starts every ticket; the version is part of it.
const prefix = "slt1."

// MaxBytes bounds a ticket as it arrives at a node.
const MaxBytes = 1024

// DefaultTTL is how long a ticket is valid: long enough to join and rejoin after
// a failover, short enough that a ban or a lost key is not usable for long.
const DefaultTTL = 15 * time.Minute

// Errors a node reports to a player.
var (
	ErrMissing  = errors.New("this cluster admits players with a ticket only: get one from the controllers (starlane play does)")
	ErrInvalid  = errors.New("the player ticket is not valid")
	ErrExpired  = errors.New("the player ticket expired; get a new one")
	ErrWrongKey = errors.New("the player ticket was signed by another cluster's key")
)

// KeyID names a public key: the first 12 hex digits of its sha256.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:6])
}

// Sign returns a ticket for claims signed with priv.
func Sign(priv ed25519.PrivateKey, c *pb.PlayerTicket) (string, error) {
	c = proto.Clone(c).(*pb.PlayerTicket)
	c.KeyId = KeyID(priv.Public().(ed25519.PublicKey))
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode ticket: %w", err)
	}
	sig := ed25519.Sign(priv, payload)
	enc := base64.RawURLEncoding
	return prefix + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig), nil
}

// Verify checks a ticket's signature against pub and its expiry against now,
// and returns its claims.
func Verify(pub ed25519.PublicKey, t string, now time.Time) (*pb.PlayerTicket, error) {
	if t == "" {
		return nil, ErrMissing
	}
	if len(t) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(t), MaxBytes)
	}
	rest, ok := strings.CutPrefix(t, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown format", ErrInvalid)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, fmt.Errorf("%w: no signature", ErrInvalid)
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if err1 != nil || err2 != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: bad encoding", ErrInvalid)
	}
	var c pb.PlayerTicket
	if err := proto.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: bad payload", ErrInvalid)
	}
	if c.KeyId != KeyID(pub) {
		return nil, ErrWrongKey
	}
	if !ed25519.Verify(pub, payload, sig) {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	if now.UnixMilli() >= c.ExpiresUnixMs {
		return nil, ErrExpired
	}
	return &c, nil
}
