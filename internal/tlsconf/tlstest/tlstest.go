// Package tlstest makes throwaway certificates for tests of TLS listeners.
package tlstest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/tlsconf"
)

// WriteCerts writes a CA and a certificate for 127.0.0.1/localhost signed by
// it into dir and returns the three file names (ca, cert, key).
func WriteCerts(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	return WriteCertsFor(t, dir, "127.0.0.1", "::1", "localhost")
}

// WriteCertsFor is WriteCerts with a certificate for the given hosts only.
func WriteCertsFor(t testing.TB, dir string, hosts ...string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca, err := tlsconf.NewCA("starlane test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("starlane test", hosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, data := range map[string][]byte{caFile: ca.PEM, certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}
