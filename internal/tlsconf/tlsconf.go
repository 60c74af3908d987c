// Package tlsconf holds the TLS settings shared by every Starlane listener and
// client (gRPC and Raft): one set of flags, one place that decides whether a
// connection is encrypted. Without certificates a process runs in plaintext, and
// then only on loopback addresses. With them every connection is mutual TLS: a
// listener demands a client certificate signed by the cluster CA, and the role
// written into that certificate (roles.go) decides what the peer may call.
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
	"time"

	"github.com/spf13/pflag"
)

// Config is the TLS settings of one process.
type Config struct {
	// CertFile and KeyFile are this process's certificate and key (PEM). A server
	// needs both to serve TLS; a client presents them when given.
	CertFile string
	KeyFile  string
	// CAFile is the cluster CA (PEM) that peers' certificates are checked against,
	// both ways: servers demand a client certificate signed by it.
	CAFile string
	// Now is the clock the own certificate's validity is checked against
	// (time.Now when nil).
	Now func() time.Time
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
	if !c.Enabled() {
		return nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key must be given together")
	}
	if c.CAFile == "" {
		return errors.New("TLS needs --tls-ca, the cluster CA that every peer's certificate is checked against (make one with: starlane tls init)")
	}
	if c.CertFile == "" {
		return errors.New("TLS needs a certificate of this process: pass --tls-cert and --tls-key (every listener demands one; make it with: starlane tls cert NAME --role operator)")
	}
	return nil
}

// Server returns the TLS configuration for a listener, or nil for plaintext.
// Every TLS listener is mutual: a client without a certificate signed by the
// cluster CA fails the handshake.
func (c Config) Server() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cert, err := c.loadPair()
	if err != nil {
		return nil, err
	}
	pool, err := loadPool(c.CAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}, nil
}

// loadPair loads this process's certificate and checks that it carries a role,
// so a certificate from before roles fails at start, not at the first call.
func (c Config) loadPair() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return cert, fmt.Errorf("load TLS key pair %s, %s: %w", c.CertFile, c.KeyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return cert, fmt.Errorf("TLS certificate %s: %w", c.CertFile, err)
	}
	role, err := RoleOf(leaf)
	if err != nil {
		return cert, fmt.Errorf("TLS certificate %s: %w", c.CertFile, err)
	}
	if err := checkValidity(c.CertFile, leaf, role, c.now()); err != nil {
		return cert, err
	}
	cert.Leaf = leaf
	return cert, nil
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// checkValidity refuses a certificate that is expired or not yet valid at now:
// every peer would refuse it in the handshake, so a process says so before
// dialing or serving instead of retrying until its deadline.
func checkValidity(file string, leaf *x509.Certificate, role Role, now time.Time) error {
	remake := fmt.Sprintf("make a new one with `starlane tls cert %s --role %s`", certName(leaf), role)
	const when = "2006-01-02 15:04 UTC"
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("%s expired at %s; %s", file, leaf.NotAfter.UTC().Format(when), remake)
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("%s is not valid until %s; check this host's clock, or %s", file, leaf.NotBefore.UTC().Format(when), remake)
	}
	return nil
}

// certName is the NAME to give `starlane tls cert` for a new copy of leaf: its
// common name when that is a valid certificate name, else a placeholder.
func certName(leaf *x509.Certificate) string {
	if CheckName(leaf.Subject.CommonName) == nil {
		return leaf.Subject.CommonName
	}
	return "NAME"
}

// RequireOwnRole checks, at start, that this process's certificate carries
// want (a controller started with a node's certificate fails here, not at the
// first refused call). Without TLS it passes.
func (c Config) RequireOwnRole(want Role) error {
	have, err := c.Role()
	if err != nil || !c.Enabled() {
		return err
	}
	if have != want {
		return fmt.Errorf("TLS certificate %s has role %s; a %s needs a %s certificate (make one with: starlane tls cert NAME --role %s)",
			c.CertFile, have, want, want, want)
	}
	return nil
}

// Role returns the role of this process's own certificate ("" without TLS).
func (c Config) Role() (Role, error) {
	if !c.Enabled() {
		return "", nil
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	cert, err := c.loadPair()
	if err != nil {
		return "", err
	}
	return RoleOf(cert.Leaf)
}

// Client returns the TLS configuration for dialing, or nil for plaintext. The
// server's certificate is checked against CAFile, and this process's own is
// presented (every Starlane listener demands one).
func (c Config) Client() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pool, err := loadPool(c.CAFile)
	if err != nil {
		return nil, err
	}
	cert, err := c.loadPair()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
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
// stream protocols such as Raft), that completes a handshake only with clients
// whose certificate carries one of roles. See ListenTCP for the rules.
func (c Config) Listen(addr, what string, log *slog.Logger, roles ...Role) (net.Listener, error) {
	ln, srv, err := c.ListenTCP(addr, what, log)
	if err != nil || srv == nil {
		return ln, err
	}
	if len(roles) == 0 {
		ln.Close()
		return nil, fmt.Errorf("%s: a TLS listener needs the roles it accepts", what)
	}
	srv.VerifyConnection = RequireRoles(roles...)
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
		log.Info("listening with mutual TLS", "listener", what, "addr", ln.Addr().String())
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
