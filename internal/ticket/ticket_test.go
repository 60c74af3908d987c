package ticket

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_700_000_000_000)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	other := ed25519.NewKeyFromSeed([]byte(strings.Repeat("x", 32)))
	good, err := Sign(priv, &pb.PlayerTicket{Player: "bob", ExpiresUnixMs: now.Add(time.Minute).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := Sign(priv, &pb.PlayerTicket{Player: "bob", ExpiresUnixMs: now.UnixMilli()})
	foreign, _ := Sign(other, &pb.PlayerTicket{Player: "bob", ExpiresUnixMs: now.Add(time.Minute).UnixMilli()})
	// Flip one character of the payload: the signature no longer matches.
	i := len(prefix) + 3
	tampered := good[:i] + string("AB"[boolInt(good[i] == 'A')]) + good[i+1:]

	c, err := Verify(priv.Public().(ed25519.PublicKey), good, now)
	if err != nil || c.Player != "bob" {
		t.Fatalf("good ticket: %v %v", c, err)
	}
	for name, tc := range map[string]struct {
		ticket string
		want   error
	}{
		"missing":  {"", ErrMissing},
		"expired":  {old, ErrExpired},
		"foreign":  {foreign, ErrWrongKey},
		"tampered": {tampered, ErrInvalid},
		"garbage":  {"slt1.%%%.%%%", ErrInvalid},
		"huge":     {prefix + strings.Repeat("A", 2000), ErrInvalid},
	} {
		if _, err := Verify(priv.Public().(ed25519.PublicKey), tc.ticket, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
