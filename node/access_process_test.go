package node_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// session is a raw player stream that got its Welcome.
type session struct {
	st     pb.ShardService_PlayClient
	cancel context.CancelFunc
	epoch  uint64 // the Welcome's: every message carries it
}

// hello opens a raw session as name with ticket and returns it, or the refusal.
func hello(t *testing.T, addr, surface, name, ticket string) (*session, error) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	st, err := pb.NewShardServiceClient(cc).Play(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st.Send(&pb.PlayRequest{Msg: &pb.PlayRequest_Hello{Hello: &pb.Hello{Surface: surface, PlayerName: name, Ticket: ticket}}})
	m, err := st.Recv()
	if err != nil {
		cancel()
		return nil, err
	}
	if m.GetWelcome() == nil {
		cancel()
		t.Fatalf("first answer to %s: %v", name, m)
	}
	return &session{st: st, cancel: cancel, epoch: m.Epoch}, nil
}

// ended waits for a session to end and returns its status.
func (s *session) ended(t *testing.T) error {
	t.Helper()
	defer s.cancel()
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := s.st.Recv(); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("session still open after 30 s")
		return nil
	}
}

func wantRefusal(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), msg) {
		t.Errorf("%s: %v; want %v %q", what, err, code, msg)
	}
}

// TestPlayerAccessAndConsole: players join with tickets only, as the ticket's
// player; the RCON console (driven by go-mc's Source RCON client) lists, kicks
// and bans players and reports each surface; a ban closes live sessions and
// keeps the player out.
func TestPlayerAccessAndConsole(t *testing.T) {
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
	c.StartNode("n1", "--rcon-bind", rconAddr, "--rcon-password-file", pwFile, "--rcon-token-file", tokFile)
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "starter")
	proctest.Eventually(t, 60*time.Second, "nauvis to tick", func() bool {
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "nauvis", "--json", "--controller", c.CtlAddr)
		return code == 0 && strings.Contains(out, `"tick"`) && !strings.Contains(out, `"tick":0`)
	})
	node := c.NodeAddrs["n1"]
	tickets := ticketsFrom(t, c.CtlAddr)
	ctx := context.Background()
	bobTicket, err := tickets(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	aliceTicket, err := tickets(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// Refusals at join.
	_, err = hello(t, node, "nauvis", "carol", "")
	wantRefusal(t, "no ticket", err, codes.Unauthenticated, "admits players with a ticket only")
	_, err = hello(t, node, "nauvis", "alice", bobTicket)
	wantRefusal(t, "bob's ticket used by alice", err, codes.PermissionDenied, "the ticket is for player bob, not alice")
	_, err = hello(t, node, "nauvis", "bob", bobTicket[:len(bobTicket)-4]+"AAAA")
	wantRefusal(t, "forged ticket", err, codes.Unauthenticated, "not valid")

	bob, err := hello(t, node, "nauvis", "bob", bobTicket)
	if err != nil {
		t.Fatalf("bob with his ticket: %v", err)
	}
	alice, err := hello(t, node, "nauvis", "alice", aliceTicket)
	if err != nil {
		t.Fatalf("alice with her ticket: %v", err)
	}

	// A player with only its key (no operator token, no --node) finds the node
	// that runs the surface by itself: reading the catalog needs a token.
	created := strings.Split(strings.TrimSpace(c.CLI("player", "create", "dora")), "\n")
	key := created[len(created)-1]
	act := exec.Command(bin, "act", "--controller", c.CtlAddr, "--surface", "nauvis", "--name", "dora", "--player-key", key, "walk 1,1")
	act.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "STARLANE_TOKEN=") })
	if out, err := act.CombinedOutput(); err != nil || !strings.Contains(string(out), "walk 1,1: done") {
		t.Errorf("a player with only a key acting without --node: %v\n%s", err, out)
	}

	// The console.
	if _, err := mcnet.DialRCON(rconAddr, "wrong"); err == nil || err.Error() != "login fail" {
		t.Errorf("wrong RCON password: %v; want the client's \"login fail\"", err)
	}
	con, err := mcnet.DialRCON(rconAddr, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	run := func(cmd string) string {
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
	for cmd, want := range map[string]string{
		"/players":         "nauvis (2): alice, bob",
		"/time":            "nauvis: tick ",
		"/evolution":       "UPS,",
		"/show-time-usage": "ms per tick",
		"/save nauvis":     "nauvis: saved tick ",
		"/nope":            "unknown command /nope",
	} {
		if got := run(cmd); !strings.Contains(got, want) {
			t.Errorf("%s: %q; want it to contain %q", cmd, got, want)
		}
	}
	if got := run("/kick alice spamming"); got != "kicked alice (1 session)" {
		t.Errorf("/kick: %q", got)
	}
	wantRefusal(t, "kicked alice's session", alice.ended(t), codes.PermissionDenied, "kicked by an admin: spamming")

	// A ban from the console: stored cluster-wide, closes bob's session, and
	// bob's still valid ticket no longer gets him in.
	if got := run("/ban bob griefing"); !strings.Contains(got, "banned bob cluster-wide") {
		t.Errorf("/ban: %q", got)
	}
	wantRefusal(t, "banned bob's session", bob.ended(t), codes.PermissionDenied, "banned")
	// At once: the node that banned him holds the ban before the controllers'
	// list comes round (a bot rejoining at once was let in once).
	if s, err := hello(t, node, "nauvis", "bob", bobTicket); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "player bob is banned") {
		if s != nil {
			s.cancel()
		}
		t.Errorf("bob rejoining right after the ban: %v; want refused as banned", err)
	}
	_, err = ticketsFrom(t, c.CtlAddr)(ctx, "bob") // a fresh source: the first keeps bob's ticket
	wantRefusal(t, "a ticket for banned bob", errorsCause(err), codes.PermissionDenied, "player bob is banned: griefing")
	out := c.CLI("player", "list", "--json")
	if !strings.Contains(out, `"name":"bob","admin":false,"banned":true,"ban_reason":"griefing"`) {
		t.Errorf("player list: %s", out)
	}
	if got := run("/unban bob"); got != "unbanned bob" {
		t.Errorf("/unban: %q", got)
	}
	audit := c.CLI("audit", "--json")
	if !strings.Contains(audit, `"method":"AccessService/SetPlayer"`) || !strings.Contains(audit, `"what":"access set_player.name=bob`) {
		t.Errorf("the console's ban is not in the audit log: %s", audit)
	}
}

// errorsCause unwraps a ticket error to its gRPC status.
func errorsCause(err error) error {
	for e := err; e != nil; {
		if _, ok := status.FromError(e); ok {
			return e
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return err
}

// collect reads a session's chat lines in the background.
func (s *session) collect() func() []string {
	var mu sync.Mutex
	var lines []string
	go func() {
		for {
			m, err := s.st.Recv()
			if err != nil {
				return
			}
			if c := m.GetChat(); c != nil {
				where := c.Surface
				if c.Global {
					where = "global"
				}
				mu.Lock()
				lines = append(lines, where+" "+c.Player+": "+c.Text)
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
}

// TestChat: a surface's chat reaches its players only; the cluster-wide
// channel reaches every surface's players, on both nodes, in one order.
func TestChat(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	t.Parallel()
	c := proctest.StartCluster(t, bin, t.TempDir())
	c.StartNode("n1")
	c.StartNode("n2")
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "a", "--map", "starter", "--node", "n1")
	c.CLI("surface", "create", "b", "--map", "starter", "--node", "n2")
	join := func(node, surface, name string) *session { return joinWithTicket(t, c, node, surface, name) }
	alice, carol, bob := join("n1", "a", "alice"), join("n1", "a", "carol"), join("n2", "b", "bob")
	got := map[string]func() []string{"alice": alice.collect(), "carol": carol.collect(), "bob": bob.collect()}
	say := func(s *session, text string, global bool) {
		t.Helper()
		if err := s.st.Send(&pb.PlayRequest{Epoch: s.epoch, Msg: &pb.PlayRequest_Chat{Chat: &pb.ChatSend{Text: text, Global: global}}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // each line is committed before the next is said
	}
	say(alice, "hello a", false)
	say(bob, "anyone?", true)
	say(carol, "yes", true)
	say(bob, "only b hears this", false)
	want := map[string][]string{
		"alice": {"a alice: hello a", "global bob: anyone?", "global carol: yes"},
		"carol": {"a alice: hello a", "global bob: anyone?", "global carol: yes"},
		"bob":   {"global bob: anyone?", "global carol: yes", "b bob: only b hears this"},
	}
	deadline := time.Now().Add(10 * time.Second)
	for who, w := range want {
		for !slices.Equal(got[who](), w) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if g := got[who](); !slices.Equal(g, w) {
			t.Errorf("%s read %q; want %q", who, g, w)
		}
	}
}

// A session that ends while the node still posts its chat lines (a burst, then
// the player goes) ends on the node too: the same player joins again at once,
// not "already connected" to a session nobody serves.
func TestChatBurstEndsWithItsSession(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	t.Parallel()
	c := proctest.StartCluster(t, bin, t.TempDir())
	c.StartNode("n1")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "a", "--map", "starter", "--node", "n1")
	s := joinWithTicket(t, c, "n1", "a", "flooder")
	// Lines the node refuses at once, each answered "not sent", while this
	// client reads nothing: its stream's window fills, the node's sender waits,
	// and the answers queue up behind it.
	long := strings.Repeat("x", validate.MaxChatBytes+1)
	go func() {
		for range 3000 {
			if err := s.st.Send(&pb.PlayRequest{Epoch: s.epoch, Msg: &pb.PlayRequest_Chat{Chat: &pb.ChatSend{Text: long, Global: true}}}); err != nil {
				return // the session is gone (the send may have blocked on a full window until then)
			}
		}
	}()
	time.Sleep(2 * time.Second)
	s.cancel()
	start := time.Now()
	tk, err := ticketsFrom(t, c.CtlAddr)(context.Background(), "flooder")
	if err != nil {
		t.Fatal(err)
	}
	var again *session
	proctest.Eventually(t, 15*time.Second, "flooder to join again after leaving", func() bool {
		again, err = hello(t, c.NodeAddrs["n1"], "a", "flooder", tk)
		return err == nil
	})
	again.cancel()
	t.Logf("joined again %v after leaving", time.Since(start).Round(time.Millisecond))
}

// joinWithTicket gets a ticket for name from the cluster's controllers and joins
// surface through node as name, waiting (up to a minute) until the node lets it in.
func joinWithTicket(t *testing.T, c *proctest.Cluster, node, surface, name string) *session {
	t.Helper()
	tk, err := ticketsFrom(t, c.CtlAddr)(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var s *session
	proctest.Eventually(t, 60*time.Second, name+" to join "+surface, func() bool {
		s, err = hello(t, c.NodeAddrs[node], surface, name, tk)
		return err == nil
	})
	return s
}
