package node_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
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

	"github.com/gdamore/tcell/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/player"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// bin is the starlane binary, built once for every test in this package.
var bin string

func TestMain(m *testing.M) { proctest.Main(m, &bin) }

// starlane runs the binary and returns stdout, stderr and the exit code.
func starlane(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	return proctest.Run(t, bin, timeout, args...)
}

type clusterInfo struct {
	Controller string            `json:"controller"`
	Nodes      map[string]string `json:"nodes"`
	Surfaces   map[string]string `json:"surfaces"`
	JoinToken  string            `json:"join_token"`
	PIDs       map[string]int    `json:"pids"`
}

// startDev runs `starlane dev --small` (one controller, two nodes) and waits for its cluster.json.
func startDev(t *testing.T, dir string) (*exec.Cmd, *clusterInfo) {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--small", "--data-dir", dir, "--port", "0", "--checkpoint-every", "600")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "cluster.json")); err == nil {
			var ci clusterInfo
			if err := json.Unmarshal(b, &ci); err != nil {
				t.Fatal(err)
			}
			return cmd, &ci
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("starlane dev did not write cluster.json:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readCluster(t *testing.T, dir string) *clusterInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ci clusterInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		t.Fatal(err)
	}
	return &ci
}

type surfaceJSON struct {
	Primary        string `json:"primary"`
	Epoch          uint64 `json:"epoch"`
	PlacementError string `json:"placement_error"`
	Stats          *struct {
		Tick       uint64  `json:"tick"`
		StateHash  string  `json:"state_hash"`
		UPS        float64 `json:"ups"`
		Production *struct {
			Items []struct {
				Item     string `json:"item"`
				Produced int64  `json:"produced"`
			} `json:"items"`
		} `json:"production"`
	} `json:"stats"`
	Events []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"events"`
}

func getSurface(t *testing.T, ctl, name string) surfaceJSON {
	t.Helper()
	out, errOut, code := starlane(t, 30*time.Second, "surface", "get", name, "--json", "--controller", ctl)
	if code != 0 {
		t.Fatalf("surface get %s: %s", name, errOut)
	}
	var s surfaceJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("surface get %s: %v\n%s", name, err, out)
	}
	return s
}

type botJSON struct {
	Desyncs   int     `json:"desyncs"`
	Actions   int     `json:"actions"`
	Applied   int     `json:"applied"`
	Rejected  int     `json:"rejected"`
	Refused   int     `json:"refused"`
	Unseen    int     `json:"unseen"`
	Ticks     uint64  `json:"ticks"`
	TickP99MS float64 `json:"tick_p99_ms"`
}

func runBots(t *testing.T, ctl, node, surface string, count, ticks int, extra ...string) (botJSON, string, int) {
	args := append([]string{"bot", "--controller", ctl, "--node", node, "--surface", surface, "--count", fmt.Sprint(count), "--ticks", fmt.Sprint(ticks), "--json"}, extra...)
	out, errOut, code := starlane(t, time.Duration(ticks)*time.Second/60+2*time.Minute, args...)
	var r botJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("bot --json printed %q (%v); stderr:\n%s", out, err, errOut)
	}
	return r, errOut, code
}

// TestDevCluster runs the README's first command with real processes on loopback
// and checks what a user would: bots play without desyncs, a tampered client is
// caught and resyncs, stale epochs are refused, a save the nodes cannot load is
// refused with its reason, a node killed with SIGKILL resumes its surfaces where
// they were, and bad node flags fail with one clear line.
func TestDevCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	dev, ci := startDev(t, dir)
	stopDev := func() error {
		dev.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- dev.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			dev.Process.Kill()
			<-done
			return fmt.Errorf("starlane dev did not stop within 30s of SIGINT")
		}
	}
	defer func() {
		if dev.ProcessState == nil {
			if err := stopDev(); err != nil {
				t.Errorf("stopping starlane dev: %v", err)
			}
		}
	}()
	for _, s := range []string{"nauvis", "vulcanus", "fulgora"} {
		if ci.Surfaces[s] == "" || ci.Nodes[ci.Surfaces[s]] == "" {
			t.Fatalf("cluster.json: surface %s not placed: %+v", s, ci)
		}
	}

	t.Run("SurfaceGetShowsTickHashUPSAndProduction", func(t *testing.T) {
		var s surfaceJSON
		deadline := time.Now().Add(30 * time.Second)
		for {
			s = getSurface(t, ci.Controller, "nauvis")
			if st := s.Stats; st != nil && st.Production != nil && len(st.Production.Items) > 0 && st.UPS > 30 || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if s.Primary != ci.Surfaces["nauvis"] || s.Stats == nil || s.Stats.Tick == 0 || len(s.Stats.StateHash) != 16 || s.Stats.UPS < 30 {
			t.Fatalf("surface get nauvis: %+v", s)
		}
		if s.Stats.Production == nil || len(s.Stats.Production.Items) == 0 {
			t.Fatalf("no production statistics for the starter factory: %+v", s.Stats)
		}
	})

	t.Run("NodeCLIBadInput", func(t *testing.T) { testNodeCLIBadInput(t, ci) })

	t.Run("StaleEpochIsRejected", func(t *testing.T) {
		s := getSurface(t, ci.Controller, "nauvis")
		for _, ep := range []uint64{s.Epoch - 1, s.Epoch + 1} {
			code, msg := helloWithEpoch(t, ci.Controller, ci.Nodes[s.Primary], "nauvis", ep)
			if code != codes.FailedPrecondition || !strings.Contains(msg, "epoch") {
				t.Errorf("hello with epoch %d (current %d): %v %q", ep, s.Epoch, code, msg)
			}
		}
		if code, msg := helloWithEpoch(t, ci.Controller, ci.Nodes[s.Primary], "nauvis", s.Epoch); code != codes.OK {
			t.Errorf("hello with the current epoch %d: %v %q", s.Epoch, code, msg)
		}
	})

	t.Run("FiveBotsOnTwoSurfacesWithoutDesyncs", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, job := range []struct {
			surface string
			count   int
		}{{"nauvis", 3}, {"vulcanus", 2}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Dial the other node on purpose: the bots follow its redirect.
				other := ci.Nodes["n1"]
				if ci.Surfaces[job.surface] == "n1" {
					other = ci.Nodes["n2"]
				}
				r, errOut, code := runBots(t, ci.Controller, other, job.surface, job.count, 3600)
				// Every outcome counted is of an action the bots sent (some sent
				// in the last ticks have none yet: those are unseen).
				if code != 0 || r.Desyncs != 0 || r.Ticks != 3600 || r.Actions < 10*job.count || r.TickP99MS <= 0 ||
					r.Applied+r.Rejected > r.Actions || r.Applied+r.Rejected < r.Actions*9/10 || r.Applied+r.Rejected+r.Refused+r.Unseen != r.Actions {
					t.Errorf("%d bots on %s: %+v (exit %d)\n%s", job.count, job.surface, r, code, errOut)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("TamperedClientIsToldReportedAndResyncs", func(t *testing.T) {
		s := getSurface(t, ci.Controller, "fulgora")
		r, errOut, code := runBots(t, ci.Controller, ci.Nodes[s.Primary], "fulgora", 1, 600, "--tamper-at", fmt.Sprint(s.Stats.Tick+240))
		if code != 3 || r.Desyncs != 1 {
			t.Fatalf("tampered bot: %+v exit %d\n%s", r, code, errOut)
		}
		if !strings.Contains(errOut, "joining again") || !strings.Contains(errOut, "entities differ") {
			reports, _ := filepath.Glob(filepath.Join(dir, s.Primary, "shards", "fulgora", "desync", "*.json"))
			for _, r := range reports {
				b, _ := os.ReadFile(r)
				t.Logf("desync report %s:\n%s", r, b)
			}
			t.Fatalf("the bot was not told, or did not resync:\n%s", errOut)
		}
		reports, _ := filepath.Glob(filepath.Join(dir, s.Primary, "shards", "fulgora", "desync", "*.json"))
		if len(reports) != 1 {
			t.Fatalf("desync reports: %v", reports)
		}
		b, _ := os.ReadFile(reports[0])
		var rep struct {
			ServerHash string `json:"server_hash"`
			ClientHash string `json:"client_hash"`
			Entities   []struct {
				What   string `json:"what"`
				Server string `json:"server"`
			} `json:"entities"`
		}
		json.Unmarshal(b, &rep)
		// The tampered client's chest takes the next entity ID, so anything the bot
		// builds after it gets another ID on the client than on the surface: the
		// report names the chest, or, when the bot built in between, the entities
		// whose IDs shifted, the last of them missing on the surface.
		chest := len(rep.Entities) == 1 && strings.HasPrefix(rep.Entities[0].What, "wooden-chest") && rep.Entities[0].Server == "missing"
		shifted := len(rep.Entities) > 1 && rep.Entities[len(rep.Entities)-1].Server == "missing"
		if !(chest || shifted) || rep.ServerHash == rep.ClientHash {
			t.Fatalf("report does not name the chest only the client has:\n%s", b)
		}
	})

	t.Run("SaveFromANewerFormatIsRefusedAtOnce", func(t *testing.T) {
		save := filepath.Join(t.TempDir(), "future.save")
		s, _ := sim.NewMap(sim.DefaultBundle(), "empty", 1, "")
		var buf bytes.Buffer
		s.Save(&buf)
		data := buf.Bytes()
		binary.LittleEndian.PutUint32(data[8:], sim.SaveVersion+1)
		os.WriteFile(save, data, 0o600)
		// Refused at the edge: the CLI reads the save and knows no node can load it.
		_, errOut, code := starlane(t, 30*time.Second, "surface", "create", "future", "--map", save, "--controller", ci.Controller)
		want := fmt.Sprintf("format version %d, this build reads versions 1 to %d; upgrade Starlane", sim.SaveVersion+1, sim.SaveVersion)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("surface create with a newer save: exit %d, %q; want exit 1 and %q", code, errOut, want)
		}
		if _, _, code := starlane(t, 30*time.Second, "surface", "get", "future", "--controller", ci.Controller); code == 0 {
			t.Fatal("the refused surface was created")
		}
	})

	t.Run("PlayShowsTheMapAndWalks", func(t *testing.T) { testPlay(t, ci) })

	t.Run("KilledNodeResumesItsSurfacesWithContinuousHashes", func(t *testing.T) {
		victim := ci.Surfaces["nauvis"]
		var mu sync.Mutex
		var events []string
		c, err := player.Dial(context.Background(), player.Options{Node: ci.Nodes[victim], Surface: "nauvis", Name: "survivor", Ticket: ticketsFrom(t, ci.Controller),
			OnEvent: func(e player.Event) { mu.Lock(); events = append(events, e.Kind+": "+e.Message); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var killedAt, resumedFrom uint64
		var after int
		runErr := make(chan error, 1)
		var once sync.Once
		killed := make(chan struct{})
		go func() {
			runErr <- c.Run(ctx, func(tk uint64) {
				if tk > c.ServerTick()+30 {
					return // still catching up
				}
				select {
				case <-killed:
					after++
					if after == 600 {
						cancel()
					}
				default:
					once.Do(func() {})
				}
			})
		}()
		time.Sleep(3 * time.Second)
		killedAt = c.Stats().Tick
		pid := ci.PIDs[victim]
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		close(killed)
		if err := <-runErr; err != nil {
			t.Fatalf("client did not get back in: %v\n%v", err, events)
		}
		st := c.Stats()
		mu.Lock()
		defer mu.Unlock()
		resumed := false
		for _, e := range events {
			if strings.HasPrefix(e, "resumed: ") {
				resumed = true
				fmt.Sscanf(e[strings.Index(e, " at tick ")+len(" at tick "):], "%d", &resumedFrom)
			}
		}
		// The client kept its own state across the kill and continued from the log
		// of the restarted node; 600 ticks of hash reports after that matched.
		if !resumed || resumedFrom < killedAt || st.Desyncs != 0 || after < 600 {
			t.Fatalf("killed at tick %d; resumed=%v from %d, desyncs %d, %d ticks after; events:\n%s",
				killedAt, resumed, resumedFrom, st.Desyncs, after, strings.Join(events, "\n"))
		}
		if nci := readCluster(t, dir); nci.PIDs[victim] == pid {
			t.Fatalf("cluster.json still names the killed process %d", pid)
		}
		if s := getSurface(t, ci.Controller, "nauvis"); s.Primary != victim {
			t.Fatalf("nauvis moved to %s instead of resuming on %s", s.Primary, victim)
		}
	})

	t.Run("CtrlCStopsCleanlyAndASecondStartResumes", func(t *testing.T) {
		// Player settings an operator made must outlive a restart of dev.
		cli := func(args ...string) string {
			t.Helper()
			out, errOut, code := starlane(t, 30*time.Second, append(args, "--controller", ci.Controller)...)
			if code != 0 {
				t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
			}
			return out
		}
		cli("player", "create", "keeper", "--admin")
		cli("player", "create", "guest", "--whitelist")
		cli("player", "create", "griefer")
		cli("player", "ban", "griefer", "griefing")
		cli("player", "settings", "--whitelist", "on", "--self-register", "off")
		before := getSurface(t, ci.Controller, "nauvis").Stats.Tick
		if err := stopDev(); err != nil {
			t.Fatalf("starlane dev did not exit cleanly on SIGINT: %v", err)
		}
		os.Remove(filepath.Join(dir, "cluster.json")) // wait for the new run's
		dev, ci = startDev(t, dir)
		s := getSurface(t, ci.Controller, "nauvis")
		// From scratch it would be a few hundred ticks in; resumed, it is past where it stopped.
		if s.Stats == nil || s.Stats.Tick < before {
			t.Fatalf("nauvis stopped at tick %d and came back at %+v", before, s.Stats)
		}
		if got := cli("player", "settings", "--json"); !strings.Contains(got, `"self_register":false`) || !strings.Contains(got, `"whitelist":true`) {
			t.Errorf("after a restart of dev the player settings are %s; want self-registration off and the whitelist on, as set before", got)
		}
		players := cli("player", "list", "--json")
		for _, want := range []string{`"name":"keeper","admin":true`, `"name":"griefer","admin":false,"banned":true,"ban_reason":"griefing"`, `"name":"guest","admin":false,"banned":false`} {
			if !strings.Contains(players, want) {
				t.Errorf("after a restart of dev the players are %s; want %s", players, want)
			}
		}
		if !strings.Contains(players, `"whitelisted":true`) {
			t.Errorf("after a restart of dev guest is no longer whitelisted: %s", players)
		}
		cli("player", "settings", "--whitelist", "off", "--self-register", "on")
	})

	// Last: it may leave the surfaces on new epochs.
	t.Run("NodeCutOffFromTheControllerFencesItself", func(t *testing.T) {
		ci := readCluster(t, dir)
		nodeAddr := ci.Nodes[ci.Surfaces["nauvis"]]
		shardOf := func() (*pb.GetShardResponse, error) {
			cc, err := grpc.NewClient(nodeAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, err
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return pb.NewShardServiceClient(cc).GetShard(ctx, &pb.GetShardRequest{Surface: "nauvis"})
		}
		if r, err := shardOf(); err != nil || r.Fenced {
			t.Fatalf("before: %v %v", r, err)
		}
		ctl := ci.PIDs["controller"]
		stopped := time.Now()
		if err := syscall.Kill(ctl, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		var fencedAfter time.Duration
		for time.Since(stopped) < 4500*time.Millisecond {
			if r, err := shardOf(); err == nil && r.Fenced {
				fencedAfter = time.Since(stopped)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		a, _ := shardOf()
		time.Sleep(300 * time.Millisecond)
		b, _ := shardOf()
		syscall.Kill(ctl, syscall.SIGCONT)
		// The controller's lease is 5s from the last heartbeat it received; the node
		// must have stopped sequencing well before.
		if fencedAfter == 0 || fencedAfter > 4*time.Second {
			t.Fatalf("node did not fence itself within 4s of losing the controller (lease TTL 5s)")
		}
		if a == nil || b == nil || a.Tick != b.Tick {
			t.Fatalf("a fenced shard kept ticking: %v -> %v", a, b)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := getSurface(t, ci.Controller, "nauvis")
			if s.Stats != nil && s.Stats.Tick > b.Tick+60 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nauvis did not tick again after the controller came back: %+v", s)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
}

// testPlay drives `starlane play`'s terminal client on a simulated screen.
func testPlay(t *testing.T, ci *clusterInfo) {
	c, err := player.Dial(context.Background(), player.Options{Node: ci.Nodes["n1"], Surface: "nauvis", Name: "tui", Ticket: ticketsFrom(t, ci.Controller)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	screen := tcell.NewSimulationScreen("")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	screen.SetSize(80, 24)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- player.RunTUI(ctx, c, screen) }()
	text := func() string {
		cells, w, h := screen.GetContents()
		var b strings.Builder
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if r := cells[y*w+x].Runes; len(r) > 0 {
					b.WriteRune(r[0])
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteByte('\n')
		}
		return b.String()
	}
	var pos1 string
	waitUntil := func(what string, cond func(string) bool) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := text()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("screen never showed %s:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	posOf := func(s string) string {
		i := strings.Index(s, " at ")
		j := strings.Index(s[i:], "\n")
		return s[i : i+j]
	}
	s := waitUntil("the character and UPS", func(s string) bool {
		return strings.Contains(s, "@") && strings.Contains(s, " UPS") && strings.Contains(s, "player ")
	})
	pos1 = posOf(s[strings.Index(s, "player "):])
	for i := 0; i < 3; i++ {
		screen.InjectKey(tcell.KeyRune, 'd', tcell.ModNone)
		time.Sleep(100 * time.Millisecond)
	}
	waitUntil("the character walking east", func(s string) bool {
		i := strings.Index(s, "player ")
		return i >= 0 && posOf(s[i:]) != pos1
	})
	screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("q did not quit")
	}
	cancel()
}

// helloWithEpoch opens a raw session stamped with epoch and returns how the node
// answered.
func helloWithEpoch(t *testing.T, ctl, addr, surface string, epoch uint64) (codes.Code, string) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := pb.NewShardServiceClient(cc).Play(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("epoch-%d", epoch)
	tk, err := ticketsFrom(t, ctl)(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&pb.PlayRequest{Epoch: epoch, Msg: &pb.PlayRequest_Hello{Hello: &pb.Hello{Surface: surface, PlayerName: name, Ticket: tk}}})
	m, err := st.Recv()
	if err != nil {
		s := status.Convert(err)
		return s.Code(), s.Message()
	}
	if m.GetWelcome() == nil {
		return codes.Unknown, fmt.Sprintf("%T", m.Msg)
	}
	return codes.OK, ""
}

func testNodeCLIBadInput(t *testing.T, ci *clusterInfo) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}
	dead := free() // nothing listens there
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong token", []string{"--controller", ci.Controller, "--join-token", "slj-wrong", "--bind", free()}, "rejected the join token"},
		{"unreachable controller", []string{"--controller", dead, "--join-token", ci.JoinToken, "--bind", free(), "--connect-timeout", "2s"}, "cannot reach the controller at " + dead},
		{"port in use", []string{"--controller", ci.Controller, "--join-token", ci.JoinToken, "--bind", busy.Addr().String()}, "already in use"},
		{"bad name", []string{"--controller", ci.Controller, "--join-token", ci.JoinToken, "--bind", free(), "--name", "Bad Name"}, "--name"},
		{"name of a running node", []string{"--controller", ci.Controller, "--join-token", ci.JoinToken, "--bind", free(), "--name", "n1"}, "another process already uses this name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := t.TempDir()
			args := append([]string{"node", "--data-dir", dataDir}, tc.args...)
			_, errOut, code := starlane(t, 30*time.Second, args...)
			lines := nonEmptyLines(errOut)
			if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant one line containing %q", code, errOut, tc.want)
			}
			// Nothing half-started: the node never registered (the running n1 kept its
			// address), and its data dir is free.
			var nodes []struct {
				ID      string `json:"id"`
				Address string `json:"address"`
			}
			out, _, _ := starlane(t, 30*time.Second, "node", "list", "--json", "--controller", ci.Controller)
			if err := json.Unmarshal([]byte(out), &nodes); err != nil {
				t.Fatalf("node list: %v: %s", err, out)
			}
			for _, n := range nodes {
				if want, ok := ci.Nodes[n.ID]; ok && n.Address != want {
					t.Fatalf("node %s is now registered at %s, not %s", n.ID, n.Address, want)
				}
			}
			if id, err := os.ReadFile(filepath.Join(dataDir, "node-id")); err == nil && ci.Nodes[strings.TrimSpace(string(id))] == "" {
				out, _, _ := starlane(t, 30*time.Second, "node", "list", "--json", "--controller", ci.Controller)
				if strings.Contains(out, `"id":"`+strings.TrimSpace(string(id))+`"`) {
					t.Fatalf("a failed node registered: %s", out)
				}
			}
			f, err := os.OpenFile(filepath.Join(dataDir, "node.lock"), os.O_CREATE|os.O_RDWR, 0o600)
			if err == nil {
				if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
					t.Fatalf("data dir still locked after the failed start")
				}
				f.Close()
			}
		})
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.Contains(l, "level=") {
			out = append(out, l)
		}
	}
	return out
}
