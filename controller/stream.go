package controller

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
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
	// Raft traffic goes to controllers only: a node's certificate, valid for the
	// same CA and perhaps the same host, never receives log entries.
	cfg.VerifyConnection = tlsconf.RequireRoles(tlsconf.RoleController)
	return tls.DialWithDialer(d, "tcp", string(addr), cfg)
}

// advertisedAddr is a Raft address kept as the operator wrote it. A host name stays
// a name, not the IP it resolves to at start: peers dial it by name, check its TLS
// certificate against that name, and follow it when the host's IP changes (a
// container restarted on a new address).
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// checkAdvertise checks that addr is HOST:PORT with a host peers can dial.
func checkAdvertise(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("%q: port must be a number from 1 to 65535", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%q: name a host or address peers can reach, not an unspecified one", addr)
	}
	return nil
}
