package tlsconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/tlsconf/tlstest"
)

func TestPlaintextOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"[::1]:0", true},
		{"localhost:0", true},
		{"0.0.0.0:0", false},
		{":0", false},
		{"10.1.2.3:7000", false},
	} {
		err := tlsconf.CheckLoopback(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--tls-cert") {
			t.Errorf("error for %q does not say how to fix it: %v", tc.addr, err)
		}
	}
	var c tlsconf.Config
	if _, err := c.Listen("0.0.0.0:0", "test", nil); err == nil {
		t.Fatal("plaintext listener on 0.0.0.0 was accepted")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := (tlsconf.Config{CertFile: "a"}).Validate(); err == nil {
		t.Error("cert without key accepted")
	}
	if err := (tlsconf.Config{CertFile: "a", KeyFile: "b"}).Validate(); err == nil {
		t.Error("TLS without a CA accepted")
	}
	if err := (tlsconf.Config{CAFile: "ca.pem"}).Validate(); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Errorf("TLS without a certificate of its own: %v; want a refusal that names --tls-cert", err)
	}
	if _, err := (tlsconf.Config{CAFile: filepath.Join(t.TempDir(), "missing.pem")}).Client(); err == nil {
		t.Error("missing CA file accepted")
	}
}

// TestMutualTLS checks that a TLS listener talks to a client using the same CA
// with the role it takes, and refuses in the handshake a client with no
// certificate, with a certificate of another CA, without a role, or with
// another role.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	ln, err := certs.Config(tlsconf.RoleController).Listen("127.0.0.1:0", "test", nil, tlsconf.RoleController)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	addr := ln.Addr().String()
	echo := func(cfg *tls.Config) error {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != "ping" {
			t.Fatalf("echo = %q", buf)
		}
		return nil
	}

	good, err := certs.Config(tlsconf.RoleController).ClientFor(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := echo(good); err != nil {
		t.Fatalf("controller certificate: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(certs.CA.Cert)
	other := tlstest.Write(t, t.TempDir())
	otherCfg, err := other.Config(tlsconf.RoleController).ClientFor(addr)
	if err != nil {
		t.Fatal(err)
	}
	otherCfg.RootCAs = pool // trusts the server; its own certificate is from another CA
	noRole, err := certs.WriteCert(t, "legacy", "").Client()
	if err == nil {
		t.Fatal("a client certificate without a role was loaded")
	}
	legacyCert, _ := tls.LoadX509KeyPair(tlsconf.IssuedFiles(certs.Dir, "legacy"))
	noRole = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{legacyCert}}
	nodeCfg, err := certs.Config(tlsconf.RoleNode).ClientFor(addr)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{
		"no certificate":   {RootCAs: pool, ServerName: "127.0.0.1"},
		"another CA":       otherCfg,
		"no role":          noRole,
		"node certificate": nodeCfg,
	} {
		if err := echo(cfg); err == nil {
			t.Errorf("%s: the Raft-style listener talked to it", name)
		}
	}
}

// TestOwnCertificateOutsideItsValidity: a process refuses, before dialing or
// serving, its own certificate when it is expired or not yet valid, and says
// when and how to make a new one.
func TestOwnCertificateOutsideItsValidity(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	cfg := certs.Config(tlsconf.RoleOperator)
	pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	notAfter := leaf.NotAfter
	for _, tc := range []struct {
		name  string
		shift time.Duration
		want  string
	}{
		{"expired", 2 * time.Hour, cfg.CertFile + " expired at "},
		{"not yet valid", -2 * time.Hour, cfg.CertFile + " is not valid until "},
	} {
		c := cfg
		c.Now = func() time.Time { return time.Now().Add(tc.shift) }
		for what, fn := range map[string]func() error{
			"Client": func() error { _, err := c.Client(); return err },
			"Server": func() error { _, err := c.Server(); return err },
			"Role":   func() error { return c.RequireOwnRole(tlsconf.RoleOperator) },
		} {
			err := fn()
			if err == nil || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "make a new one with `starlane tls cert operator --role operator`") {
				t.Errorf("%s, %s: %v; want %q and how to make a new one", tc.name, what, err, tc.want)
			}
		}
	}
	c := cfg
	c.Now = func() time.Time { return notAfter.Add(2 * time.Minute) }
	_, err = c.Client()
	if want := notAfter.UTC().Format("2006-01-02 15:04 UTC"); err == nil || !strings.Contains(err.Error(), "expired at "+want) {
		t.Errorf("expired: %v; want the expiry %s", err, want)
	}
	if _, err := cfg.Client(); err != nil {
		t.Errorf("a valid certificate: %v", err)
	}
}
