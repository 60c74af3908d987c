package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/validate"
)

// Operator actions. Each is one POST of JSON that runs the same ctlclient call, with
// the same validation, as the CLI command named beside it. The operator token the page
// keeps (X-Starlane-Token) is passed on to the controller as gRPC metadata
// "authorization: Bearer TOKEN"; the controller decides what a token may do.

// TokenHeader is the request header that carries the operator's token.
const TokenHeader = "X-Starlane-Token"

// RequestIDHeader carries the page's ID for one action: the page sends an action
// again with the same ID when its answer was lost, and the controller's request
// dedup applies it once.
const RequestIDHeader = "X-Starlane-Request-Id"

// actionRequest is the body of every action; each action takes only some of its
// fields (actionFields), and the decoder refuses the rest.
type actionRequest struct {
	Surface string `json:"surface,omitempty"`
	To      string `json:"to,omitempty"`
	Node    string `json:"node,omitempty"`
	// Cordoned is a pointer so that a body without it is refused rather than
	// read as false, which would uncordon the node.
	Cordoned *bool  `json:"cordoned,omitempty"`
	From     string `json:"from,omitempty"`
	Name     string `json:"name,omitempty"`
	Items    string `json:"items,omitempty"`
}

// actionFields are the JSON fields each action takes, in the order its message
// names them.
var actionFields = map[string][]string{
	"move":   {"surface", "to"},
	"cordon": {"node", "cordoned"},
	"drain":  {"node"},
	"bridge": {"from", "to", "name", "items"},
}

// maxActionBody is the most an action's body may hold; an action is a few short
// strings, so more is a mistake or an attack.
const maxActionBody = 64 << 10

// decodeAction reads the body of action: one JSON object with only the fields the
// action takes. It returns the HTTP status and message of a refusal.
func decodeAction(action string, body io.Reader) (actionRequest, int, string) {
	var req actionRequest
	fields := actionFields[action]
	data, err := io.ReadAll(body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return req, http.StatusRequestEntityTooLarge, fmt.Sprintf("the action's body is over %d KiB; the %s action takes only %s", maxActionBody>>10, action, strings.Join(fields, ", "))
	}
	if err != nil {
		return req, http.StatusBadRequest, "the action's body could not be read: " + err.Error()
	}
	// Decode into a map first: only the action's own fields are allowed, and a
	// field the action does not take (a misspelt one, or another action's) is
	// refused rather than ignored.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return req, http.StatusBadRequest, fmt.Sprintf("the action's body is not a valid JSON object; the %s action takes %s", action, strings.Join(fields, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(fields, k) {
			return req, http.StatusBadRequest, fmt.Sprintf("unknown field %q; the %s action takes %s", k, action, strings.Join(fields, ", "))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		msg := "the action's body is not valid JSON"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			msg = fmt.Sprintf("the action's field %q must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind()), te.Value)
		}
		return req, http.StatusBadRequest, msg
	}
	if action == "cordon" && req.Cordoned == nil {
		return req, http.StatusBadRequest, "missing field cordoned (true or false): true cordons the node, false uncordons it"
	}
	return req, 0, ""
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	// JSON only, from this origin: a cross-site form cannot send it, and a cross-site
	// script must pass a CORS preflight this server never grants.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send the action as application/json"})
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "actions are accepted only from the dashboard's own pages"})
			return
		}
	}
	action := r.PathValue("action")
	if _, ok := actionFields[action]; !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown action %q: use move, cordon, drain or bridge", action)})
		return
	}
	req, code, msg := decodeAction(action, http.MaxBytesReader(w, r.Body, maxActionBody))
	if code != 0 {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	// The page's token field wins; else the token the operator logged in with.
	field := strings.TrimSpace(r.Header.Get(TokenHeader))
	tok := field
	if tok == "" {
		tok = sessionToken(r)
	}
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	rid := r.Header.Get(RequestIDHeader)
	if err := validate.RequestID(rid); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": errText(err)})
		return
	}
	msg, err := s.runAction(ctx, rid, action, req)
	if err != nil {
		code := http.StatusBadRequest
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
			code = http.StatusServiceUnavailable
		case codes.NotFound:
			code = http.StatusNotFound
		case codes.AlreadyExists:
			code = http.StatusConflict
		case codes.Unauthenticated:
			code = http.StatusUnauthorized
		case codes.PermissionDenied:
			code = http.StatusForbidden
		case codes.Internal, codes.Unknown:
			if _, ok := status.FromError(err); ok {
				code = http.StatusInternalServerError
			}
		}
		s.log.Info("dashboard: action refused", "action", action, "err", err)
		msg := errText(err)
		switch {
		case tok == "" && (code == http.StatusForbidden || code == http.StatusUnauthorized):
			// The call went with the dashboard's own access, and the refusal
			// speaks of that internal identity, not of what the operator can do.
			code = http.StatusUnauthorized
			msg = "this action needs an operator token: paste one with role operate or admin into the \"operator token\" field at the top of the page ('starlane token create --role operate' makes one)"
		case code == http.StatusUnauthorized && field == "":
			msg = "the token you logged in with was refused (" + pageReason(msg) + "): log in again (/logout) with a valid one, or " + pasteToken
		case code == http.StatusUnauthorized:
			// The controller's words are for the CLI (--token, STARLANE_TOKEN);
			// on the page the token is the one in its token field.
			msg = "the token in the page's token field was refused (" + pageReason(msg) + "): " + pasteToken
		case code == http.StatusForbidden && tok != "":
			msg += "; " + pasteToken
		}
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	s.log.Info("dashboard: action", "action", action, "result", msg)
	s.hub.poke()
	writeJSON(w, http.StatusOK, map[string]string{"message": msg})
}

// pasteToken is what a page user does about a missing, refused or too weak token.
const pasteToken = "paste a valid operator token with role operate or admin into the \"operator token\" field at the top of the page ('starlane token create --role operate' makes one)"

// pageReason is the controller's reason for refusing a token without its advice to
// the CLI user (--token, STARLANE_TOKEN), which means nothing on the page.
func pageReason(msg string) string {
	for _, cli := range []string{"; check --token or STARLANE_TOKEN", ": pass --token or set STARLANE_TOKEN", "; create a new one with `starlane token create`"} {
		if i := strings.Index(msg, cli); i >= 0 {
			msg = msg[:i]
		}
	}
	return msg
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "number"
}

func (s *Server) runAction(ctx context.Context, rid, action string, req actionRequest) (string, error) {
	cl := s.cl
	switch action {
	case "move": // starlane surface move NAME [--to NODE]
		r, err := cl.StartMove(ctx, rid, req.Surface, req.To)
		if err != nil {
			return "", err
		}
		if r.Already {
			return fmt.Sprintf("surface %s already runs on %s", req.Surface, r.Target), nil
		}
		return fmt.Sprintf("moving %s from %s to %s; the events show its progress", req.Surface, r.From, r.Target), nil
	case "cordon": // starlane node cordon|uncordon ID
		if req.Node == "" {
			return "", fmt.Errorf("name the node to cordon")
		}
		if _, err := cl.Cordon(ctx, rid, req.Node, *req.Cordoned); err != nil {
			return "", err
		}
		if *req.Cordoned {
			return "cordoned " + req.Node + ": no new surfaces go there", nil
		}
		return "uncordoned " + req.Node, nil
	case "drain": // starlane node drain ID (the page follows the moves in the events)
		if req.Node == "" {
			return "", fmt.Errorf("name the node to drain")
		}
		holds, err := cl.CheckDrain(ctx, req.Node)
		if err != nil {
			return "", err
		}
		if _, err := cl.Cordon(ctx, rid, req.Node, true); err != nil {
			return "", err
		}
		if !holds {
			return "cordoned " + req.Node + "; it holds no surface", nil
		}
		return "cordoned " + req.Node + "; its surfaces are moving away (see the events)", nil
	case "bridge": // starlane bridge create --from S:P --to S:P [--name N] [--items A,B]
		b, err := ctlclient.NewBridge(req.From, req.To, req.Name, req.Items)
		if err != nil {
			return "", err
		}
		r, err := cl.CreateBridge(ctx, rid, b)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("created bridge %s: %s:%s -> %s:%s (index %d)", b.Id, b.FromSurface, b.FromPort, b.ToSurface, b.ToPort, r.Index), nil
	}
	return "", fmt.Errorf("unknown action %q: use move, cordon, drain or bridge", action)
}
