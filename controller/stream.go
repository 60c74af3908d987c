package controller

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/starlane/starlane/internal/tlsconf"
)

// streamLayer is the Raft transport's connection layer: a (possibly TLS) listener
// and a dialer using the same TLS settings.
type streamLayer struct {
	net.Listener
	adv net.Addr
	tls tlsconf.Config
}

func (s *streamLayer) Addr() net.Addr { return s.adv }

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	cfg, err := s.tls.ClientFor(string(addr))
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return d.Dial("tcp", string(addr))
	}
	return tls.DialWithDialer(d, "tcp", string(addr), cfg)
}
