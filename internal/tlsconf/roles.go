package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A Role is what a certificate's holder is to the cluster. It is written into
// the certificate (the subject's organizational unit, "OU=node") by the CA that
// signs it, so a listener learns it from the verified chain and nothing the peer
// says afterwards can change it.
type Role string

// The roles a certificate can carry.
const (
	// RoleController: Raft and controller-to-controller calls (joins, forwarded
	// writes).
	RoleController Role = "controller"
	// RoleNode: the node protocol (register, heartbeats, assignments) and the
	// node-to-node streams (bridges, replication).
	RoleNode Role = "node"
	// RoleOperator: the operator API (ClusterService) and a node's operator
	// reads (surface downloads, playing).
	RoleOperator Role = "operator"
	// RolePlayer: joining and playing a surface on a node, nothing else.
	RolePlayer Role = "player"
)

// Roles lists every role, in the order help texts show them.
var Roles = []Role{RoleController, RoleNode, RoleOperator, RolePlayer}

// ParseRole checks a role name given on a command line.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown certificate role %q: use one of %s", clip(s, 40), roleList())
}

func roleList() string {
	var names []string
	for _, r := range Roles {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// ErrNoRole is returned for a certificate signed by the cluster CA that carries
// no Starlane role (made before roles existed, or by another tool).
var ErrNoRole = errors.New("certificate has no Starlane role")

// RoleOf returns the role written into cert.
func RoleOf(cert *x509.Certificate) (Role, error) {
	var found Role
	for _, ou := range cert.Subject.OrganizationalUnit {
		r := Role(ou)
		if !slices.Contains(Roles, r) {
			continue
		}
		if found != "" && found != r {
			return "", fmt.Errorf("certificate %q names two roles (%s, %s)", clip(cert.Subject.CommonName, 64), found, r)
		}
		found = r
	}
	if found == "" {
		return "", fmt.Errorf("%w: certificate %q; issue one with `starlane tls cert NAME --role ROLE`", ErrNoRole, clip(cert.Subject.CommonName, 64))
	}
	return found, nil
}

// PeerRole returns the role of the verified client certificate of a TLS
// connection state.
func PeerRole(cs tls.ConnectionState) (Role, string, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", "", errors.New("no verified client certificate")
	}
	leaf := cs.VerifiedChains[0][0]
	r, err := RoleOf(leaf)
	return r, leaf.Subject.CommonName, err
}

// RequireRoles returns a tls.Config VerifyConnection hook that refuses, during
// the handshake, a client whose certificate carries none of roles. Listeners of
// raw protocols (Raft) use it: there is no later point to check.
func RequireRoles(roles ...Role) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		r, name, err := PeerRole(cs)
		if err != nil {
			return err
		}
		if !slices.Contains(roles, r) {
			return fmt.Errorf("certificate %q has role %s; this listener takes %s certificates only", clip(name, 64), r, joinRoles(roles))
		}
		return nil
	}
}

func joinRoles(roles []Role) string {
	var s []string
	for _, r := range roles {
		s = append(s, string(r))
	}
	return strings.Join(s, " or ")
}

// clip quotes at most n bytes of s in messages, so a hostile value is never
// echoed whole.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}
