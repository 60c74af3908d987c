package controller_test

import (
	"context"
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

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

type proc struct {
	args []string
	log  string
	cmd  *exec.Cmd
}

func (p *proc) start(t *testing.T, bin string) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestThreeControllerProcesses runs three real `starlane controller` processes on
// loopback, kills the leader with SIGKILL while a client keeps writing, and checks
// that a new leader serves writes, that no acknowledged write is lost, and that the
// old leader rejoins and catches up after a restart.
func TestThreeControllerProcesses(t *testing.T) {
	dir := t.TempDir()
	bin := mustBuild(t, dir)
	ports := freePorts(t, 6)
	api := []string{ports[0], ports[2], ports[4]}
	procs := make([]*proc, 3)
	for i := range procs {
		args := []string{"controller", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprintf("c%d", i+1)),
			"--bind", api[i], "--raft-bind", ports[2*i+1], "--election-timeout", "500ms", "--log-level", "info"}
		if i == 0 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", api[0])
		}
		procs[i] = &proc{args: args, log: filepath.Join(dir, fmt.Sprintf("c%d.log", i+1))}
	}
	defer func() {
		for _, p := range procs {
			if p.cmd != nil && p.cmd.ProcessState == nil {
				p.cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { p.cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					p.cmd.Process.Kill()
					<-done
				}
			}
		}
		if t.Failed() {
			for _, p := range procs {
				b, _ := os.ReadFile(p.log)
				lines := strings.Split(string(b), "\n")
				t.Logf("--- %s (last lines)\n%s", p.log, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	}()
	procs[0].start(t, bin)
	cl, err := ctlclient.Dial(api, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cl.Token = proctest.Token
	defer cl.Close()
	cl.AttemptTimeout = time.Second
	waitFor(t, 15*time.Second, "the bootstrap controller to lead", func(ctx context.Context) bool {
		st, err := status(ctx, api[0])
		return err == nil && st.State == "leader"
	})
	procs[1].start(t, bin)
	procs[2].start(t, bin)
	waitFor(t, 20*time.Second, "three voters", func(ctx context.Context) bool {
		st, err := status(ctx, api[0])
		if err != nil {
			return false
		}
		voters := 0
		for _, p := range st.Peers {
			if p.Suffrage == "voter" && p.ApiAddress != "" {
				voters++
			}
		}
		return voters == 3
	})

	// A writer creates surfaces one after another and remembers the acknowledged.
	var (
		mu      sync.Mutex
		acked   []string
		ackTime []time.Time
	)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("w%05d", i)
			rid := ctlclient.NewRequestID()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
				_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: rid, Name: name})
				return err
			})
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, name)
				ackTime = append(ackTime, time.Now())
				mu.Unlock()
			}
		}
	}()
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, 10*time.Second, "writes before the kill", func(context.Context) bool { return ackedCount() >= 50 })

	var leader int = -1
	waitFor(t, 5*time.Second, "the leader's identity", func(ctx context.Context) bool {
		st, err := status(ctx, api[0])
		if err != nil {
			return false
		}
		for i := range api {
			if st.LeaderApiAddress == api[i] {
				leader = i
			}
		}
		return leader >= 0
	})
	killed := time.Now()
	if err := procs[leader].cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	procs[leader].cmd.Wait()
	before := ackedCount()
	waitFor(t, 15*time.Second, "a write acknowledged by the new leader", func(context.Context) bool { return ackedCount() >= before+20 })
	mu.Lock()
	var firstAfter time.Duration
	for _, at := range ackTime {
		if at.After(killed) {
			firstAfter = at.Sub(killed)
			break
		}
	}
	mu.Unlock()
	t.Logf("killed leader c%d; first write acknowledged %v later", leader+1, firstAfter.Round(time.Millisecond))

	// The old leader comes back (same command line; --bootstrap is ignored on a
	// data dir with state) and catches up as a follower.
	procs[leader].start(t, bin)
	close(stop)
	<-writerDone
	var want uint64
	waitFor(t, 10*time.Second, "the final commit index", func(ctx context.Context) bool {
		for i := range api {
			if i == leader {
				continue
			}
			if st, err := status(ctx, api[i]); err == nil && st.State == "leader" {
				want = st.CommitIndex
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "the old leader to rejoin and catch up", func(ctx context.Context) bool {
		st, err := status(ctx, api[leader])
		return err == nil && st.State == "follower" && st.LeaderId != "" && st.AppliedIndex >= want
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var list *pb.ListSurfacesResponse
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		list, err = c.ListSurfaces(ctx, &pb.ListSurfacesRequest{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range list.Surfaces {
		have[s.Name] = true
	}
	mu.Lock()
	defer mu.Unlock()
	for _, n := range acked {
		if !have[n] {
			t.Errorf("acknowledged write %s is lost", n)
		}
	}
	t.Logf("%d acknowledged writes, all present; catalog holds %d surfaces", len(acked), len(list.Surfaces))
}

func status(ctx context.Context, addr string) (*pb.GetStatusResponse, error) {
	cl, err := ctlclient.Dial([]string{addr}, tlsconf.Config{})
	if err != nil {
		return nil, err
	}
	cl.Token = proctest.Token
	defer cl.Close()
	var st *pb.GetStatusResponse
	err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		st, err = c.GetStatus(ctx, &pb.GetStatusRequest{})
		return err
	})
	return st, err
}

func waitFor(t *testing.T, d time.Duration, what string, ok func(ctx context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		good := ok(ctx)
		cancel()
		if good {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// mustBuild compiles the starlane binary into dir.
func mustBuild(t *testing.T, dir string) string {
	t.Helper()
	bin, err := proctest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
