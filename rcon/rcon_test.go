package rcon

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	mcnet "github.com/Tnze/go-mc/net"
)

func serve(t *testing.T, h Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Password: "hunter2", Handle: h}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// TestDialRCON drives the server with go-mc's Source RCON client.
func TestDialRCON(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(_ context.Context, line string) string {
		if line == "/big" {
			return strings.Repeat("0123456789\n", 1000)
		}
		return "you said " + line
	})
	if _, err := mcnet.DialRCON(addr, "wrong"); err == nil || err.Error() != "login fail" {
		t.Fatalf("wrong password: %v, want the client's \"login fail\"", err)
	}
	c, err := mcnet.DialRCON(addr, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"/players", "/time"} {
		if err := c.Cmd(cmd); err != nil {
			t.Fatal(err)
		}
		got, err := c.Resp()
		if err != nil || got != "you said "+cmd {
			t.Fatalf("%s: %q %v", cmd, got, err)
		}
	}
	if err := c.Cmd("/big"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Resp()
	if err != nil || !strings.HasSuffix(got, "(output cut at 4 KiB)") || len(got) > MaxBody {
		t.Fatalf("long output: %d bytes, %v", len(got), err)
	}
}

// TestCommandBeforeLogin: a command without logging in closes the connection.
func TestCommandBeforeLogin(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(context.Context, string) string { return "ran" })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := Packet{ID: 7, Type: TypeExecCommand, Body: "/ban bob"}.Append(nil)
	c.Write(b)
	p, err := ReadPacket(c)
	if err != nil || p.ID != -1 {
		t.Fatalf("command before login: %+v %v", p, err)
	}
	if _, err := ReadPacket(c); err == nil {
		t.Fatal("connection still open after a command before login")
	}
}

func TestPacketRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range []Packet{{ID: 1, Type: TypeAuth, Body: "pw"}, {ID: -1, Type: TypeAuthResponse}, {ID: 9, Type: TypeResponse, Body: strings.Repeat("x", MaxBody)}} {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadPacket(bytes.NewReader(b))
		if err != nil || got != p {
			t.Fatalf("round trip of %d-byte body: %+v %v", len(p.Body), got.ID, err)
		}
	}
	if _, err := (Packet{Body: strings.Repeat("x", MaxBody+1)}).Append(nil); err == nil {
		t.Fatal("an oversized body was encoded")
	}
	for name, in := range map[string][]byte{
		"huge size":     {0xff, 0xff, 0xff, 0x7f},
		"negative size": {0xff, 0xff, 0xff, 0xff},
		"short":         {9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0},
		"no NUL":        {10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 'b'},
	} {
		if _, err := ReadPacket(bytes.NewReader(in)); !errors.Is(err, ErrPacket) && name != "short" {
			t.Errorf("%s: %v, want ErrPacket", name, err)
		}
	}
}

// FuzzReadPacket: the decoder never panics, never reads past the size it
// accepted, and what it accepts encodes back to the same bytes.
func FuzzReadPacket(f *testing.F) {
	for _, p := range []Packet{{ID: 1, Type: TypeAuth, Body: "secret"}, {ID: 2, Type: TypeExecCommand, Body: "/players"}, {}} {
		b, _ := p.Append(nil)
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		p, err := ReadPacket(r)
		if err != nil {
			return
		}
		used := len(data) - r.Len()
		b, err := p.Append(nil)
		if err != nil {
			t.Fatalf("accepted packet does not encode: %v", err)
		}
		if !bytes.Equal(b, data[:used]) {
			t.Fatalf("re-encoding differs: %x vs %x", b, data[:used])
		}
	})
}
