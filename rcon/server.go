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
	"time"
)

// Handler runs one console command line and returns its output.
type Handler func(ctx context.Context, line string) string

// Server is an RCON server. Each connection must log in (a SERVERDATA_AUTH
// packet with the password) before anything else; a wrong password is answered
// with id -1, as the protocol says, and the connection is closed.
type Server struct {
	Password string
	Handle   Handler
	Log      *slog.Logger
	// IdleTimeout closes a connection that sends nothing for this long (5 min).
	IdleTimeout time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	ln    net.Listener
	wg    sync.WaitGroup
}

// ErrNoPassword refuses to serve a console anyone could log in to.
var ErrNoPassword = errors.New("rcon: the password is empty; put one in the --rcon-password-file")

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	if s.Password == "" {
		return ErrNoPassword
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	s.ln, s.conns = ln, map[net.Conn]struct{}{}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := bufio.NewReader(c)
	authed := false
	remote := c.RemoteAddr().String()
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		p, err := ReadPacket(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.Log.Info("rcon connection closed", "remote", remote, "err", err)
			}
			return
		}
		switch {
		case p.Type == TypeAuth:
			if subtle.ConstantTimeCompare([]byte(p.Body), []byte(s.Password)) != 1 {
				s.Log.Warn("rcon login refused: wrong password", "remote", remote)
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
			if s.write(c, Packet{ID: p.ID, Type: TypeResponse, Body: fit(out)}) != nil {
				return
			}
		default:
			if s.write(c, Packet{ID: p.ID, Type: TypeResponse, Body: fmt.Sprintf("unknown packet type %d", p.Type)}) != nil {
				return
			}
		}
	}
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
