package tlsconf_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/tlsconf"
)

// A CA written to a directory is loaded back, signs certificates that verify for
// their host names and both TLS uses, and nothing is ever overwritten.
func TestCAIssuesCertificatesForItsHosts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := tlsconf.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteCA(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := tlsconf.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	certFile, _, err := loaded.WriteIssued(dir, "n1", tlsconf.RoleNode, []string{"n1", "10.0.0.7"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tlsconf.RoleOf(cert); err != nil || r != tlsconf.RoleNode {
		t.Errorf("role of n1.pem = %q, %v; want node", r, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, host := range []string{"n1", "10.0.0.7"} {
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("certificate for %s, usage %v: %v", host, usage, err)
			}
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "n2", Roots: roots}); err == nil {
		t.Error("certificate verified for a host it does not name")
	}
	other, _ := tlsconf.NewCA("other CA", time.Hour)
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "n1", Roots: otherRoots}); err == nil {
		t.Error("certificate verified against another CA")
	}

	if err := ca.WriteCA(dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("writing the CA again: %v; want a refusal", err)
	}
	if _, _, err := loaded.WriteIssued(dir, "n1", tlsconf.RoleNode, []string{"n1"}, time.Hour); err == nil {
		t.Error("a second n1 certificate replaced the first")
	}
	if again, _ := os.ReadFile(certFile); string(again) != string(data) {
		t.Error("n1.pem changed")
	}
}

// Issuing needs a known role; a certificate without one is refused when loaded.
func TestIssueNeedsARole(t *testing.T) {
	t.Parallel()
	ca, err := tlsconf.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []tlsconf.Role{"", "admin", "nodes"} {
		if _, _, err := ca.Issue("x", r, []string{"x"}, time.Hour); err == nil {
			t.Errorf("issued a certificate with role %q", r)
		}
	}
	if _, err := tlsconf.ParseRole("Operator"); err != nil {
		t.Errorf("ParseRole is not case-insensitive: %v", err)
	}
}

// A key that does not belong to the CA certificate is refused.
func TestLoadCARefusesAForeignKey(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		ca, err := tlsconf.NewCA("test CA", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := ca.WriteCA(d); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := os.ReadFile(filepath.Join(b, tlsconf.CAKeyFileName))
	if err := os.WriteFile(filepath.Join(a, tlsconf.CAKeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsconf.LoadCA(a); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("LoadCA with another CA's key: %v", err)
	}
}
