// Package dashboard serves Starlane's web dashboard from a controller: server-rendered
// pages (html/template, embedded with the plain JavaScript and CSS that keep them live,
// no build step, nothing fetched from elsewhere) for the cluster, its surfaces, bridges
// and events, live maps of each surface drawn by package render, and the operator
// actions of the CLI. It talks to the cluster only as a client of the controller's gRPC
// API (ctlclient), with the same calls and validation as the CLI. See DESIGN.md.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/tlsconf"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a dashboard.
type Config struct {
	// ControllerID and SelfAddr name the controller serving the dashboard and its
	// gRPC API address, which the dashboard calls like any client.
	ControllerID string
	SelfAddr     string
	TLS          tlsconf.Config
	// HeartbeatInterval is the nodes' heartbeat interval (a node whose heartbeat is
	// three intervals late shows as stale).
	HeartbeatInterval time.Duration
	// StatsInterval is the least time between two live stats updates the leader
	// pushes (default 500 ms).
	StatsInterval time.Duration
	// MapRefresh is the least time between two downloads of a surface for its map
	// (default 2 s): map tiles are cached per state downloaded.
	MapRefresh time.Duration
	Logger     *slog.Logger
	// Token gives the operator token the dashboard reads the API with
	// (controller.InternalReadToken).
	Token func() string
}

// Server is a running dashboard.
type Server struct {
	cfg      Config
	log      *slog.Logger
	cl       *ctlclient.Client
	self     *grpc.ClientConn
	dialOpts []grpc.DialOption
	hub      *hub
	maps     *mapCache
	pages    map[string]*template.Template
	mux      *http.ServeMux

	connMu sync.Mutex
	conns  map[string]*grpc.ClientConn

	gate *gate

	cancel context.CancelFunc
	done   chan struct{}
}

var pageNames = []string{"cluster", "surfaces", "bridges", "events", "map"}

// New prepares a dashboard; Start begins its live feed.
func New(cfg Config) (*Server, error) {
	if cfg.SelfAddr == "" {
		return nil, errors.New("dashboard: the controller's API address is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = 500 * time.Millisecond
	}
	if cfg.MapRefresh <= 0 {
		cfg.MapRefresh = 2 * time.Second
	}
	cl, err := ctlclient.Dial([]string{cfg.SelfAddr}, cfg.TLS)
	if err != nil {
		return nil, err
	}
	cl.AttemptTimeout = 2 * time.Second
	cl.TokenFunc = cfg.Token
	creds, err := ctlclient.Credentials(cfg.TLS)
	if err != nil {
		cl.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, cl: cl, dialOpts: tokenOpts(ctlclient.DialOptions(creds), cfg.Token), conns: map[string]*grpc.ClientConn{},
		pages: map[string]*template.Template{}}
	if s.self, err = s.conn(cfg.SelfAddr); err != nil {
		cl.Close()
		return nil, err
	}
	// The gate asks with the visitor's token only: not through s.self, whose
	// calls carry the dashboard's own.
	gc, err := grpc.NewClient(cfg.SelfAddr, ctlclient.DialOptions(creds)...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	s.gate = &gate{conn: gc, answers: map[[32]byte]gateAnswer{}}
	for _, p := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("dashboard template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	s.hub = newHub(s)
	s.maps = newMapCache(s)
	s.routes()
	return s, nil
}

// Start runs the live feed until Close.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		s.hub.run(ctx)
	}()
}

// Close stops the live feed and closes the connections.
func (s *Server) Close() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	s.cl.Close()
	s.gate.conn.Close()
	s.connMu.Lock()
	for _, cc := range s.conns {
		cc.Close()
	}
	s.connMu.Unlock()
}

// Handler serves the pages, the event stream, the maps and the actions. With TLS
// the listener has already demanded a certificate from the cluster CA; only an
// operator's opens the dashboard (its reads and actions are the operator API's).
// Without TLS a request needs a token that may read, as the gRPC API's
// authorization does (gate.go): the login page asks for it once.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkPeer(r); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if !s.admit(w, r) {
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

func checkPeer(r *http.Request) error {
	if r.TLS == nil {
		return nil
	}
	role, name, err := tlsconf.PeerRole(*r.TLS)
	if err != nil {
		return fmt.Errorf("the dashboard needs a client certificate with role operator: %v", err)
	}
	if role != tlsconf.RoleOperator {
		return fmt.Errorf("certificate %q has role %s; the dashboard needs a certificate with role operator", name, role)
	}
	return nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", s.page("cluster"))
	m.HandleFunc("GET /surfaces", s.page("surfaces"))
	m.HandleFunc("GET /bridges", s.page("bridges"))
	m.HandleFunc("GET /events", s.page("events"))
	m.HandleFunc("GET /map", s.page("map"))
	m.HandleFunc("GET /api/state", s.apiState)
	m.HandleFunc("GET /api/stream", s.stream)
	m.HandleFunc("GET /api/map/{surface}/{scale}/{tx}/{ty}", s.mapTile)
	m.HandleFunc("POST /api/actions/{action}", s.action)
	m.HandleFunc("GET /login", s.login)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("GET /logout", s.logout)
	s.mux = m
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"ago": func(ms int64) string {
		switch {
		case ms <= 0:
			return "—"
		case ms < 10_000:
			return fmt.Sprintf("%.1f s", float64(ms)/1000)
		}
		return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
	},
	"recent": func(ev []Event) []Event {
		out := make([]Event, len(ev))
		for i, e := range ev {
			out[len(ev)-1-i] = e
		}
		return out
	},
	"f1":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"clock": func(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") },
	"json": func(v any) (template.JS, error) {
		b, err := json.Marshal(v)
		return template.JS(b), err
	},
}

// pageData is what every page template receives.
type pageData struct {
	Page    string
	Snap    *Snapshot
	Events  []Event
	Surface string // the map page's surface
}

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, events := s.hub.current()
		d := pageData{Page: name, Snap: snap, Events: events, Surface: r.URL.Query().Get("surface")}
		if name == "map" && d.Surface == "" && len(snap.Surfaces) > 0 {
			d.Surface = snap.Surfaces[0].Name
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		if err := s.pages[name].Execute(w, d); err != nil {
			s.log.Error("dashboard: render page", "page", name, "err", err)
		}
	}
}

func (s *Server) apiState(w http.ResponseWriter, r *http.Request) {
	snap, events := s.hub.current()
	writeJSON(w, http.StatusOK, map[string]any{"state": snap, "events": events})
}

// stream serves the live feed as server-sent events: the current state and recent
// events first, then each new event and state as they come.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	snap, events, ch := s.hub.subscribe()
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(name string, data []byte) error {
		_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		fl.Flush()
		return err
	}
	b, _ := json.Marshal(snap)
	if send("state", b) != nil {
		return
	}
	b, _ = json.Marshal(events)
	if send("events", b) != nil {
		return
	}
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			if send(m.name, m.data) != nil {
				return
			}
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// errText is a gRPC error's message without the status wrapping.
func errText(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func tokenOpts(opts []grpc.DialOption, token func() string) []grpc.DialOption {
	if token == nil {
		return opts
	}
	return append(opts, grpc.WithPerRPCCredentials(authz.TokenCredentials(token)))
}
