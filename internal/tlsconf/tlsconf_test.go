package tlsconf_test

import (
	"crypto/tls"
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
	if err := (tlsconf.Config{CertFile: "a", KeyFile: "b", RequireClientCert: true}).Validate(); err == nil {
		t.Error("client cert verification without CA accepted")
	}
	if _, err := (tlsconf.Config{CAFile: filepath.Join(t.TempDir(), "missing.pem")}).Client(); err == nil {
		t.Error("missing CA file accepted")
	}
}

// TestMutualTLS checks that a TLS listener talks to a client using the same CA,
// that it accepts non-loopback binds, and that required client certs are enforced.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, cert, key := tlstest.WriteCerts(t, dir)
	srvCfg := tlsconf.Config{CertFile: cert, KeyFile: key, CAFile: ca, RequireClientCert: true}
	ln, err := srvCfg.Listen("127.0.0.1:0", "test", nil)
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

	good, err := (tlsconf.Config{CertFile: cert, KeyFile: key, CAFile: ca}).ClientFor(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, good)
	if err != nil {
		t.Fatalf("mTLS dial: %v", err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	c.Close()

	noCert, _ := (tlsconf.Config{CAFile: ca}).ClientFor(addr)
	c, err = tls.Dial("tcp", addr, noCert)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Read(buf)
		c.Close()
	}
	if err == nil {
		t.Fatal("server accepted a client without certificate")
	}
}
