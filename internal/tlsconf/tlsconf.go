// Package tlsconf holds the TLS settings shared by every Starlane listener and
// client (gRPC and Raft): one set of flags, one place that decides whether a
// connection is encrypted. Without certificates a process runs in plaintext, and
// then only on loopback addresses.
//
// Mutual TLS, join tokens and ACL tokens are layered on top later: RequireClientCert
// turns on client verification and Config is the one value every listener and
// dialer receives, so adding fields here reaches all of them.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Config is the TLS settings of one process.
type Config struct {
	// CertFile and KeyFile are this process's certificate and key (PEM). A server
	// needs both to serve TLS; a client presents them when given.
	CertFile string
	KeyFile  string
	// CAFile is the cluster CA (PEM) that peers' certificates are checked against.
	CAFile string
	// RequireClientCert makes servers demand and verify a client certificate
	// signed by CAFile (mutual TLS).
	RequireClientCert bool
}

// AddFlags registers --tls-cert, --tls-key and --tls-ca on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.CertFile, "tls-cert", os.Getenv("STARLANE_TLS_CERT"), "TLS certificate file (PEM) (env STARLANE_TLS_CERT)")
	fs.StringVar(&c.KeyFile, "tls-key", os.Getenv("STARLANE_TLS_KEY"), "TLS private key file (PEM) (env STARLANE_TLS_KEY)")
	fs.StringVar(&c.CAFile, "tls-ca", os.Getenv("STARLANE_TLS_CA"), "cluster CA certificate file (PEM) (env STARLANE_TLS_CA)")
}

// Enabled reports whether any TLS setting is given.
func (c Config) Enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || c.CAFile != ""
}

// Validate checks that the settings make sense together.
func (c Config) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key must be given together")
	}
	if c.RequireClientCert && c.CAFile == "" {
		return errors.New("client certificate verification needs --tls-ca")
	}
	return nil
}

// Server returns the TLS configuration for a listener, or nil for plaintext.
func (c Config) Server() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.CertFile == "" {
		return nil, errors.New("serving TLS needs --tls-cert and --tls-key")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair %s, %s: %w", c.CertFile, c.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if c.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}

// Client returns the TLS configuration for dialing, or nil for plaintext. The
// server's certificate is checked against CAFile (or the system roots).
func (c Config) Client() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS key pair %s, %s: %w", c.CertFile, c.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ClientFor returns Client() with ServerName set from addr's host, for dialers that
// do not set it themselves (the Raft stream layer).
func (c Config) ClientFor(addr string) (*tls.Config, error) {
	cfg, err := c.Client()
	if err != nil || cfg == nil {
		return cfg, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	cfg.ServerName = host
	return cfg, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS CA %s holds no PEM certificate", file)
	}
	return pool, nil
}

// Listen opens a TCP listener on addr, wrapped in TLS when configured (for raw
// stream protocols such as Raft). See ListenTCP for the rules.
func (c Config) Listen(addr, what string, log *slog.Logger) (net.Listener, error) {
	ln, srv, err := c.ListenTCP(addr, what, log)
	if err != nil || srv == nil {
		return ln, err
	}
	return tls.NewListener(ln, srv), nil
}

// ListenTCP opens a plain TCP listener and returns the server TLS configuration
// to use on it (nil for plaintext), for servers that do the handshake themselves
// (gRPC, which needs ALPN and exposes the peer certificate to handlers). Without
// TLS it refuses any address that is not loopback and logs that it runs in
// plaintext. what names the listener in messages ("gRPC API", "Raft").
func (c Config) ListenTCP(addr, what string, log *slog.Logger) (net.Listener, *tls.Config, error) {
	srv, err := c.Server()
	if err != nil {
		return nil, nil, err
	}
	if srv == nil {
		if err := CheckLoopback(addr); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: listen on %s: %w", what, addr, err)
	}
	if srv == nil {
		if log != nil {
			log.Warn("listening in plaintext on loopback only; pass --tls-cert/--tls-key/--tls-ca to serve other addresses", "listener", what, "addr", ln.Addr().String())
		}
		return ln, nil, nil
	}
	if log != nil {
		log.Info("listening with TLS", "listener", what, "addr", ln.Addr().String(), "client_certs", c.RequireClientCert)
	}
	return ln, srv, nil
}

// CheckLoopback returns an error unless addr's host is a loopback address (or
// "localhost").
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if IsLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("refusing plaintext on %s: only loopback addresses run without TLS; bind to 127.0.0.1 or pass --tls-cert, --tls-key and --tls-ca", addr)
}

// IsLoopbackHost reports whether host is "localhost" or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
