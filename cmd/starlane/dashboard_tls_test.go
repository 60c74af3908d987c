package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
)

// TestDashboardOverTLS runs a controller (with its dashboard on --metrics-bind) and
// a node on mutual TLS: an operator's certificate opens the dashboard, which shows
// the node's live stats and draws nauvis's map (the controller downloads the surface
// from the node with its own certificate); a node's certificate is refused.
func TestDashboardOverTLS(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	tlsDir := filepath.Join(dir, "tls")
	if out, errOut, code := proctest.Run(t, bin, time.Minute, "tls", "init", "--dir", tlsDir, "--controller", "c1", "--node", "n1", "--operator", "op"); code != 0 {
		t.Fatalf("tls init: exit %d\n%s%s", code, out, errOut)
	}
	conf := func(name string) tlsconf.Config {
		cert, key := tlsconf.IssuedFiles(tlsDir, name)
		return tlsconf.Config{CAFile: filepath.Join(tlsDir, "ca.pem"), CertFile: cert, KeyFile: key}
	}
	flags := func(name string) []string {
		c := conf(name)
		return []string{"--tls-ca", c.CAFile, "--tls-cert", c.CertFile, "--tls-key", c.KeyFile}
	}
	ctl, raft, web, nodeAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	proctest.Start(t, "controller", bin, filepath.Join(dir, "c1.log"), append([]string{"controller", "--data-dir", filepath.Join(dir, "c1"),
		"--bind", ctl, "--raft-bind", raft, "--metrics-bind", web, "--bootstrap", "--join-token", "slj-tls-test"}, flags("c1")...)...)
	proctest.Start(t, "n1", bin, filepath.Join(dir, "n1.log"), append([]string{"node", "--controller", ctl, "--join-token", "slj-tls-test",
		"--data-dir", filepath.Join(dir, "n1"), "--bind", nodeAddr, "--name", "n1"}, flags("n1")...)...)
	proctest.Eventually(t, 60*time.Second, "nauvis created", func() bool {
		_, _, code := proctest.Run(t, bin, 20*time.Second, append([]string{"surface", "create", "nauvis", "--map", "starter", "--controller", ctl, "--timeout", "10s"}, flags("op")...)...)
		return code == 0
	})

	client := func(name string) *http.Client {
		cfg, err := conf(name).Client()
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 20 * time.Second}
	}
	op := client("op")
	base := "https://" + web
	proctest.Eventually(t, 60*time.Second, "nauvis ticking on n1 in the dashboard's live state", func() bool {
		resp, err := op.Get(base + "/api/state")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			State struct {
				Surfaces []struct {
					Name string `json:"name"`
					Node string `json:"node"`
					Tick uint64 `json:"tick"`
				} `json:"surfaces"`
			} `json:"state"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		for _, s := range body.State.Surfaces {
			if s.Name == "nauvis" && s.Node == "n1" && s.Tick > 60 {
				return true
			}
		}
		return false
	})
	resp, err := op.Get(base + "/api/map/nauvis/8/0/0.png")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("map tile over TLS: %d %s", resp.StatusCode, b)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// The starter's plate belt: tile 5,0 is pixels 40-47 × 0-7 at 8 px/tile.
	if r, g, bl, _ := img.At(40, 0).RGBA(); r>>8 != 204 || g>>8 != 161 || bl>>8 != 71 {
		t.Errorf("map pixel of belt tile 5,0 is %d,%d,%d, want transport-belt's 204,161,71", r>>8, g>>8, bl>>8)
	}

	resp, err = client("n1").Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "role operator") {
		t.Errorf("dashboard with the node's certificate: %d %q, want 403 asking for an operator certificate", resp.StatusCode, b)
	}

	// The metrics and Go profiles on the same listener: a player's certificate
	// opens neither, a node's the metrics only, an operator's both.
	if out, errOut, code := proctest.Run(t, bin, time.Minute, "tls", "cert", "alice", "--role", "player", "--dir", tlsDir); code != 0 {
		t.Fatalf("tls cert alice: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"alice", "/metrics", 403},
		{"alice", "/debug/pprof/", 403},
		{"alice", "/debug/pprof/goroutine?debug=2", 403},
		{"alice", "/debug/pprof/profile?seconds=1", 403},
		{"n1", "/metrics", 200},
		{"n1", "/debug/pprof/heap", 403},
		{"op", "/metrics", 200},
		{"op", "/debug/pprof/", 200},
	} {
		resp, err := client(tc.who).Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %s's certificate: %d, want %d", tc.path, tc.who, resp.StatusCode, tc.want)
		}
	}
}
