package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/starlane/starlane/internal/proctest"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// watched reads a session until it ends: its chat lines and how it ended.
type watched struct {
	s    *session
	mu   sync.Mutex
	chat []string
	end  chan error
}

func watch(s *session) *watched {
	w := &watched{s: s, end: make(chan error, 1)}
	go func() {
		for {
			m, err := s.st.Recv()
			if err != nil {
				w.end <- err
				return
			}
			if c := m.GetChat(); c != nil {
				w.mu.Lock()
				w.chat = append(w.chat, c.Player+": "+c.Text)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// say sends a chat line and waits for the next line from the server that
// contains want, returning it.
func (w *watched) say(t *testing.T, text, want string) string {
	t.Helper()
	w.mu.Lock()
	from := len(w.chat)
	w.mu.Unlock()
	if err := w.s.st.Send(&pb.PlayRequest{Epoch: w.s.epoch, Msg: &pb.PlayRequest_Chat{Chat: &pb.ChatSend{Text: text}}}); err != nil {
		t.Fatalf("say %q: %v", text, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, l := range w.chat[from:] {
			if strings.HasPrefix(l, "server: ") && strings.Contains(l, want) {
				w.mu.Unlock()
				return strings.TrimPrefix(l, "server: ")
			}
		}
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("%q: no answer containing %q; chat: %q", text, want, w.chat)
	return ""
}

// ended waits up to d for the session to end and returns how.
func (w *watched) ended(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-w.end:
		return err
	case <-time.After(d):
		t.Fatalf("session still open %v later", d)
		return nil
	}
}

// TestAdminChatWhitelistAndSave: a player whose ticket says admin runs the
// console's commands from chat (/kick, /save) while another player is told
// they are for admins; RCON (go-mc's client) lists the admin as such and sees
// the kick; /save takes a checkpoint now and answers with its tick; turning
// the whitelist on, or taking a player off it, closes the sessions it no longer
// lets in at once, with a message.
func TestAdminChatWhitelistAndSave(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	t.Parallel()
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	pwFile, tokFile := filepath.Join(dir, "rcon-password"), filepath.Join(dir, "rcon-token")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	os.WriteFile(tokFile, []byte(proctest.Token+"\n"), 0o600)
	rconAddr := proctest.FreeAddr(t)
	// No periodic checkpoint during the test: only /save makes one.
	c.StartNode("n1", "--rcon-bind", rconAddr, "--rcon-password-file", pwFile, "--rcon-token-file", tokFile, "--checkpoint-every", "10000000")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "starter")
	proctest.Eventually(t, 60*time.Second, "nauvis to tick", func() bool {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "nauvis", "--json", "--controller", c.CtlAddr)
		return code == 0 && strings.Contains(out, `"tick"`) && !strings.Contains(out, `"tick":0`)
	})
	c.CLI("player", "create", "alice", "--admin")
	c.CLI("player", "create", "carol", "--whitelist")
	node := c.NodeAddrs["n1"]
	tickets := ticketsFrom(t, c.CtlAddr)
	join := func(name string) *watched {
		t.Helper()
		tk, err := tickets(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := hello(t, node, "nauvis", name, tk)
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		return watch(s)
	}
	alice, bob, carol, dave := join("alice"), join("bob"), join("carol"), join("dave")

	con, err := mcnet.DialRCON(rconAddr, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	rcon := func(cmd string) string {
		t.Helper()
		if err := con.Cmd(cmd); err != nil {
			t.Fatal(err)
		}
		out, err := con.Resp()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return out
	}
	if got := rcon("/players"); got != "nauvis (4): alice (admin), bob, carol, dave" {
		t.Errorf("RCON /players: %q", got)
	}

	// A player who is not an admin may not use the admin commands, but may
	// use the players' ones; the answer goes to the asker only.
	if got := bob.say(t, "/kick alice", "/kick"); got != "/kick is for admins, and bob is not one (an operator makes a player admin with `starlane player admin NAME`)" {
		t.Errorf("bob's /kick: %q", got)
	}
	if got := bob.say(t, "/players", "nauvis (4)"); !strings.Contains(got, "alice (admin)") {
		t.Errorf("bob's /players: %q", got)
	}
	if got := rcon("/players"); !strings.Contains(got, "alice (admin)") {
		t.Errorf("alice is gone after bob's refused /kick: %q", got)
	}

	// /save from chat and from RCON: a checkpoint now, answered with its tick,
	// which the node reports as its newest checkpoint.
	var saved uint64
	if got := alice.say(t, "/save", "nauvis: "); !strings.HasPrefix(got, "nauvis: saved tick ") || !strings.Contains(got, "(checkpoint taken now)") {
		t.Fatalf("alice's /save: %q", got)
	} else {
		fmt.Sscanf(got, "nauvis: saved tick %d", &saved)
	}
	cc, err := grpc.NewClient(node, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	shardInfo := func() *pb.GetShardResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := pb.NewShardServiceClient(cc).GetShard(ctx, &pb.GetShardRequest{Surface: "nauvis"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := shardInfo(); saved == 0 || r.CheckpointTick != saved {
		t.Errorf("/save answered tick %d; the node's newest checkpoint is at tick %d", saved, r.CheckpointTick)
	}
	var again uint64
	if got := rcon("save"); !strings.HasPrefix(got, "nauvis: saved tick ") {
		t.Errorf("RCON save: %q", got)
	} else if fmt.Sscanf(got, "nauvis: saved tick %d", &again); again <= saved || shardInfo().CheckpointTick != again {
		t.Errorf("RCON save answered tick %d after %d; the node's newest checkpoint is at tick %d", again, saved, shardInfo().CheckpointTick)
	}

	// An admin's /kick from chat closes the player's session.
	if got := alice.say(t, "/kick bob being rude", "kicked"); got != "kicked bob (1 session)" {
		t.Errorf("alice's /kick: %q", got)
	}
	wantRefusal(t, "bob kicked by alice", bob.ended(t, 10*time.Second), codes.PermissionDenied, "kicked by an admin: being rude")

	// The whitelist: turning it on closes dave's session (neither whitelisted
	// nor admin) at once; carol (whitelisted) and alice (admin) stay.
	c.CLI("player", "settings", "--whitelist", "on")
	wantRefusal(t, "dave when the whitelist went on", dave.ended(t, 5*time.Second), codes.PermissionDenied, "the whitelist is on and player dave is not on it")
	c.CLI("player", "whitelist", "carol", "--remove")
	wantRefusal(t, "carol taken off the whitelist", carol.ended(t, 5*time.Second), codes.PermissionDenied, "player carol was removed from the whitelist")
	daveTicket, err := tickets(context.Background(), "dave") // still valid: the node refuses it
	if err != nil {
		t.Fatal(err)
	}
	_, err = hello(t, node, "nauvis", "dave", daveTicket)
	wantRefusal(t, "dave joining again", err, codes.PermissionDenied, "player dave is not on the whitelist")
	if got := rcon("/players"); got != "nauvis (1): alice (admin)" {
		t.Errorf("RCON /players after the kicks: %q", got)
	}

	// Taking the admin right away counts at once, with the same ticket (alice is
	// whitelisted first, or losing it would close her session).
	c.CLI("player", "whitelist", "alice")
	c.CLI("player", "admin", "alice", "--remove")
	proctest.Eventually(t, 10*time.Second, "RCON to list alice as a player, not an admin", func() bool {
		return rcon("/players") == "nauvis (1): alice"
	})
	if got := alice.say(t, "/save", "/save"); !strings.Contains(got, "is for admins, and alice is not one") {
		t.Errorf("alice's /save after her admin right went: %q", got)
	}
}
