package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/tlsconf/tlstest"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

const testToken = "slj-dashboard-test"

// startController runs a single-voter controller in this process and a dashboard
// on it, served by an httptest server.
func startController(t *testing.T) (*controller.Controller, *ctlclient.Client, *httptest.Server) {
	return startControllerWith(t, "")
}

// startControllerWith is startController with operator tokens in force when
// admin (the first admin token) is set; the client carries it.
func startControllerWith(t *testing.T, admin string) (*controller.Controller, *ctlclient.Client, *httptest.Server) {
	t.Helper()
	c, err := controller.New(controller.Config{DataDir: filepath.Join(t.TempDir(), "c1"), BindAddr: "127.0.0.1:0", RaftBind: "127.0.0.1:0",
		Bootstrap: true, JoinToken: testToken, ElectionTimeout: 300 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		LeaseTTL: time.Second, RaftLogLevel: "off", AdminToken: admin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(false) })
	d, err := New(Config{ControllerID: c.ID(), SelfAddr: c.APIAddr(), HeartbeatInterval: 100 * time.Millisecond, StatsInterval: 100 * time.Millisecond,
		Token: c.InternalReadToken})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(d.Close)
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	cl, err := ctlclient.Dial([]string{c.APIAddr()}, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cl.Token = admin
	t.Cleanup(func() { cl.Close() })
	return c, cl, srv
}

// heartbeat registers node id and keeps it alive, reporting a shard of nauvis whose
// tick grows, until the test ends.
func heartbeat(t *testing.T, cl *ctlclient.Client, id string) {
	t.Helper()
	heartbeatWithError(t, cl, id, "")
}

// heartbeatWithError is heartbeat with shardErr as the error of nauvis's shard, as a
// node reports a copy that failed ("store corrupt: …").
func heartbeatWithError(t *testing.T, cl *ctlclient.Client, id, shardErr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	if err := cl.Node(ctx, func(ctx context.Context, n pb.NodeServiceClient) error {
		_, err := n.Register(ctx, &pb.RegisterRequest{RequestId: ctlclient.NewRequestID(), JoinToken: testToken,
			Node: &pb.Node{Id: id, Address: "127.0.0.1:1", Capacity: &pb.NodeCapacity{Cores: 2}}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for tick := uint64(60); ctx.Err() == nil; tick += 6 {
			// Report under nauvis's current epoch once it is placed here, as a node would.
			var epoch uint64
			cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
				r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: "nauvis"})
				if err == nil {
					epoch = r.Surface.GetAssignment().GetEpoch()
				}
				return nil
			})
			cl.Node(ctx, func(ctx context.Context, n pb.NodeServiceClient) error {
				_, err := n.Heartbeat(ctx, &pb.HeartbeatRequest{NodeId: id,
					Shards: []*pb.ShardStats{{Surface: "nauvis", Epoch: epoch, Role: pb.ShardRole_SHARD_ROLE_PRIMARY, Tick: tick, UpsMilli: 60000, TickCostUs: 1000, Error: shardErr}}})
				return err
			})
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// sse reads server-sent events from the dashboard's stream.
type sse struct {
	r    *bufio.Reader
	body io.Closer
}

func openStream(t *testing.T, base string) *sse {
	t.Helper()
	resp, err := http.Get(base + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream Content-Type %q", ct)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{r: bufio.NewReader(resp.Body), body: resp.Body}
}

// next returns the next event's name and data.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// until reads the stream until fn accepts an event, for at most d.
func (s *sse) until(t *testing.T, d time.Duration, what string, fn func(name, data string) bool) {
	t.Helper()
	done := make(chan struct{})
	timer := time.AfterFunc(d, func() { s.body.Close() })
	defer timer.Stop()
	defer close(done)
	for {
		name, data := s.next(t)
		if fn(name, data) {
			return
		}
		select {
		case <-done:
			t.Fatalf("no %s within %v", what, d)
		default:
		}
	}
}

// The stream pushes the live stats of a heartbeating node as its tick grows, and
// each event of the FSM as it is committed.
func TestStreamPushesStatsAndEvents(t *testing.T) {
	_, cl, srv := startController(t)
	st := openStream(t, srv.URL)
	heartbeat(t, cl, "n1")

	st.until(t, 10*time.Second, "node n1 up with nauvis's tick", func(name, data string) bool {
		if name != "state" {
			return false
		}
		var s Snapshot
		json.Unmarshal([]byte(data), &s)
		for _, n := range s.Nodes {
			if n.ID == "n1" && n.Status == "up" && n.LoadPct > 0 {
				return len(s.Controllers) == 1 && s.Controllers[0].State == "leader"
			}
		}
		return false
	})

	// A committed change arrives as an event.
	if err := cl.Cluster(context.Background(), func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis", Map: "starter", Replicas: 1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.until(t, 5*time.Second, "the surface.created event", func(name, data string) bool {
		var e Event
		return name == "event" && json.Unmarshal([]byte(data), &e) == nil && e.Kind == "surface.created" && e.Subject == "nauvis"
	})
	// And the surface's tick, from the node's heartbeats, keeps growing in the state.
	var last uint64
	grew := 0
	st.until(t, 10*time.Second, "nauvis's tick to grow", func(name, data string) bool {
		if name != "state" {
			return false
		}
		var s Snapshot
		json.Unmarshal([]byte(data), &s)
		for _, sf := range s.Surfaces {
			if sf.Name == "nauvis" && sf.Node == "n1" && sf.Tick > last {
				if last > 0 {
					grew++
				}
				last = sf.Tick
			}
		}
		return grew >= 3
	})
}

func TestPagesRender(t *testing.T) {
	c, cl, srv := startController(t)
	heartbeat(t, cl, "n1")
	// Wait for the first state so the pages have something to render.
	st := openStream(t, srv.URL)
	st.until(t, 10*time.Second, "n1 in the state", func(name, data string) bool {
		return name == "state" && strings.Contains(data, `"id":"n1"`)
	})
	for path, want := range map[string]string{
		"/":                 c.ID(),
		"/surfaces":         `id="surfaces"`,
		"/bridges":          `id="bridge-graph"`,
		"/events":           `id="events"`,
		"/map":              `id="map"`,
		"/static/app.js":    "EventSource",
		"/static/style.css": "--accent",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, want 200 with %q", path, resp.StatusCode, want)
		}
		if !strings.HasPrefix(path, "/static/") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no same-origin content security policy", path)
		}
	}
	if resp, _ := http.Get(srv.URL + "/no-such-page"); resp.StatusCode != 404 {
		t.Errorf("unknown page: %d, want 404", resp.StatusCode)
	}
}

func post(t *testing.T, url, body string, hdr map[string]string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Actions validate as the CLI does and change the cluster through the same calls.
func TestActions(t *testing.T) {
	_, cl, srv := startController(t)
	heartbeat(t, cl, "n1")
	act := srv.URL + "/api/actions/"

	code, out := post(t, act+"bridge", `{"from":"nauvis","to":"vulcanus:in"}`, nil)
	if code != 400 || !strings.Contains(out["error"], `--from "nauvis": want SURFACE:PORT`) {
		t.Errorf("bridge with a bad end: %d %v, want 400 with the CLI's message", code, out)
	}
	code, out = post(t, act+"bridge", `{"from":"nauvis:out","to":"vulcanus:in"}`, nil)
	if code != 404 && code != 400 || out["error"] == "" {
		t.Errorf("bridge between unknown surfaces: %d %v, want a refusal naming the problem", code, out)
	}
	code, out = post(t, act+"cordon", `{"node":"n9","cordoned":true}`, nil)
	if code != 404 || !strings.Contains(out["error"], "n9") {
		t.Errorf("cordon of an unknown node: %d %v, want 404 naming it", code, out)
	}
	code, out = post(t, act+"cordon", `{"node":"n1","cordoned":true}`, nil)
	if code != 200 || !strings.Contains(out["message"], "cordoned n1") {
		t.Fatalf("cordon n1: %d %v", code, out)
	}
	var cordoned bool
	cl.Cluster(context.Background(), func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: "n1"})
		cordoned = err == nil && r.Node.Cordoned
		return err
	})
	if !cordoned {
		t.Error("the cordon action did not cordon n1")
	}
	// A misspelt field, or a body without cordoned, is refused: read as
	// cordoned=false it would uncordon the node.
	for _, tc := range []struct{ action, body, want string }{
		{"cordon", `{"node":"n1","cordon":true}`, `unknown field "cordon"; the cordon action takes node, cordoned`},
		{"cordon", `{"node":"n1"}`, "missing field cordoned (true or false)"},
		{"cordon", `{"node":"n1","cordoned":null}`, "missing field cordoned (true or false)"},
		{"cordon", `{"node":"n1","Cordoned":false}`, `unknown field "Cordoned"`},
		{"cordon", `{"node":"n1","cordoned":false,"surface":"nauvis"}`, `unknown field "surface"; the cordon action takes node, cordoned`},
		{"move", `{"surface":"nauvis","to":"n1","extra":1}`, `unknown field "extra"; the move action takes surface, to`},
		{"drain", `{"node":"n1","cordoned":true}`, `unknown field "cordoned"; the drain action takes node`},
		{"bridge", `{"from":"a:b","to":"c:d","item":"iron-plate"}`, `unknown field "item"; the bridge action takes from, to, name, items`},
		{"cordon", `{"node":"n1","cordoned":false} {}`, "not a valid JSON object; the cordon action takes node, cordoned"},
	} {
		code, out := post(t, act+tc.action, tc.body, nil)
		if code != 400 || !strings.Contains(out["error"], tc.want) {
			t.Errorf("%s %s: %d %v, want 400 with %q", tc.action, tc.body, code, out, tc.want)
		}
	}
	cl.Cluster(context.Background(), func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: "n1"})
		cordoned = err == nil && r.Node.Cordoned
		return err
	})
	if !cordoned {
		t.Error("a refused cordon action uncordoned n1")
	}
	code, out = post(t, act+"drain", `{"node":"n1"}`, nil)
	if code != 200 {
		t.Errorf("drain of a node holding nothing: %d %v, want 200", code, out)
	}
	code, out = post(t, act+"move", `{"surface":"nowhere"}`, nil)
	if code != 404 || !strings.Contains(out["error"], "nowhere") {
		t.Errorf("move of an unknown surface: %d %v, want 404 naming it", code, out)
	}
	if code, out := post(t, act+"explode", `{}`, nil); code != 400 || !strings.Contains(out["error"], "use move, cordon, drain or bridge") {
		t.Errorf("unknown action: %d %v, want 400 naming the actions", code, out)
	}
	if code, _ := post(t, act+"cordon", `{"node":"n1"}`, map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Errorf("cross-origin action: %d, want 403", code)
	}
	// A body over the limit is refused as too large, not as bad JSON.
	big := `{"from":"nauvis:out","to":"fulgora:in1","items":"` + strings.Repeat("a", 70<<10) + `"}`
	if code, out := post(t, act+"bridge", big, nil); code != 413 || !strings.Contains(out["error"], "over 64 KiB") {
		t.Errorf("a 70 KiB action: %d %v, want 413 naming the 64 KiB limit", code, out)
	}
	if code, _ := post(t, act+"cordon", `{"node":"n1"}`, map[string]string{"Content-Type": "text/plain"}); code != 415 {
		t.Errorf("form-encoded action: %d, want 415", code)
	}
}

// tokenCatcher is a ClusterService that records the metadata of CordonNode calls.
type tokenCatcher struct {
	pb.UnimplementedClusterServiceServer
	mu   sync.Mutex
	auth []string
}

// GetStatus answers the dashboard's gate as a controller with tokens in force:
// the reader's and the operator's tokens may read.
func (f *tokenCatcher) GetStatus(ctx context.Context, _ *pb.GetStatusRequest) (*pb.GetStatusResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	switch strings.Join(md.Get("authorization"), ",") {
	case "Bearer reader", "Bearer op-secret":
		return &pb.GetStatusResponse{}, nil
	case "":
		return nil, status.Error(codes.Unauthenticated, "ClusterService/GetStatus needs an operator token with role read: pass --token or set STARLANE_TOKEN")
	}
	return nil, status.Error(codes.Unauthenticated, "ClusterService/GetStatus: unknown operator token; check --token or STARLANE_TOKEN")
}

func (f *tokenCatcher) CordonNode(ctx context.Context, req *pb.CordonNodeRequest) (*pb.CordonNodeResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	auth := strings.Join(md.Get("authorization"), ",")
	f.auth = append(f.auth, auth)
	f.mu.Unlock()
	if auth == "Bearer slo-unknown" {
		// As the controller's token interceptor answers a token it does not know.
		return nil, status.Error(codes.Unauthenticated, "ClusterService/CordonNode: unknown operator token; check --token or STARLANE_TOKEN")
	}
	if auth == "Bearer reader" {
		// As a controller answers a token with role read.
		return nil, status.Error(codes.PermissionDenied, "token reader has role read; ClusterService/CordonNode needs role operate")
	}
	return &pb.CordonNodeResponse{Index: 7}, nil
}

// The operator token the page keeps reaches the controller with the action.
func TestActionPassesOperatorToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &tokenCatcher{}
	gs := grpc.NewServer()
	pb.RegisterClusterServiceServer(gs, fake)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	d, err := New(Config{ControllerID: "c1", SelfAddr: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)

	// Not logged in: the gate refuses before any action reaches the controller.
	code, out := post(t, srv.URL+"/api/actions/cordon", `{"node":"n1","cordoned":true}`, map[string]string{TokenHeader: "op-secret"})
	if code != 401 || !strings.Contains(out["error"], "log in with an operator token") {
		t.Errorf("an action without logging in: %d %v", code, out)
	}
	session := map[string]string{"Authorization": "Bearer reader"} // what the login cookie carries, as a script sends it
	with := func(field string) map[string]string {
		h := map[string]string{"Authorization": session["Authorization"]}
		if field != "" {
			h[TokenHeader] = field
		}
		return h
	}
	post(t, srv.URL+"/api/actions/cordon", `{"node":"n1","cordoned":true}`, with("op-secret"))
	// With no token in the page's field the action goes with the login's
	// token; a read token is told its role and what to paste.
	code, out = post(t, srv.URL+"/api/actions/cordon", `{"node":"n1","cordoned":true}`, with(""))
	if code != 403 || !strings.Contains(out["error"], "has role read") || !strings.Contains(out["error"], `"operator token" field`) {
		t.Errorf("an action with the login's read token: %d %v", code, out)
	}
	code, out = post(t, srv.URL+"/api/actions/cordon", `{"node":"n1","cordoned":"yes"}`, with("op-secret"))
	if code != 400 || !strings.Contains(out["error"], `field "cordoned" must be a JSON boolean`) || strings.Contains(out["error"], "struct") {
		t.Errorf("a string for a boolean: %d %v", code, out)
	}
	// A token the controller does not know: the page user is told what to do on
	// the page, not the CLI's --token or STARLANE_TOKEN.
	code, out = post(t, srv.URL+"/api/actions/cordon", `{"node":"n1","cordoned":true}`, with("slo-unknown"))
	if code != 401 || !strings.Contains(out["error"], "unknown operator token") || !strings.Contains(out["error"], `into the "operator token" field at the top of the page`) ||
		strings.Contains(out["error"], "--token") || strings.Contains(out["error"], "STARLANE_TOKEN") {
		t.Errorf("an action with an unknown token: %d %v, want 401 saying to paste a valid token into the page's token field", code, out)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.auth) != 3 || fake.auth[0] != "Bearer op-secret" || fake.auth[1] != "Bearer reader" || fake.auth[2] != "Bearer slo-unknown" {
		t.Errorf("controller saw authorization %q, want [\"Bearer op-secret\" \"Bearer reader\" \"Bearer slo-unknown\"]", fake.auth)
	}
}

func TestMapTileErrors(t *testing.T) {
	_, _, srv := startController(t)
	for path, want := range map[string]int{
		"/api/map/nauvis/3/0/0.png":        400, // not a zoom level
		"/api/map/nauvis/8/x/0.png":        400,
		"/api/map/nauvis/8/0/99999999.png": 400, // beyond the map
		// So far beyond that the tile's first game tile would wrap into the map.
		"/api/map/nauvis/1/-9223372036854775808/0.png": 400,
		"/api/map/nauvis/1/-36028797018963968/0.png":   400,
		"/api/map/nauvis/8/0/0.png":                    404, // no such surface
		"/api/map/nauvis/0/info/0":                     404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || len(b) == 0 {
			t.Errorf("GET %s: %d %q, want %d with a reason", path, resp.StatusCode, b, want)
		}
	}
	// A name no surface can have is the asker's mistake, answered with the rule.
	for _, path := range []string{"/api/map/..%2f..%2fetc/1/0/0.png", "/api/map/Nauvis/8/0/0.png", "/api/map/..%2fetc/0/info/0"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "is not a valid name: use 1-") {
			t.Errorf("GET %s: %d %q, want 400 with the name rule", path, resp.StatusCode, b)
		}
	}
}

// With TLS, the dashboard's own calls (as its controller) pass the API's
// authorization, and only an operator's certificate opens it.
func TestTLSDashboardNeedsOperatorCertificate(t *testing.T) {
	certs := tlstest.Write(t, t.TempDir())
	ctlTLS := certs.Config(tlsconf.RoleController)
	c, err := controller.New(controller.Config{DataDir: filepath.Join(t.TempDir(), "c1"), BindAddr: "127.0.0.1:0", RaftBind: "127.0.0.1:0",
		Bootstrap: true, JoinToken: testToken, ElectionTimeout: 300 * time.Millisecond, TLS: ctlTLS, RaftLogLevel: "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(false) })
	d, err := New(Config{ControllerID: c.ID(), SelfAddr: c.APIAddr(), TLS: ctlTLS})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(d.Close)
	srv := httptest.NewUnstartedServer(d.Handler())
	if srv.TLS, err = ctlTLS.Server(); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := func(role tlsconf.Role) *http.Client {
		cfg, err := certs.Config(role).Client()
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	}

	op := client(tlsconf.RoleOperator)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var body struct{ State Snapshot }
		resp, err := op.Get(srv.URL + "/api/state")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
		}
		s := body.State
		if err == nil && resp.StatusCode == 200 && s.Index > 0 && s.Error == "" && len(s.Controllers) == 1 && s.Controllers[0].State == "leader" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard never showed live state over TLS: %v %+v", err, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, role := range []tlsconf.Role{tlsconf.RoleNode, tlsconf.RolePlayer} {
		resp, err := client(role).Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(b), "role operator") {
			t.Errorf("dashboard with a %s certificate: %d %q, want 403 asking for an operator certificate", role, resp.StatusCode, b)
		}
	}
}

// With tokens in force and no TLS, the dashboard shows nothing without a token
// that may read, as the gRPC API does: a page answers with the login page, the
// API with 401; a wrong token is refused in the controller's words; logging in
// keeps the token in an HttpOnly cookie that opens the pages, the API and the
// stream; a bearer header opens the API for scripts.
func TestDashboardAsksForAToken(t *testing.T) {
	admin := controller.NewSecret(authz.TokenPrefix)
	c, _, srv := startControllerWith(t, admin)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The controller elects itself and installs the admin token first.
	eventually(t, 15*time.Second, func() bool {
		code, _ := get("/api/state", map[string]string{"Authorization": "Bearer " + admin})
		return code == 200
	})

	if code, body := get("/", nil); code != 401 || !strings.Contains(body, `action="/login"`) || strings.Contains(body, c.ID()) {
		t.Errorf("GET / without a token: %d, want 401 with the login page and nothing of the cluster:\n%.300s", code, body)
	}
	for _, path := range []string{"/api/state", "/api/stream", "/api/map/nauvis/1/0/0"} {
		if code, body := get(path, nil); code != 401 || !strings.Contains(body, "log in with an operator token") {
			t.Errorf("GET %s without a token: %d %.200s, want 401 asking for a token", path, code, body)
		}
	}
	if code, body := get("/api/state", map[string]string{"Authorization": "Bearer slo-not-a-token"}); code != 401 || !strings.Contains(body, "the token was refused") {
		t.Errorf("a wrong token: %d %.200s, want 401 saying it was refused", code, body)
	}
	if code, _ := get("/static/style.css", nil); code != 200 {
		t.Errorf("the login page's style: %d", code)
	}

	form := url.Values{"token": {"slo-wrong"}, "next": {"/surfaces"}}
	resp, err := noRedirect.PostForm(srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "the token was refused") || len(resp.Cookies()) != 0 {
		t.Errorf("log in with a wrong token: %d %.200s, cookies %v", resp.StatusCode, b, resp.Cookies())
	}
	form.Set("token", admin)
	form.Set("next", "https://elsewhere.example/")
	resp, err = noRedirect.PostForm(srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("log in: %d to %q, cookie %+v; want a redirect to this dashboard's / and an HttpOnly same-site cookie", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	cookie := map[string]string{"Cookie": session.Name + "=" + session.Value}
	if code, body := get("/", cookie); code != 200 || !strings.Contains(body, c.ID()) {
		t.Errorf("GET / logged in: %d %.200s", code, body)
	}
	if code, _ := get("/api/state", cookie); code != 200 {
		t.Errorf("GET /api/state logged in: %d", code)
	}
}

// eventually polls cond until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
