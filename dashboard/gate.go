package dashboard

import (
	"context"
	"crypto/sha256"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The gate: without TLS, what the dashboard shows is what the gRPC API shows a
// read token, so it asks for one. The operator logs in once with a token (role
// read or more), kept in an HttpOnly, same-site cookie; scripts may send it as
// "Authorization: Bearer TOKEN" instead. The dashboard asks
// its own controller whether the token may read (GetStatus, role read), so the
// controller's tokens, roles, expiry and revocation decide, and a cluster with
// no tokens at all (tokens not enforced) lets everyone in, as its API does.
// With TLS the listener has already demanded an operator certificate.

// SessionCookie holds the operator's token for the dashboard's pages.
const SessionCookie = "starlane_token"

// gate remembers the answers of the controller for a short while, so a page and
// its stream and tiles do not ask once per request.
type gate struct {
	conn *grpc.ClientConn // to this controller, with no token of its own

	mu      sync.Mutex
	answers map[[32]byte]gateAnswer
}

type gateAnswer struct {
	err   error // nil: may read
	until time.Time
}

const (
	gateAllowFor  = 30 * time.Second
	gateRefuseFor = 2 * time.Second
)

// sessionToken is the token a request reads with: a bearer header (scripts),
// else the session cookie the login page set. The page's token field
// (X-Starlane-Token) is the actions' alone.
func sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// mayRead asks the controller (or remembers) whether tok may read the cluster;
// the error says why not, in the controller's words.
func (g *gate) mayRead(ctx context.Context, tok string) error {
	key := sha256.Sum256([]byte(tok))
	now := time.Now()
	g.mu.Lock()
	if a, ok := g.answers[key]; ok && now.Before(a.until) {
		g.mu.Unlock()
		return a.err
	}
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	_, err := pb.NewClusterServiceClient(g.conn).GetStatus(ctx, &pb.GetStatusRequest{})
	switch status.Code(err) {
	case codes.OK, codes.Unauthenticated, codes.PermissionDenied:
	default:
		return err // not an answer about the token: ask again next time
	}
	g.mu.Lock()
	if len(g.answers) > 1000 {
		clear(g.answers)
	}
	until := now.Add(gateAllowFor)
	if err != nil {
		until = now.Add(gateRefuseFor)
	}
	g.answers[key] = gateAnswer{err: err, until: until}
	g.mu.Unlock()
	return err
}

// public paths need no token: the login page and what it is drawn with.
func public(path string) bool {
	return path == "/login" || path == "/logout" || strings.HasPrefix(path, "/static/")
}

// admit lets a request without TLS through if its token may read; otherwise it
// answers: the login page for a page, 401 JSON for the API.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if r.TLS != nil || public(r.URL.Path) {
		return true
	}
	err := s.gate.mayRead(r.Context(), sessionToken(r))
	if err == nil {
		return true
	}
	code := http.StatusUnauthorized
	why := "this dashboard shows what a token with role read may see: log in with an operator token ('starlane token create --role read' makes one; `starlane dev` prints an admin token)"
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		if sessionToken(r) != "" {
			why = "the token was refused (" + pageReason(errText(err)) + "): log in with a valid operator token"
		}
	default:
		code = http.StatusServiceUnavailable
		why = "the dashboard cannot check the token now: its controller did not answer (" + errText(err) + ")"
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": why})
		return false
	}
	s.loginPage(w, code, why, r.URL.RequestURI())
	return false
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Starlane — log in</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main class="login">
<h1>Starlane</h1>
<p id="why">{{.Why}}</p>
<form method="post" action="/login">
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit" id="login">Log in</button>
</form>
</main></body></html>
`))

func (s *Server) loginPage(w http.ResponseWriter, code int, why, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'")
	w.WriteHeader(code)
	if err := loginTmpl.Execute(w, map[string]string{"Why": why, "Next": next}); err != nil {
		s.log.Error("dashboard: render login page", "err", err)
	}
}

// login checks the token posted by the login form and keeps it in the session
// cookie, then sends the browser on to the page it asked for.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		s.loginPage(w, http.StatusOK, "Log in with an operator token (role read or more).", "/")
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "log in from the dashboard's own page", http.StatusForbidden)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	next := r.PostFormValue("next")
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/" // only a path on this dashboard
	}
	if tok == "" {
		s.loginPage(w, http.StatusBadRequest, "Paste an operator token into the field.", next)
		return
	}
	if err := s.gate.mayRead(r.Context(), tok); err != nil {
		why := "the token was refused (" + pageReason(errText(err)) + "): paste a valid operator token with role read or more"
		code := http.StatusUnauthorized
		if c := status.Code(err); c != codes.Unauthenticated && c != codes.PermissionDenied {
			code, why = http.StatusServiceUnavailable, "the dashboard cannot check the token now: its controller did not answer ("+errText(err)+")"
		}
		s.loginPage(w, code, why, next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout forgets the session cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
