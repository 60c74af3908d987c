package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/validate"
)

// TestTokenCLI: the first admin token makes tokens; a read token is refused a
// write with the reason; a revoked token stops working; the audit log names who
// did each write.
func TestTokenCLI(t *testing.T) {
	admin := controller.NewSecret(authz.TokenPrefix)
	c, err := controller.New(controller.Config{
		ID: "c1", DataDir: filepath.Join(t.TempDir(), "c1"), BindAddr: "127.0.0.1:0", RaftBind: "127.0.0.1:0",
		Bootstrap: true, AdminToken: admin, ElectionTimeout: 200 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, LeaseTTL: time.Second, RaftLogLevel: "off",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(false) })
	t.Setenv("STARLANE_CONTROLLER", c.APIAddr())
	t.Setenv("STARLANE_TOKEN", "")

	var secret string
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, err := runStarlane(t, "", "token", "create", "--role", "read", "--name", "grafana", "--token", admin)
		if err == nil {
			secret = strings.TrimSpace(out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token create: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(secret, authz.TokenPrefix) {
		t.Fatalf("token create printed %q, want the token alone", secret)
	}
	_, _, err = runStarlane(t, "", "surface", "list")
	if err == nil || !strings.Contains(err.Error(), "needs an operator token with role read: pass --token or set STARLANE_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	if _, _, err := runStarlane(t, "", "surface", "list", "--token", secret); err != nil {
		t.Errorf("read token listing: %v", err)
	}
	_, _, err = runStarlane(t, "", "surface", "create", "nauvis", "--token", secret)
	if err == nil || !strings.Contains(err.Error(), "token grafana (") || !strings.Contains(err.Error(), "has role read; ClusterService/CreateSurface needs role operate") {
		t.Errorf("read token writing: %v", err)
	}
	t.Setenv("STARLANE_TOKEN", secret)
	_, _, err = runStarlane(t, "", "cluster", "join-token")
	if err == nil || !strings.Contains(err.Error(), "GetJoinToken needs role admin") {
		t.Errorf("read token from STARLANE_TOKEN reading the join token: %v", err)
	}

	out, _, err := runStarlane(t, "", "token", "list", "--json", "--token", admin)
	if err != nil {
		t.Fatal(err)
	}
	var list []tokenJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("token list --json: %v %s", err, out)
	}
	var id string
	for _, tk := range list {
		if tk.Name == "grafana" {
			id = tk.ID
		}
		if tk.Secret != "" {
			t.Errorf("token list shows a secret")
		}
	}
	if _, _, err := runStarlane(t, "", "token", "revoke", id, "--token", admin); err != nil {
		t.Fatal(err)
	}
	_, _, err = runStarlane(t, "", "surface", "list")
	if err == nil || !strings.Contains(err.Error(), "was revoked") {
		t.Errorf("revoked token: %v", err)
	}

	out, _, err = runStarlane(t, "", "audit", "--json", "--token", admin)
	if err != nil {
		t.Fatal(err)
	}
	var audit []auditJSON
	if err := json.Unmarshal([]byte(out), &audit); err != nil {
		t.Fatalf("audit --json: %v %s", err, out)
	}
	var got []string
	for _, e := range audit {
		got = append(got, e.Method+" "+e.Outcome)
	}
	// The calls refused to the read token are there too: who tried what. They
	// are recorded from the background as they happen, so the two between the
	// writes are compared as a set.
	if len(got) == 4 {
		slices.Sort(got[1:3])
	}
	if strings.Join(got, ", ") != "AccessService/CreateToken ok, ClusterService/CreateSurface permissiondenied, ClusterService/GetJoinToken permissiondenied, AccessService/RevokeToken ok" {
		t.Errorf("audit: %v", got)
	}
	if len(audit) > 0 && (!strings.HasPrefix(audit[0].Who, "bootstrap-admin (") || audit[0].Role != "admin" || audit[0].Time == "") {
		t.Errorf("audit entry: %+v", audit[0])
	}

	// Undoing what is already undone says so and fails (exit status 1), as a
	// delete of what is gone does in kubectl; the --ignore flag makes it done.
	out, _, err = runStarlane(t, "", "token", "revoke", id, "--token", admin)
	if err == nil || !strings.Contains(err.Error(), "token "+id+" (grafana) was already revoked at ") || !strings.Contains(err.Error(), "--ignore-revoked") {
		t.Errorf("revoking a revoked token again: %v (stdout %q); want an error saying it was already revoked", err, out)
	}
	out, _, err = runStarlane(t, "", "token", "revoke", id, "--ignore-revoked", "--token", admin)
	if err != nil || strings.TrimSpace(out) != "token "+id+" was already revoked" {
		t.Errorf("revoke --ignore-revoked of a revoked token: %v, %q", err, out)
	}
	out, _, err = runStarlane(t, "", "token", "revoke", id, "--ignore-revoked", "--json", "--token", admin)
	var rev struct {
		Revoked        string `json:"revoked"`
		AlreadyRevoked bool   `json:"already_revoked"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rev) != nil || rev.Revoked != id || !rev.AlreadyRevoked {
		t.Errorf("revoke --ignore-revoked --json of a revoked token: %v, %q", err, out)
	}
	if _, _, err := runStarlane(t, "", "token", "revoke", "000000000000", "--ignore-revoked", "--token", admin); err == nil || !strings.Contains(err.Error(), "no operator token 000000000000") {
		t.Errorf("revoke --ignore-revoked of an unknown token: %v; want it refused", err)
	}

	if _, _, err := runStarlane(t, "", "player", "create", "bob", "--token", admin); err != nil {
		t.Fatal(err)
	}
	_, _, err = runStarlane(t, "", "player", "unban", "bob", "--token", admin)
	if err == nil || !strings.Contains(err.Error(), "player bob is not banned; nothing changed") || !strings.Contains(err.Error(), "--ignore-not-banned") {
		t.Errorf("unbanning a player who is not banned: %v; want an error saying so", err)
	}
	out, _, err = runStarlane(t, "", "player", "unban", "bob", "--ignore-not-banned", "--json", "--token", admin)
	var pj playerJSON
	if err != nil || json.Unmarshal([]byte(out), &pj) != nil || pj.Name != "bob" || pj.Banned || !pj.Unchanged {
		t.Errorf("unban --ignore-not-banned --json of a player who is not banned: %v, %q", err, out)
	}
	if _, _, err := runStarlane(t, "", "player", "ban", "bob", "spam", "--token", admin); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runStarlane(t, "", "player", "unban", "bob", "--token", admin); err != nil || !strings.Contains(out, "player bob unbanned") {
		t.Errorf("unbanning a banned player: %v, %q", err, out)
	}

	// A reason that would write a row of its own into the audit log or the player
	// list, or drive the admin's terminal, is refused where it is written.
	for _, reason := range []string{"grief\nFAKE AUDIT LINE", "x\x1b[31mred", "tab\there"} {
		_, _, err := runStarlane(t, "", "player", "ban", "bob", reason, "--token", admin)
		if err == nil || !strings.Contains(err.Error(), "control character") || !strings.Contains(err.Error(), "one line of printable characters") {
			t.Errorf("ban reason %q: %v; want a refusal naming the control character", reason, err)
		}
	}
	out, _, err = runStarlane(t, "", "audit", "--token", admin)
	if err != nil || strings.Contains(out, "FAKE AUDIT LINE") || strings.Contains(out, "\x1b") {
		t.Errorf("the audit log after refused reasons: %v\n%s", err, out)
	}
	if p := validate.Escape("a\nb\x1b[2Kc\u2028"); p != `a\nb\x1b[2Kc\u2028` {
		t.Errorf("printable escapes control characters: got %q", p)
	}
	// The name may also come as the argument.
	if out, _, err := runStarlane(t, "", "token", "create", "dashboards", "--role", "read", "--token", admin, "--json"); err != nil || !strings.Contains(out, `"name":"dashboards"`) {
		t.Errorf("token create NAME: %v, %s", err, out)
	}
}

// TestListenersRefuseNonLoopbackWithoutTLS binds each listener a process opens
// (controller API, Raft, metrics; node API, metrics, RCON console) to a
// non-loopback address without TLS and expects a refusal.
func TestListenersRefuseNonLoopbackWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	ctlBase := []string{"controller", "--data-dir", filepath.Join(dir, "c"), "--bootstrap"}
	nodeBase := []string{"node", "--data-dir", filepath.Join(dir, "n"), "--join-token", "x", "--controller", "127.0.0.1:1"}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"controller API", append(ctlBase, "--bind", "0.0.0.0:0", "--raft-bind", "127.0.0.1:0"), "gRPC API: refusing plaintext on 0.0.0.0:0"},
		{"Raft", append(ctlBase, "--bind", "127.0.0.1:0", "--raft-bind", "0.0.0.0:0"), "Raft: refusing plaintext on 0.0.0.0:0"},
		{"controller metrics", append(ctlBase, "--bind", "127.0.0.1:0", "--raft-bind", "127.0.0.1:0", "--metrics-bind", "0.0.0.0:0"), "metrics: refusing plaintext on 0.0.0.0:0"},
		{"node API", append(nodeBase, "--bind", "0.0.0.0:0"), "node API: refusing plaintext on 0.0.0.0:0"},
		{"node RCON", append(nodeBase, "--bind", "127.0.0.1:0", "--rcon-bind", "0.0.0.0:0", "--rcon-password-file", pw), "RCON console: refusing plaintext on 0.0.0.0:0"},
		{"node metrics", append(nodeBase, "--bind", "127.0.0.1:0", "--metrics-bind", "0.0.0.0:0"), "metrics: refusing plaintext on 0.0.0.0:0"},
	} {
		args := append([]string{}, tc.args...)
		args[2] = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")) // a data dir of its own
		done := make(chan error, 1)
		go func() { _, _, err := runStarlane(t, "", args...); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s on 0.0.0.0 without TLS: %v; want %q", tc.name, err, tc.want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s on 0.0.0.0 without TLS is still running after 20 s; want a refusal", tc.name)
		}
	}
}
