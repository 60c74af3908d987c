package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestTLSInitWritesRoles: `tls init` makes one certificate per name with the
// role of its flag, keeps what exists, and refuses names without a role.
func TestTLSInitWritesRoles(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runStarlane(t, "", "tls", "init", "--dir", dir, "--controller", "c1,c2", "--node", "n1", "--operator", "op", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var certs []certJSON
	if err := json.Unmarshal([]byte(out), &certs); err != nil {
		t.Fatal(err)
	}
	want := map[string]tlsconf.Role{"c1": "controller", "c2": "controller", "n1": "node", "op": "operator"}
	for name, role := range want {
		cert, _ := tlsconf.IssuedFiles(dir, name)
		if got, err := tlsconf.ReadRole(cert); err != nil || got != role {
			t.Errorf("%s: role %q, %v; want %s", name, got, err, role)
		}
	}
	if len(certs) != 5 || !certs[0].New || certs[1].Role != "controller" {
		t.Errorf("init reported %+v", certs)
	}
	out, _, err = runStarlane(t, "", "tls", "init", "--dir", dir, "--node", "n1,n2", "--json")
	if err != nil || !strings.Contains(out, `"name":"n2","role":"node"`) {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tls", "init", "--dir", dir, "c3"}, "name each certificate with the flag of its role"},
		{[]string{"tls", "init", "--dir", dir, "--operator", "n1"}, "exists with role node, not operator"},
		{[]string{"tls", "cert", "x", "--dir", dir}, "--role is required"},
		{[]string{"tls", "cert", "x", "--dir", dir, "--role", "admin"}, `unknown certificate role "admin"`},
	} {
		if _, _, err := runStarlane(t, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.args, err, tc.want)
		}
	}
}

// TestTLSClusterWithRoles runs a controller and a node on mutual TLS with the
// certificates `tls init` makes: the node registers and runs a surface with its
// node certificate, the operator's certificate drives the CLI, and a CLI with
// only the CA, or with the node's certificate, fails at once with a reason.
func TestTLSClusterWithRoles(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	tlsDir := filepath.Join(dir, "tls")
	proctest.Run(t, bin, time.Minute, "tls", "init", "--dir", tlsDir, "--controller", "c1", "--node", "n1", "--operator", "op")
	flags := func(name string) []string {
		cert, key := tlsconf.IssuedFiles(tlsDir, name)
		return []string{"--tls-ca", filepath.Join(tlsDir, "ca.pem"), "--tls-cert", cert, "--tls-key", key}
	}
	ctl, raft, nodeAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	proctest.Start(t, "controller", bin, filepath.Join(dir, "c1.log"), append([]string{"controller", "--data-dir", filepath.Join(dir, "c1"),
		"--bind", ctl, "--raft-bind", raft, "--bootstrap", "--join-token", "slj-tls-test"}, flags("c1")...)...)
	op := func(timeout time.Duration, args ...string) (string, string, int) {
		return proctest.Run(t, bin, timeout, append(append(args, "--controller", ctl), flags("op")...)...)
	}
	proctest.Eventually(t, 30*time.Second, "the controller to elect itself", func() bool {
		_, _, code := op(5*time.Second, "cluster", "status", "--timeout", "2s")
		return code == 0
	})
	proctest.Start(t, "n1", bin, filepath.Join(dir, "n1.log"), append([]string{"node", "--controller", ctl, "--join-token", "slj-tls-test",
		"--data-dir", filepath.Join(dir, "n1"), "--bind", nodeAddr, "--name", "n1"}, flags("n1")...)...)
	if out, errOut, code := op(30*time.Second, "surface", "create", "nauvis", "--map", "outpost"); code != 0 {
		t.Fatalf("operator create: exit %d\n%s%s", code, out, errOut)
	}
	proctest.Eventually(t, 60*time.Second, "nauvis to tick on n1 over mutual TLS", func() bool {
		out, _, code := op(10*time.Second, "surface", "get", "nauvis", "--json")
		var s struct {
			Stats *struct{ Tick uint64 } `json:"stats"`
		}
		return code == 0 && jsonInto(out, &s) && s.Stats != nil && s.Stats.Tick > 120
	})

	// The node's listener (players, downloads, bridges, replication) checks
	// roles too.
	proctest.Run(t, bin, time.Minute, "tls", "init", "--dir", tlsDir, "--player", "alice")
	nodeAs := func(name string) pb.ShardServiceClient {
		cfg := tlsconf.Config{CAFile: filepath.Join(tlsDir, "ca.pem")}
		if name != "" {
			cfg.CertFile, cfg.KeyFile = tlsconf.IssuedFiles(tlsDir, name)
		}
		creds, err := ctlclient.Credentials(cfg)
		if name == "" {
			pool := x509.NewCertPool()
			caPEM, _ := os.ReadFile(filepath.Join(tlsDir, "ca.pem"))
			pool.AppendCertsFromPEM(caPEM)
			creds, err = credentials.NewTLS(&tls.Config{RootCAs: pool}), nil
		}
		if err != nil {
			t.Fatal(err)
		}
		cc, err := grpc.NewClient(nodeAddr, grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return pb.NewShardServiceClient(cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := nodeAs("op").GetShard(ctx, &pb.GetShardRequest{Surface: "nauvis"}); err != nil {
		t.Errorf("operator reading the shard from its node: %v", err)
	}
	opCreds, err := ctlclient.Credentials(tlsconf.Config{CAFile: filepath.Join(tlsDir, "ca.pem"),
		CertFile: filepath.Join(tlsDir, "op.pem"), KeyFile: filepath.Join(tlsDir, "op-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  string
		call func(pb.ShardServiceClient) error
		code codes.Code
	}{
		{"", func(c pb.ShardServiceClient) error {
			_, err := c.GetShard(ctx, &pb.GetShardRequest{Surface: "nauvis"})
			return err
		}, codes.Unavailable},
		{"alice", func(c pb.ShardServiceClient) error {
			st, err := c.GetState(ctx, &pb.GetStateRequest{Surface: "nauvis"})
			if err == nil {
				_, err = st.Recv()
			}
			return err
		}, codes.PermissionDenied},
		{"op", func(c pb.ShardServiceClient) error {
			// An operator's certificate is not a node's: no replication stream.
			cc, err := grpc.NewClient(nodeAddr, grpc.WithTransportCredentials(opCreds))
			if err != nil {
				return err
			}
			defer cc.Close()
			st, err := pb.NewReplicationServiceClient(cc).Follow(ctx)
			if err == nil {
				_, err = st.Recv()
			}
			return err
		}, codes.PermissionDenied},
	} {
		if err := tc.call(nodeAs(tc.who)); status.Code(err) != tc.code {
			t.Errorf("node API as %q: %v; want %v", tc.who, err, tc.code)
		}
	}

	cert, key := tlsconf.IssuedFiles(tlsDir, "n1")
	otherDir := filepath.Join(dir, "other-tls")
	proctest.Run(t, bin, time.Minute, "tls", "init", "--dir", otherDir, "--operator", "op")
	otherCert, otherKey := tlsconf.IssuedFiles(otherDir, "op")
	for name, args := range map[string][]string{
		"only the CA":          {"--tls-ca", filepath.Join(tlsDir, "ca.pem")},
		"the node certificate": {"--tls-ca", filepath.Join(tlsDir, "ca.pem"), "--tls-cert", cert, "--tls-key", key},
		"another CA":           {"--tls-ca", filepath.Join(otherDir, "ca.pem"), "--tls-cert", otherCert, "--tls-key", otherKey},
		"no TLS":               {},
	} {
		start := time.Now()
		_, errOut, code := proctest.Run(t, bin, 30*time.Second, append([]string{"cluster", "join-token", "--controller", ctl, "--timeout", "10s"}, args...)...)
		want := map[string]string{"only the CA": "TLS needs a certificate of this process", "the node certificate": "has role node",
			"another CA": "not signed by the CA given as --tls-ca", "no TLS": "it probably requires TLS"}[name]
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("join token with %s: exit %d, %q; want exit 1 and %q", name, code, errOut, want)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("join token with %s took %v to fail; a refusal is not worth retrying", name, took)
		}
	}
}

// exitCode is the status main exits with for err.
func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// TestExpiredCertificateFailsAtOnce: a command given an expired certificate
// says so, with when and how to make a new one, before dialing, instead of
// retrying until --timeout; `tls cert --valid` refuses what would make one.
func TestExpiredCertificateFailsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := runStarlane(t, "", "tls", "ca", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	ca, err := tlsconf.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ca.WriteIssued(dir, "old", tlsconf.RoleOperator, []string{"localhost"}, -time.Minute); err != nil {
		t.Fatal(err)
	}
	cert, key := tlsconf.IssuedFiles(dir, "old")
	start := time.Now()
	_, _, err = runStarlane(t, "", "surface", "list", "--controller", "127.0.0.1:1", "--timeout", "5s",
		"--tls-ca", filepath.Join(dir, tlsconf.CAFileName), "--tls-cert", cert, "--tls-key", key)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v; want a failure before dialing", took.Round(time.Millisecond))
	}
	if exitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), cert+" expired at ") ||
		!strings.Contains(fmt.Sprint(err), "make a new one with `starlane tls cert old --role operator`") {
		t.Errorf("exit %d, %v; want exit 1 saying the certificate expired and how to make a new one", exitCode(err), err)
	}

	for _, tc := range []struct{ valid, want string }{
		{"-1h", "--valid -1h0m0s: want a positive duration"},
		{"0s", "--valid 0s: want a positive duration"},
		{"10000000h", `invalid argument "10000000h" for "--valid" flag: want a duration such as 90s, 15m or 8760h, at most 2562047h`},
	} {
		_, _, err := runStarlane(t, "", "tls", "cert", "x", "--role", "operator", "--dir", dir, "--valid", tc.valid)
		if exitCode(err) != 1 || !strings.HasPrefix(fmt.Sprint(err), tc.want) {
			t.Errorf("--valid %s: exit %d, %v; want exit 1, %q", tc.valid, exitCode(err), err, tc.want)
		}
		if _, serr := os.Stat(filepath.Join(dir, "x.pem")); serr == nil {
			t.Fatalf("--valid %s wrote x.pem", tc.valid)
		}
	}
}

// TestTLSCertRefusesBadNames: a certificate name is a file name, a CN and a
// host name, so one that would leave --dir or break a line is refused with the
// rule, and nothing is written.
func TestTLSCertRefusesBadNames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "a", "tls")
	if _, _, err := runStarlane(t, "", "tls", "ca", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	const rule = "use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tls", "cert", "../../evil", "--role", "operator"}, `certificate name "../../evil": ` + rule},
		{[]string{"tls", "cert", "a\nb", "--role", "operator"}, `certificate name "a\nb": ` + rule},
		{[]string{"tls", "cert", "Alice", "--role", "operator"}, `certificate name "Alice": ` + rule},
		{[]string{"tls", "cert", strings.Repeat("n", 64), "--role", "node"}, rule},
		{[]string{"tls", "init", "--node", "n1,../n2"}, `--node: certificate name "../n2": ` + rule},
	} {
		_, _, err := runStarlane(t, "", append(tc.args, "--dir", dir)...)
		if exitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%q: exit %d, %v; want exit 1 saying %q", tc.args, exitCode(err), err, tc.want)
		}
	}
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return nil
	})
	if want := "/a/tls/ca-key.pem /a/tls/ca.pem"; strings.Join(files, " ") != want {
		t.Errorf("files written: %v; want only %s", files, want)
	}
	if out, _, err := runStarlane(t, "", "tls", "cert", "n1.eu-west_2", "--role", "node", "--dir", dir); err != nil || !strings.Contains(out, "n1.eu-west_2.pem") {
		t.Errorf("a valid name: %v\n%s", err, out)
	}
}
