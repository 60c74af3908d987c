// Package tlstest makes throwaway certificates for tests of TLS listeners.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/tlsconf"
)

// Certs is a throwaway cluster CA with one certificate per role, all for the
// same hosts.
type Certs struct {
	Dir    string
	CAFile string
	CA     *tlsconf.CA
}

// Config returns the TLS settings of a process holding the certificate of role.
func (c Certs) Config(role tlsconf.Role) tlsconf.Config {
	cert, key := tlsconf.IssuedFiles(c.Dir, string(role))
	return tlsconf.Config{CAFile: c.CAFile, CertFile: cert, KeyFile: key}
}

// Write makes a CA in dir and a certificate for 127.0.0.1, ::1 and localhost for
// each role (ROLE.pem, ROLE-key.pem).
func Write(t testing.TB, dir string) Certs {
	t.Helper()
	return WriteFor(t, dir, "127.0.0.1", "::1", "localhost")
}

// WriteFor is Write with certificates for the given hosts only.
func WriteFor(t testing.TB, dir string, hosts ...string) Certs {
	t.Helper()
	ca, err := tlsconf.NewCA("starlane test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteCA(dir); err != nil {
		t.Fatal(err)
	}
	for _, r := range tlsconf.Roles {
		if _, _, err := ca.WriteIssued(dir, string(r), r, hosts, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return Certs{Dir: dir, CAFile: filepath.Join(dir, tlsconf.CAFileName), CA: ca}
}

// WriteCert issues one more certificate signed by c's CA, named name with role
// (which may be "" for a certificate without a Starlane role, as made before
// roles existed), and returns its TLS settings.
func (c Certs) WriteCert(t testing.TB, name string, role tlsconf.Role) tlsconf.Config {
	t.Helper()
	certPEM, keyPEM, err := c.CA.Issue(name, role, []string{"127.0.0.1", "localhost"}, time.Hour)
	if role == "" {
		certPEM, keyPEM, err = issueWithoutRole(c.CA, name)
	}
	if err != nil {
		t.Fatal(err)
	}
	cert, key := tlsconf.IssuedFiles(c.Dir, name)
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return tlsconf.Config{CAFile: c.CAFile, CertFile: cert, KeyFile: key}
}

// issueWithoutRole signs a certificate the way `starlane tls` did before roles:
// valid, from the cluster CA, with no role.
func issueWithoutRole(ca *tlsconf.CA, name string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
