package rcon

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

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

// flakyListener fails its first accepts as a process out of file descriptors
// does, then accepts as usual.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A flood of connections that never log in, and accept errors such as running
// out of file descriptors, cost the console a while, not its life: extra
// connections are closed at once (a client is not left hanging), idle ones are
// closed at the login deadline, accepting resumes after an error, and the
// console answers again.
func TestConsoleOutlivesAConnectionFlood(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Password: "hunter2", Handle: func(context.Context, string) string { return "ok" }, MaxConns: 4, LoginTimeout: 300 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- s.Serve(&flakyListener{Listener: ln, fails: 3}) }()
	t.Cleanup(func() { s.Close() })
	addr := ln.Addr().String()

	var idle []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	start := time.Now()
	if c, err := mcnet.DialRCON(addr, "hunter2"); err == nil {
		c.Close() // a slot was free after all: fine
	} else if time.Since(start) > 2*time.Second {
		t.Fatalf("a client during the flood waited %v: %v", time.Since(start), err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := mcnet.DialRCON(addr, "hunter2")
		if err == nil {
			if err := c.Cmd("/time"); err != nil {
				t.Fatal(err)
			}
			if got, err := c.Resp(); err != nil || got != "ok" {
				t.Fatalf("after the flood: %q %v", got, err)
			}
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console never answered again after the flood: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
}

// Wrong passwords from one address are answered later and later, so guessing
// is slow; the right one is still let in at once.
func TestWrongPasswordsAreAnsweredSlowly(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(context.Context, string) string { return "ok" })
	var took []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := mcnet.DialRCON(addr, "guess"); err == nil {
			t.Fatal("a wrong password was let in")
		}
		took = append(took, time.Since(start))
	}
	if took[0] < firstLoginDelay || took[2] < 4*firstLoginDelay {
		t.Fatalf("wrong passwords answered after %v: want at least %v, then growing to %v", took, firstLoginDelay, 4*firstLoginDelay)
	}
	start := time.Now()
	c, err := mcnet.DialRCON(addr, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the right password took %v after the wrong ones", d)
	}
}

// A command over the protocol's 4 KiB is answered with why, and the session
// goes on; control characters the output repeats arrive escaped.
func TestLongCommandAndEscapesAreAnswered(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(_ context.Context, line string) string {
		return "player " + strings.TrimPrefix(line, "/kick ") + " is not connected\nsecond line"
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(p Packet) Packet {
		t.Helper()
		var b []byte
		if len(p.Body) > MaxBody {
			// Encoded by hand: Append refuses it.
			b = binary.LittleEndian.AppendUint32(b, uint32(minPacket+len(p.Body)))
			b = binary.LittleEndian.AppendUint32(b, uint32(p.ID))
			b = binary.LittleEndian.AppendUint32(b, uint32(p.Type))
			b = append(append(b, p.Body...), 0, 0)
		} else {
			b, _ = p.Append(nil)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		r, err := ReadPacket(c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := send(Packet{ID: 1, Type: TypeAuth, Body: "hunter2"}); r.ID != 1 {
		t.Fatalf("login: %+v", r)
	}
	if r := send(Packet{ID: 2, Type: TypeExecCommand, Body: "/kick " + strings.Repeat("b", 5000)}); r.ID != 2 || !strings.Contains(r.Body, "too long") {
		t.Fatalf("a 5 KB command: %+v, want an answer saying it is too long", r)
	}
	r := send(Packet{ID: 3, Type: TypeExecCommand, Body: "/kick x\x1b]0;pwned\a\x1b[2J"})
	if strings.ContainsAny(r.Body, "\x1b\a") || !strings.Contains(r.Body, `x\x1b]0;pwned\a\x1b[2J`) || !strings.Contains(r.Body, "\nsecond line") {
		t.Fatalf("escapes in the output: %q", r.Body)
	}
}
