package shard_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// simConfig runs the real simulation's starter map.
func simConfig(dir string) shard.Config {
	b := sim.DefaultBundle()
	return shard.Config{
		Name: "nauvis", Dir: dir, Epoch: 1, UPS: 300, CheckpointEvery: 100000,
		New:  func() (shard.Simulation, error) { return sim.NewMap(b, "starter", 1, "nauvis") },
		Load: func(r io.Reader) (shard.Simulation, error) { return sim.Load(b, r) },
		JoinInput: func(p uint32, name string) []byte {
			return sim.EncodeAction(sim.Action{Kind: sim.ActJoin, Name: name})
		},
	}
}

// crashChild runs a shard over sim until it is killed, acting as a player and
// printing every confirmed tick with the hash after it.
func crashChild(dir string) {
	s, err := shard.Open(simConfig(dir))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	s.Start()
	j, err := s.Join(shard.JoinRequest{Name: "walker"})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	step := int32(0)
	for {
		recs, err := j.Session.Next(context.Background(), 8)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for _, r := range recs {
			fmt.Printf("confirmed %d %016x\n", r.Tick, r.Hash)
		}
		step++
		j.Session.Act(sim.EncodeAction(sim.Action{Kind: sim.ActMove, X: step % 8 * 256, Y: 128}), 0)
	}
}

func TestKilledShardResumesAtItsLastConfirmedTickWithTheSameHash(t *testing.T) {
	if dir := os.Getenv("SHARD_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledShardResumesAtItsLastConfirmedTickWithTheSameHash$")
	cmd.Env = append(os.Environ(), "SHARD_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	seen := map[uint64]string{}
	var last uint64
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for last < 400 && sc.Scan() && time.Now().Before(deadline) {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "confirmed" {
			t.Fatalf("child: %s", sc.Text())
		}
		tick, _ := strconv.ParseUint(f[1], 10, 64)
		seen[tick], last = f[2], tick
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no flush, no close
		t.Fatal(err)
	}
	cmd.Wait()
	if last < 400 {
		t.Fatalf("child only reached tick %d", last)
	}

	s, err := shard.Open(simConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	st := s.Stats()
	if st.Tick < last {
		t.Fatalf("resumed at tick %d, but tick %d had been confirmed before the kill", st.Tick, last)
	}
	for _, tick := range []uint64{1, last / 2, last} {
		h, ok := s.HashAt(tick)
		if !ok || fmt.Sprintf("%016x", h) != seen[tick] {
			t.Fatalf("after restart tick %d has hash %016x (kept %v), before the kill it was %s", tick, h, ok, seen[tick])
		}
	}
}
