package rcon

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/starlane/starlane/internal/validate"
)

// Handler runs one console command line and returns its output.
type Handler func(ctx context.Context, line string) string

// Server is an RCON server. Each connection must log in (a SERVERDATA_AUTH
// packet with the password) before anything else; a wrong password is answered
// with id -1, as the protocol says, and the connection is closed.
//
// Whoever reaches the port can try, so the server bounds what that costs it:
// at most MaxConns connections at a time (more are closed at once), a
// connection must log in within LoginTimeout, a wrong password is answered
// only after a delay that doubles with each failure from the same address (up
// to maxLoginDelay), and an accept error such as running out of file
// descriptors is waited out, not fatal.
type Server struct {
	Password string
	Handle   Handler
	Log      *slog.Logger
	// IdleTimeout closes a connection that sends nothing for this long (5 min).
	IdleTimeout time.Duration
	// LoginTimeout closes a connection that has not logged in after this long (10 s).
	LoginTimeout time.Duration
	// MaxConns is how many connections may be open at once (16).
	MaxConns int

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	ln       net.Listener
	wg       sync.WaitGroup
	failures map[string]loginFailures // by remote IP
}

// loginFailures counts recent wrong passwords from one address.
type loginFailures struct {
	n    int
	last time.Time
}

const (
	// A wrong password is answered after firstLoginDelay, doubled for each
	// earlier failure from the same address, at most maxLoginDelay; an address
	// quiet for failureMemory starts again.
	firstLoginDelay = 250 * time.Millisecond
	maxLoginDelay   = 15 * time.Second
	failureMemory   = 10 * time.Minute
)

// ErrNoPassword refuses to serve a console anyone could log in to.
var ErrNoPassword = errors.New("rcon: the password is empty; put one in the --rcon-password-file")

// Serve accepts connections on ln until Close. It returns only when ln is
// closed, or with an error that accepting again cannot mend; the listener is
// closed then too, so clients are refused instead of left waiting.
func (s *Server) Serve(ln net.Listener) error {
	if s.Password == "" {
		return ErrNoPassword
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	s.mu.Lock()
	s.ln, s.conns, s.failures = ln, map[net.Conn]struct{}{}, map[string]loginFailures{}
	s.mu.Unlock()
	var backoff time.Duration
	var refused int
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if temporaryAccept(err) {
				// Out of file descriptors, or a connection reset before it was
				// accepted: wait and accept again, as net/http does.
				if backoff == 0 {
					backoff = 5 * time.Millisecond
					s.Log.Warn("rcon: cannot accept a connection; retrying", "err", err)
				} else {
					backoff = min(2*backoff, time.Second)
				}
				time.Sleep(backoff)
				continue
			}
			ln.Close()
			return err
		}
		backoff = 0
		s.mu.Lock()
		full := len(s.conns) >= maxConns
		if !full {
			s.conns[c] = struct{}{}
		}
		s.mu.Unlock()
		if full {
			if refused++; refused == 1 || refused%1000 == 0 {
				s.Log.Warn("rcon: too many connections; closing new ones", "max", maxConns, "closed", refused, "remote", c.RemoteAddr().String())
			}
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// temporaryAccept reports whether an accept error may pass: too many open
// files (the process's or the system's), no buffer space, or a connection
// aborted before it was accepted.
func temporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// loginDelay notes a wrong password from remote and returns how long to wait
// before saying so.
func (s *Server) loginDelay(remote string, now time.Time) time.Duration {
	ip := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		ip = h
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[ip]
	if now.Sub(f.last) > failureMemory {
		f.n = 0
	}
	f.n++
	f.last = now
	s.failures[ip] = f
	if len(s.failures) > 10_000 {
		for k, v := range s.failures {
			if now.Sub(v.last) > failureMemory {
				delete(s.failures, k)
			}
		}
	}
	d := firstLoginDelay << min(f.n-1, 10)
	return min(d, maxLoginDelay)
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	login := s.LoginTimeout
	if login <= 0 {
		login = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := bufio.NewReader(c)
	authed := false
	remote := c.RemoteAddr().String()
	loginBy := time.Now().Add(login)
	for {
		deadline := time.Now().Add(idle)
		if !authed {
			deadline = loginBy
		}
		c.SetReadDeadline(deadline)
		p, err := ReadPacket(r)
		var long *TooLongError
		if errors.As(err, &long) && authed {
			// Say why instead of resetting the connection: a client that
			// sent one command too long can send the next.
			id, err := long.Skip(r)
			if err != nil {
				return
			}
			if s.write(c, Packet{ID: id, Type: TypeResponse, Body: fmt.Sprintf("command of %d bytes is too long: the console takes at most %d", long.Size-minPacket, MaxBody)}) != nil {
				return
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.Log.Info("rcon connection closed", "remote", remote, "err", err)
			}
			return
		}
		switch {
		case p.Type == TypeAuth:
			if subtle.ConstantTimeCompare([]byte(p.Body), []byte(s.Password)) != 1 {
				d := s.loginDelay(remote, time.Now())
				s.Log.Warn("rcon login refused: wrong password", "remote", remote, "answered_after", d)
				time.Sleep(d)
				s.write(c, Packet{ID: -1, Type: TypeAuthResponse})
				return
			}
			authed = true
			s.Log.Info("rcon login", "remote", remote)
			if s.write(c, Packet{ID: p.ID, Type: TypeAuthResponse}) != nil {
				return
			}
		case !authed:
			s.Log.Warn("rcon command before login", "remote", remote)
			s.write(c, Packet{ID: -1, Type: TypeAuthResponse})
			return
		case p.Type == TypeExecCommand:
			out := s.Handle(ctx, p.Body)
			s.Log.Info("rcon command", "remote", remote, "command", clip(p.Body, 80))
			if s.write(c, Packet{ID: p.ID, Type: TypeResponse, Body: fit(escapeLines(out))}) != nil {
				return
			}
		default:
			if s.write(c, Packet{ID: p.ID, Type: TypeResponse, Body: fmt.Sprintf("unknown packet type %d", p.Type)}) != nil {
				return
			}
		}
	}
}

// escapeLines writes control characters in a command's output as escapes
// (\x1b, \a), line by line: the output repeats what the command was given (a
// player's name as typed), and an operator's terminal must not run it.
func escapeLines(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && validate.IsControl(r) }) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = validate.Escape(l)
	}
	return strings.Join(lines, "\n")
}

func (s *Server) write(c net.Conn, p Packet) error {
	b, err := p.Append(nil)
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write(b)
	return err
}

// fit cuts output to one packet at a line boundary, saying what was left out:
// common clients read one packet per command.
func fit(s string) string {
	if len(s) <= MaxBody {
		return s
	}
	const note = "\n… (output cut at 4 KiB)"
	cut := s[:MaxBody-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
