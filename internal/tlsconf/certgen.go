package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/starlane/starlane/internal/validate"
)

// A CA signs the certificates of a cluster's controllers, nodes and clients: the
// file every process is given as --tls-ca.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEM is Cert encoded, as written to ca.pem.
	PEM []byte
}

// NewCA makes a self-signed CA (ECDSA P-256) valid for the given duration.
func NewCA(name string, valid time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(valid),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Issue makes a certificate and key for hosts (DNS names or IP addresses), usable
// both to serve and to dial (controllers and nodes are both), signed by the CA,
// carrying role. It returns them PEM-encoded.
func (ca *CA) Issue(name string, role Role, hosts []string, valid time.Duration) (certPEM, keyPEM []byte, err error) {
	if role, err = ParseRole(string(role)); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name, OrganizationalUnit: []string{string(role)}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(valid),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
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

// File names of a CA in a directory.
const (
	CAFileName    = "ca.pem"
	CAKeyFileName = "ca-key.pem"
)

// WriteCA writes the CA's certificate and key into dir (ca.pem, ca-key.pem),
// refusing to replace existing files.
func (ca *CA) WriteCA(dir string) error {
	keyDER, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CAFileName), ca.PEM, 0o644); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CAKeyFileName), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// LoadCA reads a CA written by WriteCA.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFileName))
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFileName))
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("%s or %s in %s is not PEM", CAFileName, CAKeyFileName, dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CAFileName))
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to %s", CAKeyFileName, CAFileName)
	}
	return &CA{Cert: cert, Key: key, PEM: certPEM}, nil
}

// CheckName checks the name of a certificate to issue. A name becomes the file
// names NAME.pem and NAME-key.pem, the certificate's common name and one of its
// host names, and is the controller or node ID its holder runs as, so it follows
// the rule of every other Starlane name.
func CheckName(name string) error {
	if validate.IsName(name) {
		return nil
	}
	return fmt.Errorf("certificate name %s: use 1-%d lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (it becomes the file name NAME.pem, the certificate's name and a host name)",
		validate.Quote(name), validate.MaxNameBytes)
}

// IssuedFiles are the certificate and key files WriteIssued writes for name.
func IssuedFiles(dir, name string) (certFile, keyFile string) {
	return filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
}

// WriteIssued issues a certificate with role for hosts and writes NAME.pem and
// NAME-key.pem into dir, refusing to replace existing files. It returns the two
// paths.
func (ca *CA) WriteIssued(dir, name string, role Role, hosts []string, valid time.Duration) (certFile, keyFile string, err error) {
	if err := CheckName(name); err != nil {
		return "", "", err
	}
	certPEM, keyPEM, err := ca.Issue(name, role, hosts, valid)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = IssuedFiles(dir, name)
	if err := writeNew(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
		os.Remove(certFile)
		return "", "", err
	}
	return certFile, keyFile, nil
}

func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; remove it first to make a new one", name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
}

// ReadRole returns the role of the certificate in file (PEM).
func ReadRole(file string) (Role, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", fmt.Errorf("%s is not PEM", file)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return RoleOf(cert)
}
