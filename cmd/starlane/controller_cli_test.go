package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// startController runs a one-member controller and two registered nodes that
// keep heartbeating; it returns the API address.
func startController(t *testing.T, nodes ...string) string {
	t.Helper()
	if len(nodes) == 0 {
		nodes = []string{"n1", "n2"}
	}
	c, err := controller.New(controller.Config{
		ID: "c1", DataDir: filepath.Join(t.TempDir(), "c1"), BindAddr: "127.0.0.1:0", RaftBind: "127.0.0.1:0",
		Bootstrap: true, JoinToken: "tok", ElectionTimeout: 200 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, LeaseTTL: time.Second, RaftLogLevel: "off",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(false) })
	cl, err := ctlclient.Dial([]string{c.APIAddr()}, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	for _, id := range nodes {
		err := cl.Node(ctx, func(ctx context.Context, n pb.NodeServiceClient) error {
			_, err := n.Register(ctx, &pb.RegisterRequest{RequestId: ctlclient.NewRequestID(), JoinToken: "tok", Node: &pb.Node{Id: id, Capacity: &pb.NodeCapacity{Cores: 2}, Bundles: []string{sim.DefaultBundle().Hash()}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, id := range nodes {
				cl.Node(ctx, func(ctx context.Context, n pb.NodeServiceClient) error {
					_, err := n.Heartbeat(ctx, &pb.HeartbeatRequest{NodeId: id})
					if status.Code(err) == codes.FailedPrecondition { // marked down: register again
						_, err = n.Register(ctx, &pb.RegisterRequest{RequestId: ctlclient.NewRequestID(), JoinToken: "tok", Node: &pb.Node{Id: id, Capacity: &pb.NodeCapacity{Cores: 2}}})
					}
					return err
				})
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return c.APIAddr()
}

// TestSurfaceCLIContract runs the operator commands against a live controller and
// checks the --json fields other tools depend on.
func TestSurfaceCLIContract(t *testing.T) {
	addr := startController(t)
	t.Setenv("STARLANE_CONTROLLER", addr) // the default for --controller

	if _, _, err := runStarlane(t, "", "surface", "create", "nauvis", "--replicas", "2", "--seed", "42"); err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, err := runStarlane(t, "", "surface", "get", "nauvis", "--json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("surface get --json is not a JSON object: %v\n%s", err, out)
		}
		if string(got["primary"]) != `""` && string(got["standbys"]) != `[]` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("surface never placed: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var primary string
	var standbys []string
	var epoch uint64
	if json.Unmarshal(got["primary"], &primary) != nil || json.Unmarshal(got["standbys"], &standbys) != nil || json.Unmarshal(got["epoch"], &epoch) != nil {
		t.Fatalf("primary/standbys/epoch have the wrong JSON types: %s %s %s", got["primary"], got["standbys"], got["epoch"])
	}
	if primary == "" || len(standbys) != 1 || standbys[0] == primary || epoch == 0 {
		t.Fatalf("primary %q standbys %v epoch %d: want a primary, one standby on another node, epoch > 0", primary, standbys, epoch)
	}
	if string(got["seed"]) != "42" || string(got["replicas"]) != "2" {
		t.Errorf("seed %s replicas %s", got["seed"], got["replicas"])
	}

	// The replication block: mode, synced set, per-standby lag. These nodes run no
	// shards, so the standby never catches up: the surface is under-replicated.
	var repl struct {
		Mode            string   `json:"mode"`
		Synced          []string `json:"synced"`
		UnderReplicated bool     `json:"under_replicated"`
		Standbys        []struct {
			Node      string `json:"node"`
			Synced    bool   `json:"synced"`
			Connected bool   `json:"connected"`
			AckedTick uint64 `json:"acked_tick"`
			LagTicks  uint64 `json:"lag_ticks"`
			LagBytes  uint64 `json:"lag_bytes"`
		} `json:"standbys"`
	}
	if err := json.Unmarshal(got["replication"], &repl); err != nil || repl.Mode != "hot" || repl.Synced == nil || !repl.UnderReplicated ||
		len(repl.Standbys) != 1 || repl.Standbys[0].Node != standbys[0] || repl.Standbys[0].Synced {
		t.Fatalf("replication %s (%v)", got["replication"], err)
	}

	// Pinned, a surface is not moved elsewhere: the scheduler would move it
	// straight back.
	if _, _, err := runStarlane(t, "", "surface", "pin", "nauvis", primary); err != nil {
		t.Fatalf("surface pin nauvis %s: %v", primary, err)
	}
	if _, _, err := runStarlane(t, "", "surface", "move", "nauvis", "--to", standbys[0]); err == nil || !strings.Contains(err.Error(), "surface nauvis is pinned to "+primary) {
		t.Errorf("moving a pinned surface elsewhere: %v", err)
	}
	if _, _, err := runStarlane(t, "", "surface", "pin", "nauvis", "--unpin"); err != nil {
		t.Fatal(err)
	}

	// Cordoning the primary's node starts a live move to the other node: it becomes
	// the primary once it has caught up (these fake nodes never do).
	if _, _, err := runStarlane(t, "", "node", "cordon", primary, "--controller", addr); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStarlane(t, "", "node", "get", primary, "--json")
	if err != nil || !strings.Contains(out, `"cordoned":true`) {
		t.Fatalf("node get after cordon: %v %s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, _, _ = runStarlane(t, "", "surface", "get", "nauvis", "--json")
		var s struct {
			Primary     string `json:"primary"`
			Replication struct {
				Migration *struct {
					Target string `json:"target"`
				} `json:"migration"`
			} `json:"replication"`
		}
		json.Unmarshal([]byte(out), &s)
		if s.Primary == primary && s.Replication.Migration != nil && s.Replication.Migration.Target == standbys[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cordon did not start moving the primary off %s: %s", primary, out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	out, _, err = runStarlane(t, "", "cluster", "status", "--json")
	if err != nil || !strings.Contains(out, `"leader_id":"c1"`) {
		t.Fatalf("cluster status --json: %v %s", err, out)
	}
	out, _, err = runStarlane(t, "", "cluster", "join-token")
	if err != nil || strings.TrimSpace(out) != "tok" {
		t.Fatalf("cluster join-token = %q, %v", out, err)
	}
	out, _, err = runStarlane(t, "", "surface", "list")
	if err != nil || !strings.Contains(out, "nauvis") {
		t.Fatalf("surface list: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		// A pin where it could not run is refused.
		{[]string{"surface", "pin", "nauvis", primary}, "node " + primary + " is cordoned: surface nauvis pinned there could not run"},
		{[]string{"surface", "get", "vulcanus"}, "surface vulcanus not found"},
		{[]string{"surface", "create", "nauvis"}, "surface nauvis already exists"},
		{[]string{"surface", "replicas", "nauvis", "0"}, "at least 1"},
		{[]string{"surface", "pin", "nauvis", "n9"}, "node n9 not found"},
		{[]string{"surface", "create", "fulgora", "--map", "no-such-save.sav"}, "nor a readable save file"},
		{[]string{"node", "cordon", "n9"}, "node n9 not found"},
		{[]string{"surface", "move", "nauvis", "--to", "n9"}, "node n9 not found"},
		{[]string{"surface", "move", "vulcanus", "--to", "n1"}, "surface vulcanus not found"},
		{[]string{"surface", "standby-mode", "nauvis", "lukewarm"}, "use hot"},
		{[]string{"node", "drain", "n9"}, "node n9 not found"},
		// The other node is cordoned: nowhere to go, said at once.
		{[]string{"node", "drain", standbys[0], "--wait", "1m"}, "no other node is up and uncordoned"},
		{[]string{"surface", "create", "gleba", "--standby-mode", "cold"}, "--standby-mode"},
		{[]string{"surface", "list", "--controller", "127.0.0.1:1", "--timeout", "300ms"}, "controller unavailable"},
	} {
		_, _, err := runStarlane(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}

	// More copies than nodes: accepted, and said.
	if _, errOut, err := runStarlane(t, "", "surface", "replicas", "nauvis", "5"); err != nil || !strings.Contains(errOut, "note: 5 copies asked, but 1 node is up and uncordoned: 4 copies wait for more nodes") {
		t.Errorf("surface replicas nauvis 5 on one usable node: %v, %q", err, errOut)
	}
	if _, errOut, err := runStarlane(t, "", "surface", "create", "many", "--replicas", "3"); err != nil || !strings.Contains(errOut, "note: 3 copies asked, but 1 node is up and uncordoned: 2 copies wait for more nodes") {
		t.Errorf("surface create --replicas 3 on one usable node: %v, %q", err, errOut)
	}

	// Restoring a backup undoes everything after it: said first, done only
	// with --yes.
	backup := filepath.Join(t.TempDir(), "state.bin")
	if _, _, err := runStarlane(t, "", "cluster", "snapshot", "save", backup); err != nil {
		t.Fatalf("cluster snapshot save: %v", err)
	}
	if _, _, err := runStarlane(t, "", "surface", "create", "after-backup"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runStarlane(t, "", "cluster", "snapshot", "restore", backup)
	if err == nil || !strings.Contains(errOut, "undoes the") || !strings.Contains(errOut, "Add --yes to restore") {
		t.Errorf("snapshot restore without --yes: %v, %q; want it to say what it undoes and stop", err, errOut)
	}
	if out, _, err := runStarlane(t, "", "surface", "list"); err != nil || !strings.Contains(out, "after-backup") {
		t.Errorf("a restore without --yes changed the catalog: %v\n%s", err, out)
	}
	if _, _, err := runStarlane(t, "", "cluster", "snapshot", "restore", backup, "--yes"); err != nil {
		t.Fatalf("snapshot restore --yes: %v", err)
	}
	if out, _, _ := runStarlane(t, "", "surface", "list"); strings.Contains(out, "after-backup") {
		t.Errorf("after the restore the surface created after the backup is still listed:\n%s", out)
	}
}

// Deleting a surface asks for --yes first, saying what would be lost; then it
// deletes the bridges to and from it, and says which.
func TestSurfaceDeleteNamesItsBridges(t *testing.T) {
	t.Setenv("STARLANE_CONTROLLER", startController(t))
	for _, name := range []string{"a", "b", "c"} {
		if _, _, err := runStarlane(t, "", "surface", "create", name, "--map", "empty"); err != nil {
			t.Fatal(err)
		}
	}
	for _, br := range [][2]string{{"a:out", "b:in"}, {"b:out", "a:in"}, {"b:out2", "c:in"}} {
		if _, _, err := runStarlane(t, "", "bridge", "create", "--from", br[0], "--to", br[1]); err != nil {
			t.Fatal(err)
		}
	}
	_, errOut, err := runStarlane(t, "", "surface", "delete", "a")
	if err == nil || !strings.Contains(errOut, "deleting surface a loses its state") || !strings.Contains(errOut, "2 bridges (") || !strings.Contains(errOut, "Add --yes to delete") {
		t.Fatalf("surface delete without --yes: %v %q; want it refused, saying what would be lost", err, errOut)
	}
	if out, _, err := runStarlane(t, "", "surface", "get", "a", "--json"); err != nil || !strings.Contains(out, `"name":"a"`) {
		t.Fatalf("surface a is gone after a delete without --yes: %v %s", err, out)
	}
	out, _, err := runStarlane(t, "", "surface", "delete", "a", "--yes", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Deleted string   `json:"deleted"`
		Bridges []string `json:"bridges_deleted"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Deleted != "a" || len(res.Bridges) != 2 {
		t.Fatalf("surface delete --json: %v %s; want a and its two bridges", err, out)
	}
	out, _, err = runStarlane(t, "", "bridge", "list", "--json")
	if err != nil || strings.Count(out, `"from":`) != 1 || !strings.Contains(out, `"to":"c:in"`) {
		t.Fatalf("bridges left: %v %s; want only b to c", err, out)
	}
}

// surfacePlacement is a surface's placement as `surface get --json` gives it.
type surfacePlacement struct {
	Primary  string   `json:"primary"`
	Standbys []string `json:"standbys"`
}

// createWithStandby creates a surface with one standby and waits for it placed.
func createWithStandby(t *testing.T, name string) surfacePlacement {
	t.Helper()
	if _, _, err := runStarlane(t, "", "surface", "create", name, "--replicas", "2"); err != nil {
		t.Fatal(err)
	}
	var sf surfacePlacement
	for deadline := time.Now().Add(10 * time.Second); len(sf.Standbys) == 0; time.Sleep(50 * time.Millisecond) {
		out, _, _ := runStarlane(t, "", "surface", "get", name, "--json")
		json.Unmarshal([]byte(out), &sf)
		if time.Now().After(deadline) {
			t.Fatalf("%s got no standby: %s", name, out)
		}
	}
	return sf
}

// A drain that leaves a surface with fewer standbys than asked says so: the
// copy was dropped, not moved, and why.
func TestDrainSaysWhichStandbysWereDropped(t *testing.T) {
	t.Setenv("STARLANE_CONTROLLER", startController(t))
	sf := createWithStandby(t, "nauvis")
	// The only other node holds the primary: the standby has nowhere to go.
	out, _, err := runStarlane(t, "", "node", "drain", sf.Standbys[0], "--wait", "30s")
	if err != nil {
		t.Fatalf("node drain %s: %v", sf.Standbys[0], err)
	}
	if strings.Contains(out, "moved") || !strings.Contains(out, "nauvis now has 0 of 1 standbys: a standby copy was dropped and no other node can hold one (") ||
		!strings.Contains(out, "warning: 1 surface has fewer standbys than asked") {
		t.Errorf("drain output:\n%s\nwant the standby said dropped, with the reason and a warning", out)
	}
	runStarlane(t, "", "node", "uncordon", sf.Standbys[0])
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _, _ := runStarlane(t, "", "surface", "get", "nauvis", "--json")
		json.Unmarshal([]byte(out), &sf)
		if len(sf.Standbys) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nauvis got no standby back after the uncordon: %s", out)
		}
	}
	// A cordon says what becomes of what the node holds.
	if _, errOut, err := runStarlane(t, "", "node", "cordon", sf.Standbys[0]); err != nil || !strings.Contains(errOut, "holds 0 primaries and 1 standby: primaries move off live") {
		t.Errorf("node cordon of a node with a standby: %v, %q", err, errOut)
	}
	var res struct {
		StandbysMoved   []string `json:"standbys_moved"`
		StandbysDropped []struct {
			Surface  string `json:"surface"`
			Standbys int    `json:"standbys"`
			Wanted   int    `json:"wanted"`
			Reason   string `json:"reason"`
		} `json:"standbys_dropped"`
	}
	out, _, err = runStarlane(t, "", "node", "drain", sf.Standbys[0], "--json", "--wait", "30s")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("drain --json: %v\n%s", err, out)
	}
	if len(res.StandbysMoved) != 0 || len(res.StandbysDropped) != 1 || res.StandbysDropped[0].Surface != "nauvis" ||
		res.StandbysDropped[0].Wanted != 1 || res.StandbysDropped[0].Standbys != 0 || !strings.Contains(res.StandbysDropped[0].Reason, "already hosts a copy") {
		t.Errorf("drain --json: %+v", res)
	}
}

// A drain that moves a standby copy says which node holds it now.
func TestDrainSaysWhereStandbysWent(t *testing.T) {
	t.Setenv("STARLANE_CONTROLLER", startController(t, "n1", "n2", "n3"))
	sf := createWithStandby(t, "nauvis")
	drained := sf.Standbys[0]
	third := ""
	for _, n := range []string{"n1", "n2", "n3"} {
		if n != drained && n != sf.Primary {
			third = n
		}
	}
	out, _, err := runStarlane(t, "", "node", "drain", drained, "--json", "--wait", "30s")
	if err != nil {
		t.Fatalf("node drain %s: %v", drained, err)
	}
	var res struct {
		StandbysMoved []string `json:"standbys_moved"`
		StandbyMoves  []struct {
			Surface string `json:"surface"`
			To      string `json:"to"`
		} `json:"standby_moves"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.StandbysMoved) != 1 || len(res.StandbyMoves) != 1 ||
		res.StandbyMoves[0].Surface != "nauvis" || res.StandbyMoves[0].To != third {
		t.Fatalf("drain --json of the standby's node %s: %v %s; want nauvis's standby moved to %s", drained, err, out, third)
	}
	// Draining the new standby's node says the same in words.
	runStarlane(t, "", "node", "uncordon", drained)
	out, _, err = runStarlane(t, "", "node", "drain", third, "--wait", "30s")
	if err != nil || !strings.Contains(out, "standby copy of nauvis moved to "+drained+"\n") {
		t.Errorf("node drain %s: %v\n%s\nwant the standby said moved to %s", third, err, out, drained)
	}
}

// A short hash prefix that names no save says why it was not taken as one, as
// the bundle commands do.
func TestShortSavePrefixIsExplained(t *testing.T) {
	t.Setenv("STARLANE_CONTROLLER", startController(t))
	for _, args := range [][]string{{"save", "get", "1f22"}, {"save", "delete", "1f22"}} {
		_, _, err := runStarlane(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "a hash prefix needs 8 or more hex digits") {
			t.Errorf("%v: %v; want the prefix length explained", args, err)
		}
	}
}
