// Package proctest runs the starlane binary as real processes for multi-process tests:
// it builds the binary once, starts controllers and nodes on free loopback ports, kills
// and restarts them, and runs CLI commands.
package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Token is the operator token of the clusters tests start: Build exports it as
// STARLANE_TOKEN, so a bootstrapping controller (and `starlane dev`) installs it
// as the first admin token and every CLI command the test runs sends it.
const Token = "slo-test-admin-token-0123456789abcdef"

// Build compiles cmd/starlane into dir and returns the binary's path. Call it from
// TestMain. It sets STARLANE_TOKEN to Token unless the environment has one.
func Build(dir string) (string, error) {
	if os.Getenv("STARLANE_TOKEN") == "" {
		os.Setenv("STARLANE_TOKEN", Token)
	}
	bin := filepath.Join(dir, "starlane")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/starlane/starlane/cmd/starlane").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build starlane: %v\n%s", err, out)
	}
	return bin, nil
}

// CPUTime is the user and system CPU time this process has used, for benchmarks
// that report CPU per unit of work.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FreeAddr returns a loopback address with a port nobody listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		// The kernel may hand a port just closed out again: never give the same
		// one twice in a test process (a controller's API and Raft ports alike
		// would stop it from starting).
		givenMu.Lock()
		seen := given[addr]
		given[addr] = true
		givenMu.Unlock()
		if !seen {
			return addr
		}
	}
}

var (
	givenMu sync.Mutex
	given   = map[string]bool{} // addresses FreeAddr handed out
)

// Run runs the binary to completion and returns stdout, stderr and the exit code.
func Run(t testing.TB, bin string, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("starlane %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// JSON runs a command that prints JSON and decodes it into v; it fails the test on a
// non-zero exit.
func JSON(t testing.TB, bin string, v any, args ...string) {
	t.Helper()
	out, errOut, code := Run(t, bin, 30*time.Second, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("starlane %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("starlane %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Process is a long-running starlane process (a controller or a node) that can be
// killed and started again with the same arguments.
type Process struct {
	Name string
	bin  string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logF *os.File
}

// Start runs bin with args, appending its output to logPath, and stops it when the
// test ends.
func Start(t testing.TB, name, bin, logPath string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: name, bin: bin, args: args, log: logPath}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

func (p *Process) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done, p.logF = cmd, done, f
	p.mu.Unlock()
	return nil
}

// Restart starts the process again after it exited (or was killed).
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (p *Process) Kill() { p.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for a clean exit.
func (p *Process) Stop() { p.signal(syscall.SIGTERM) }

// Pause freezes the process (SIGSTOP); Resume thaws it.
func (p *Process) Pause()  { p.send(syscall.SIGSTOP) }
func (p *Process) Resume() { p.send(syscall.SIGCONT) }

func (p *Process) send(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done, f := p.cmd, p.done, p.logF
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	f.Close()
	p.mu.Lock()
	if p.cmd == cmd {
		p.cmd = nil
	}
	p.mu.Unlock()
}

// Args returns the command line the process was started with (without the binary).
func (p *Process) Args() []string { return append([]string(nil), p.args...) }

// Log returns what the process wrote so far (for failure messages).
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Eventually polls cond until it holds or d passes.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Cluster is a controller and nodes started as processes.
type Cluster struct {
	t          testing.TB
	Bin        string
	Dir        string
	Controller *Process
	CtlAddr    string
	Token      string
	Nodes      map[string]*Process
	NodeAddrs  map[string]string
}

// StartCluster starts a single-voter controller (lease TTL and heartbeat as given).
func StartCluster(t testing.TB, bin, dir string, extra ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Bin: bin, Dir: dir, Nodes: map[string]*Process{}, NodeAddrs: map[string]string{},
		CtlAddr: FreeAddr(t), Token: "slj-test-token"}
	args := append([]string{"controller", "--data-dir", filepath.Join(dir, "controller"), "--bind", c.CtlAddr,
		"--raft-bind", FreeAddr(t), "--bootstrap", "--join-token", c.Token}, extra...)
	c.Controller = Start(t, "controller", bin, filepath.Join(dir, "controller.log"), args...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, errOut, code := Run(t, bin, 5*time.Second, "cluster", "status", "--controller", c.CtlAddr, "--timeout", "2s")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			log := c.Controller.Log()
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			t.Fatalf("timed out after 30s waiting for the controller to elect itself; cluster status said %q; the controller's log ends:\n%s", errOut, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// StartNode starts a node on a free port.
func (c *Cluster) StartNode(name string, extra ...string) *Process {
	c.t.Helper()
	return c.StartNodeAt(name, FreeAddr(c.t), "", extra...)
}

// StartNodeAt starts a node listening on bind; advertise, if set, is the address others
// dial for it (a proxy in front of it, say).
func (c *Cluster) StartNodeAt(name, bind, advertise string, extra ...string) *Process {
	c.t.Helper()
	if advertise == "" {
		advertise = bind
	}
	args := append([]string{"node", "--controller", c.CtlAddr, "--join-token", c.Token, "--data-dir", filepath.Join(c.Dir, name),
		"--bind", bind, "--advertise", advertise, "--name", name}, extra...)
	p := Start(c.t, name, c.Bin, filepath.Join(c.Dir, name+".log"), args...)
	c.Nodes[name], c.NodeAddrs[name] = p, bind
	return p
}

// CLI runs an operator command against the cluster and fails the test on error.
func (c *Cluster) CLI(args ...string) string {
	c.t.Helper()
	out, errOut, code := Run(c.t, c.Bin, 60*time.Second, append(args, "--controller", c.CtlAddr)...)
	if code != 0 {
		c.t.Fatalf("starlane %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// JSON runs an operator command with --json against the cluster.
func (c *Cluster) JSON(v any, args ...string) {
	c.t.Helper()
	JSON(c.t, c.Bin, v, append(args, "--controller", c.CtlAddr)...)
}

// WaitNodes waits until the named nodes are registered and up.
func (c *Cluster) WaitNodes(names ...string) {
	c.t.Helper()
	Eventually(c.t, 30*time.Second, "nodes "+strings.Join(names, ", ")+" to register", func() bool {
		out, _, code := Run(c.t, c.Bin, 10*time.Second, "node", "list", "--json", "--controller", c.CtlAddr)
		if code != 0 {
			return false
		}
		var nodes []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal([]byte(out), &nodes) != nil {
			return false
		}
		up := map[string]bool{}
		for _, n := range nodes {
			up[n.ID] = strings.EqualFold(n.Status, "up")
		}
		for _, n := range names {
			if !up[n] {
				return false
			}
		}
		return true
	})
}

// Main builds the binary into a temporary directory, sets *bin to its path, runs the
// package's tests and cleans up: call it from TestMain.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "starlane-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
