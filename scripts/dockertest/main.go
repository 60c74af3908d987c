// Command dockertest runs the multi-host fault tests against the compose cluster of
// deploy/docker-compose.yml: three controllers and three nodes, each a container
// with its own address, all over mutual TLS. It kills the Raft leader, kills the
// node running a primary, freezes one (docker pause) and cuts one off the network
// (docker network disconnect), and checks after each that the cluster writes
// again, that every surface ticks again on another node without losing a confirmed
// tick, and that the node it lost comes back as a follower, not a second primary.
// Then it bridges two loop surfaces with two standbys each and checks, by counting
// plates in the nodes' stores, that bridge re-creation, ports rebuilt by a player
// (`starlane act`), killed primaries (alone and with their best standby), paused
// standbys and a re-created surface neither lose nor duplicate a plate (bridges.go).
// It prints what it measured and exits non-zero on the first broken expectation.
// The containers and volumes are removed at the end. Run by scripts/test-docker.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var (
	project = flag.String("project", fmt.Sprintf("starlane-test-%d", os.Getpid()), "compose project name")
	file    = flag.String("file", "deploy/docker-compose.yml", "compose file")
	image   = flag.String("image", "starlane:latest", "image the compose file runs")
	keep    = flag.Bool("keep", false, "leave the cluster running at the end (for a look around)")
	verbose = flag.Bool("v", false, "print every command")
)

// secrets are the variables deploy/docker-compose.yml refuses to start without,
// with the prefix of each kind of token.
var secrets = []struct{ name, prefix string }{{"STARLANE_JOIN_TOKEN", "slj-"}, {"STARLANE_TOKEN", "slo-"}}

func main() {
	flag.Parse()
	// A run makes its own secrets (unless given), passed to every docker-compose
	// command through the environment.
	for _, v := range secrets {
		if os.Getenv(v.name) == "" {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				fmt.Fprintln(os.Stderr, "FAIL:", err)
				os.Exit(1)
			}
			os.Setenv(v.name, v.prefix+hex.EncodeToString(b))
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		down()
		os.Exit(130)
	}()
	err := run()
	if *keep && err == nil {
		fmt.Printf("cluster left running: STARLANE_JOIN_TOKEN=%s STARLANE_TOKEN=%s docker-compose -f %s -p %s down -v\n",
			os.Getenv("STARLANE_JOIN_TOKEN"), os.Getenv("STARLANE_TOKEN"), *file, *project)
	} else {
		if err != nil {
			fmt.Println("\n--- logs of the cluster ---")
			out, _ := exec.Command("docker-compose", "-f", *file, "-p", *project, "logs", "--no-color", "--tail", "40").CombinedOutput()
			os.Stdout.Write(out)
		}
		down()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

func down() {
	exec.Command("docker-compose", "-f", *file, "-p", *project, "down", "-v", "--timeout", "3").Run()
}

func compose(args ...string) error {
	_, err := cmd("docker-compose", append([]string{"-f", *file, "-p", *project}, args...)...)
	return err
}

func docker(args ...string) error {
	_, err := cmd("docker", args...)
	return err
}

func cmd(name string, args ...string) ([]byte, error) {
	if *verbose {
		fmt.Println("+", name, strings.Join(args, " "))
	}
	var out, errb bytes.Buffer
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func container(service string) string { return *project + "_" + service + "_1" }
func network() string                 { return *project + "_default" }

// cli runs the starlane CLI in a throwaway container on the cluster's network,
// with the operator's certificate, and decodes its --json output into v.
func cli(v any, args ...string) error { return cliWith(nil, v, args...) }

// cliWith is cli with more `docker run -v` mounts (host files for uploads and
// downloads).
func cliWith(mounts []string, v any, args ...string) error {
	full := []string{"run", "--rm", "--network", network(), "-v", *project + "_tls:/tls:ro"}
	for _, m := range mounts {
		full = append(full, "-v", m)
	}
	full = append(append(full, *image), args...)
	full = append(full, "--controller", "c1:7400,c2:7400,c3:7400", "--timeout", "5s", "--token", composeToken(),
		"--tls-ca", "/tls/ca.pem", "--tls-cert", "/tls/operator.pem", "--tls-key", "/tls/operator-key.pem", "--json")
	out, err := cmd("docker", full...)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(out, v)
}

type shardJSON struct {
	Node      string `json:"node"`
	Role      string `json:"role"`
	Confirmed uint64 `json:"confirmed_tick"`
}

type surfaceJSON struct {
	Name     string   `json:"name"`
	Primary  string   `json:"primary"`
	Standbys []string `json:"standbys"`
	Epoch    uint64   `json:"epoch"`
	Stats    *struct {
		UPS    float64     `json:"ups"`
		Shards []shardJSON `json:"shards"`
	} `json:"stats"`
	Replication struct {
		Synced []string `json:"synced"`
	} `json:"replication"`
}

type nodeJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func surfaces() (map[string]surfaceJSON, error) {
	var list []surfaceJSON
	if err := cli(&list, "surface", "list"); err != nil {
		return nil, err
	}
	m := map[string]surfaceJSON{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m, nil
}

// confirmedOn returns the confirmed tick the surface's primary reports, and
// whether that primary is node (any node when node is "").
func (s surfaceJSON) confirmedOn(node string) (uint64, bool) {
	if s.Stats == nil {
		return 0, false
	}
	for _, sh := range s.Stats.Shards {
		if sh.Role == "primary" && sh.Node == s.Primary && (node == "" || sh.Node == node) {
			return sh.Confirmed, true
		}
	}
	return 0, false
}

// waitFor polls cond until it holds or d passes; cond's error explains the state.
func waitFor(d time.Duration, what string, cond func() error) (time.Duration, error) {
	start := time.Now()
	var last error
	for time.Since(start) < d {
		if last = cond(); last == nil {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s: not within %v: %v", what, d, last)
}

var world = []struct{ name, mapName string }{{"nauvis", "starter"}, {"vulcanus", "outpost"}, {"fulgora", "hub"}}

// healthy: every surface has a ticking primary and a synced standby.
func healthy() error {
	m, err := surfaces()
	if err != nil {
		return err
	}
	for _, w := range world {
		s := m[w.name]
		if _, ok := s.confirmedOn(""); !ok || s.Stats.UPS < 30 {
			return fmt.Errorf("%s: not ticking on a primary (%+v)", w.name, s)
		}
		if len(s.Replication.Synced) == 0 {
			return fmt.Errorf("%s: no synced standby yet", w.name)
		}
	}
	return nil
}

func nodesUp(want int) error {
	var nodes []nodeJSON
	if err := cli(&nodes, "node", "list"); err != nil {
		return err
	}
	up := 0
	for _, n := range nodes {
		if n.Status == "up" {
			up++
		}
	}
	if up != want {
		return fmt.Errorf("%d nodes up, want %d: %+v", up, want, nodes)
	}
	return nil
}

func leader() (string, error) {
	var st struct {
		Leader string `json:"leader_id"`
		Peers  []struct {
			ID       string `json:"id"`
			Suffrage string `json:"suffrage"`
		} `json:"peers"`
	}
	if err := cli(&st, "cluster", "status"); err != nil {
		return "", err
	}
	if st.Leader == "" {
		return "", errors.New("no leader")
	}
	return st.Leader, nil
}

// failover takes the primary of surface away with fault (and undoes it with heal),
// then checks the surface ticks again on another node from at least the confirmed
// tick seen before, and that the old node comes back without being primary.
func failover(surface, what string, fault, heal func(node string) error) error {
	m, err := surfaces()
	if err != nil {
		return err
	}
	s := m[surface]
	old := s.Primary
	before, ok := s.confirmedOn(old)
	if !ok {
		return fmt.Errorf("%s: no primary before %s", surface, what)
	}
	oldEpoch := s.Epoch
	if err := fault(old); err != nil {
		return err
	}
	var after uint64
	var now string
	took, err := waitFor(30*time.Second, surface+" ticking on another node after "+what, func() error {
		m, err := surfaces()
		if err != nil {
			return err
		}
		s := m[surface]
		c, ok := s.confirmedOn("")
		if !ok || s.Primary == old || s.Epoch <= oldEpoch {
			return fmt.Errorf("primary %s epoch %d", s.Primary, s.Epoch)
		}
		if c <= before {
			return fmt.Errorf("new primary %s confirmed %d, not yet past %d", s.Primary, c, before)
		}
		after, now = c, s.Primary
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("   %s confirming again on %s (was on %s) %.1fs after the fault (confirmed tick %d before, %d after; polled about once a second)\n",
		surface, now, old, took.Seconds(), before, after)
	if err := heal(old); err != nil {
		return err
	}
	if _, err := waitFor(60*time.Second, what+": "+old+" back up", func() error { return nodesUp(3) }); err != nil {
		return err
	}
	// The old node must not act as the primary again: the surface stays on its new
	// primary, the confirmed tick only grows, and the cluster heals its standbys.
	if _, err := waitFor(60*time.Second, "every surface with a synced standby after "+what, healthy); err != nil {
		return err
	}
	m, err = surfaces()
	if err != nil {
		return err
	}
	s = m[surface]
	c, _ := s.confirmedOn("")
	if s.Primary == old && s.Epoch <= oldEpoch {
		return fmt.Errorf("%s: %s is primary again under the old epoch %d", surface, old, s.Epoch)
	}
	if c < after {
		return fmt.Errorf("%s: confirmed tick went back from %d to %d after %s healed", surface, after, c, old)
	}
	for _, sh := range s.Stats.Shards {
		if sh.Node == old && sh.Role == "primary" && s.Primary != old {
			return fmt.Errorf("%s: %s still reports itself primary after it healed", surface, old)
		}
	}
	return nil
}

func run() error {
	for _, tool := range []string{"docker", "docker-compose"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed", tool)
		}
	}
	if err := docker("image", "inspect", *image); err != nil {
		return fmt.Errorf("image %s missing (make docker): %w", *image, err)
	}
	if err := refusesWithoutSecrets(); err != nil {
		return err
	}
	start := time.Now()
	if err := compose("up", "-d"); err != nil {
		return err
	}
	if _, err := waitFor(60*time.Second, "three nodes registered", func() error { return nodesUp(3) }); err != nil {
		return err
	}
	fmt.Printf("cluster up: 3 controllers, 3 nodes (%.1fs)\n", time.Since(start).Seconds())
	for _, w := range world {
		if err := cli(nil, "surface", "create", w.name, "--map", w.mapName, "--replicas", "2"); err != nil {
			return err
		}
	}
	if took, err := waitFor(60*time.Second, "every surface placed, ticking, with a synced standby", healthy); err != nil {
		return err
	} else {
		fmt.Printf("3 surfaces ticking with a synced standby each (%.1fs)\n", took.Seconds())
	}

	// 1. The Raft leader is killed: the others elect one and take writes.
	l, err := leader()
	if err != nil {
		return err
	}
	killed := time.Now()
	if err := docker("kill", container(l)); err != nil {
		return err
	}
	n := 0
	if _, err := waitFor(30*time.Second, "a write after killing leader "+l, func() error {
		n++
		return cli(nil, "surface", "create", fmt.Sprintf("probe-%d", n), "--map", "empty", "--replicas", "1")
	}); err != nil {
		return err
	}
	nl, _ := leader()
	fmt.Printf("1. docker kill leader %s: next write acknowledged %.1fs after the kill (new leader %s)\n", l, time.Since(killed).Seconds(), nl)
	if nl == l {
		return fmt.Errorf("the killed controller %s is still reported leader", l)
	}
	if err := docker("start", container(l)); err != nil {
		return err
	}
	if _, err := waitFor(30*time.Second, l+" back in the cluster", func() error {
		var peers []struct {
			ID string `json:"id"`
		}
		if err := cli(&peers, "cluster", "peers"); err != nil {
			return err
		}
		if len(peers) != 3 {
			return fmt.Errorf("%d peers", len(peers))
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := waitFor(30*time.Second, "surfaces healthy after the leader kill", healthy); err != nil {
		return err
	}

	// 2. The node running nauvis's primary is killed (SIGKILL) and started again.
	fmt.Println("2. docker kill the node running nauvis's primary, then docker start it:")
	if err := failover("nauvis", "docker kill",
		func(node string) error { return docker("kill", container(node)) },
		func(node string) error { return docker("start", container(node)) }); err != nil {
		return err
	}

	// 3. The node running vulcanus's primary is frozen past its lease, then thawed:
	// it wakes up believing it is primary and must not act as one.
	fmt.Println("3. docker pause the node running vulcanus's primary for 10s, then unpause it:")
	if err := failover("vulcanus", "docker pause",
		func(node string) error { return docker("pause", container(node)) },
		func(node string) error { time.Sleep(10 * time.Second); return docker("unpause", container(node)) }); err != nil {
		return err
	}

	// 4. The node running fulgora's primary loses the network (controllers and the
	// other nodes), then gets it back.
	fmt.Println("4. docker network disconnect the node running fulgora's primary, then reconnect it:")
	if err := failover("fulgora", "docker network disconnect",
		func(node string) error { return docker("network", "disconnect", network(), container(node)) },
		func(node string) error {
			time.Sleep(3 * time.Second)
			return docker("network", "connect", "--alias", node, network(), container(node))
		}); err != nil {
		return err
	}

	m, err := surfaces()
	if err != nil {
		return err
	}
	for _, w := range world {
		c, _ := m[w.name].confirmedOn("")
		fmt.Printf("   %s: primary %s, standbys %v, epoch %d, confirmed tick %d\n", w.name, m[w.name].Primary, m[w.name].Standbys, m[w.name].Epoch, c)
	}

	// 5. Bridges at the edges: two loop surfaces with two standbys each, bridged both
	// ways, under bridge re-creation, killed primaries (alone and with their best
	// standby), a paused standby and a re-created surface; plates counted from the
	// stores. The surfaces of steps 1-4 go first: on a small machine their copies
	// would take most of the CPU.
	for name := range m {
		if err := cli(nil, "surface", "delete", name, "--yes"); err != nil {
			return err
		}
	}
	fmt.Println("5. bridges under faults, with two standbys per surface; plates counted on both surfaces:")
	if err := bridgePhase(); err != nil {
		return err
	}

	// 6. A save that exists on no node's disk: uploaded from this host, run as a
	// surface, moved, and downloaded again with the same hash.
	if err := saveRoundTrip(); err != nil {
		return err
	}
	fmt.Printf("all checks passed in %.0fs\n", time.Since(start).Seconds())
	return nil
}

// saveRoundTrip uploads a save from a directory only the CLI container sees,
// starts a surface from it, moves that surface to another node, and downloads
// the save again.
func saveRoundTrip() error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "starlane-saves-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	mount := []string{dir + ":/saves"}
	if _, err := cmd("docker", "run", "--rm", "-v", mount[0], *image, "sim", "run", "--map", "outpost", "--ticks", "300",
		"--save", "/saves/outpost.sav"); err != nil {
		return fmt.Errorf("make a save: %w", err)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "outpost.sav"))
	if err != nil {
		return err
	}
	var up struct {
		Sha256   string `json:"sha256"`
		Replicas int    `json:"replicas"`
	}
	if err := cliWith(mount, &up, "save", "upload", "/saves/outpost.sav", "--name", "outpost-save"); err != nil {
		return err
	}
	if want := sha256.Sum256(orig); up.Sha256 != hex.EncodeToString(want[:]) || up.Replicas < 2 {
		return fmt.Errorf("upload answered sha256 %s on %d controllers; want %x on a majority", up.Sha256, up.Replicas, want)
	}
	if err := cli(nil, "surface", "create", "gleba", "--save", "outpost-save", "--replicas", "2"); err != nil {
		return err
	}
	var from string
	if _, err := waitFor(60*time.Second, "gleba ticking from the uploaded save", func() error {
		m, err := surfaces()
		if err != nil {
			return err
		}
		g := m["gleba"]
		if _, ok := g.confirmedOn(g.Primary); !ok || g.Primary == "" || g.Stats == nil || g.Stats.UPS < 30 {
			return fmt.Errorf("gleba: primary %q", g.Primary)
		}
		from = g.Primary
		return nil
	}); err != nil {
		return err
	}
	if err := cli(nil, "surface", "move", "gleba", "--wait", "60s"); err != nil {
		return fmt.Errorf("move gleba off %s: %w", from, err)
	}
	m, err := surfaces()
	if err != nil {
		return err
	}
	if m["gleba"].Primary == from {
		return fmt.Errorf("gleba still runs on %s after the move", from)
	}
	if err := cliWith(mount, nil, "save", "download", "outpost-save", "--out", "/saves/back.sav"); err != nil {
		return err
	}
	back, err := os.ReadFile(filepath.Join(dir, "back.sav"))
	if err != nil {
		return err
	}
	if !bytes.Equal(back, orig) {
		return errors.New("the downloaded save differs from the uploaded one")
	}
	fmt.Printf("6. save uploaded from this host (held by %d controllers), gleba started from it on %s, moved to %s, save downloaded with an equal sha256 (%.1fs)\n",
		up.Replicas, from, m["gleba"].Primary, time.Since(start).Seconds())
	return nil
}

// composeToken is the operator token of the compose cluster: STARLANE_TOKEN,
// made for the run unless given.
func composeToken() string { return os.Getenv("STARLANE_TOKEN") }

// refusesWithoutSecrets checks that the compose file will not start a cluster
// when a secret is missing, and that its refusal says which and how to make one.
func refusesWithoutSecrets() error {
	for _, missing := range secrets {
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, missing.name+"=") {
				env = append(env, kv)
			}
		}
		c := exec.Command("docker-compose", "-f", *file, "-p", *project, "config", "-q")
		c.Env = env
		out, err := c.CombinedOutput()
		if err == nil {
			return fmt.Errorf("docker-compose accepts %s without %s: a cluster would start on a well-known secret", *file, missing.name)
		}
		if want := missing.name + " is not set - export it as " + missing.prefix; !strings.Contains(string(out), want) {
			return fmt.Errorf("docker-compose without %s says %q; want it to say %q", missing.name, strings.TrimSpace(string(out)), want)
		}
	}
	fmt.Println("0. the compose file refuses to start without STARLANE_JOIN_TOKEN or STARLANE_TOKEN, saying how to make one")
	return nil
}
