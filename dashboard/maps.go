package dashboard

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"image"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/validate"
	"github.com/starlane/starlane/render"
	"github.com/starlane/starlane/sim"
)

// Maps are served as 256×256-pixel tiles, so a page pans and zooms by loading only
// the tiles it shows. A tile at scale s pixels per tile covers 256/s game tiles (a
// whole number of 32-tile chunks up to 8 px/tile). Every tile is drawn from one
// downloaded state of the surface (a save at its confirmed tick, as `surface save`
// takes it) and cached under that state's tick; a surface is downloaded again at most
// every MapRefresh, when a page asks for a newer tick range.

const tilePx = 256

// mapScales are the zoom levels a page may ask for.
var mapScales = []int{1, 2, 4, 8, 16}

// maxTiles bounds the tile cache (a tile's PNG is a few kilobytes).
const maxTiles = 2048

type mapCache struct {
	s      *Server
	mu     sync.Mutex
	states map[string]*mapState
	lru    *list.List // of *tileEntry, most recent first
	index  map[string]*list.Element
}

type tileEntry struct {
	key string
	png []byte
}

// mapState is one downloaded state of a surface.
type mapState struct {
	mu      sync.Mutex // held while downloading or drawing
	surf    *sim.Surface
	tick    uint64
	node    string
	fetched time.Time
	cost    time.Duration // how long the last download and load took
	bounds  render.Area   // the tiles holding entities
}

func newMapCache(s *Server) *mapCache {
	return &mapCache{s: s, states: map[string]*mapState{}, lru: list.New(), index: map[string]*list.Element{}}
}

// state returns the surface's downloaded state, downloading it again when the page
// asks for a tick beyond it and the last download is older than MapRefresh.
func (m *mapCache) state(ctx context.Context, surface string, wantTick uint64) (*mapState, error) {
	m.mu.Lock()
	st := m.states[surface]
	if st == nil {
		st = &mapState{}
		m.states[surface] = st
	}
	m.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	// A big surface costs its node a save and this controller a load per download:
	// never spend more than a tenth of the time on it.
	if st.surf != nil && (wantTick <= st.tick || time.Since(st.fetched) < max(m.s.cfg.MapRefresh, 10*st.cost)) {
		return st, nil
	}
	start := time.Now()
	ss, err := m.s.cl.FetchState(ctx, surface)
	if err != nil {
		if st.surf != nil {
			m.s.log.Debug("dashboard: map refresh failed; serving the last state", "surface", surface, "err", err)
			return st, nil
		}
		return nil, err
	}
	s, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(ss.Data))
	if err != nil {
		return nil, fmt.Errorf("load surface %s at tick %d: %w", surface, ss.Tick, err)
	}
	st.surf, st.tick, st.node, st.fetched, st.cost = s, ss.Tick, ss.Node, time.Now(), time.Since(start)
	b := render.Area{X0: 1 << 30, Y0: 1 << 30, X1: -1 << 30, Y1: -1 << 30}
	s.Entities(func(e sim.EntityInfo) bool {
		b.X0, b.Y0 = min(b.X0, e.X), min(b.Y0, e.Y)
		b.X1, b.Y1 = max(b.X1, e.X+e.W-1), max(b.Y1, e.Y+e.H-1)
		return true
	})
	if b.X0 > b.X1 {
		b = render.Area{X0: -16, Y0: -16, X1: 15, Y1: 15}
	}
	st.bounds = b
	return st, nil
}

func (m *mapCache) get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.index[key]; e != nil {
		m.lru.MoveToFront(e)
		return e.Value.(*tileEntry).png, true
	}
	return nil, false
}

func (m *mapCache) put(key string, png []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.index[key]; e != nil {
		m.lru.MoveToFront(e)
		return
	}
	m.index[key] = m.lru.PushFront(&tileEntry{key, png})
	for m.lru.Len() > maxTiles {
		e := m.lru.Back()
		m.lru.Remove(e)
		delete(m.index, e.Value.(*tileEntry).key)
	}
}

// mapTile serves /api/map/{surface}/{scale}/{tx}/{ty}.png?tick=T&power=0|1&items=0|1,
// or /api/map/{surface}/0/info/0 for the map's tick and extent.
func (s *Server) mapTile(w http.ResponseWriter, r *http.Request) {
	surface := r.PathValue("surface")
	// A name the cluster could never hold is the asker's mistake (400), not a
	// failure of the node or controller behind the map (502).
	if err := validate.Name("surface", surface); err != nil {
		writeMapError(w, r, http.StatusBadRequest, "map of a surface: "+err.Error())
		return
	}
	q := r.URL.Query()
	want, _ := strconv.ParseUint(q.Get("tick"), 10, 64)
	if r.PathValue("tx") == "info" {
		st, err := s.maps.state(r.Context(), surface, want)
		if err != nil {
			writeJSON(w, mapErrCode(err), map[string]string{"error": errText(err)})
			return
		}
		st.mu.Lock()
		info := map[string]any{"surface": surface, "tick": st.tick, "node": st.node, "planet": st.surf.Planet(),
			"bounds": []int32{st.bounds.X0, st.bounds.Y0, st.bounds.X1, st.bounds.Y1}, "tile_px": tilePx, "scales": mapScales}
		st.mu.Unlock()
		writeJSON(w, http.StatusOK, info)
		return
	}
	scale, err := strconv.Atoi(r.PathValue("scale"))
	if err != nil || !slices.Contains(mapScales, scale) {
		http.Error(w, fmt.Sprintf("scale %q: use one of %v pixels per tile", r.PathValue("scale"), mapScales), http.StatusBadRequest)
		return
	}
	tx, err1 := strconv.Atoi(r.PathValue("tx"))
	ty, err2 := strconv.Atoi(strings.TrimSuffix(r.PathValue("ty"), ".png"))
	span := tilePx / scale
	limit := sim.MapRadius / span // compared before multiplying: a huge index must not wrap into the map
	if err1 != nil || err2 != nil || tx < -limit || tx > limit || ty < -limit || ty > limit {
		http.Error(w, "map tile coordinates must be whole numbers within the map", http.StatusBadRequest)
		return
	}
	opt := render.Options{Scale: scale, Power: q.Get("power") != "0", Items: q.Get("items") != "0"}
	st, err := s.maps.state(r.Context(), surface, want)
	if err != nil {
		http.Error(w, "map of "+surface+": "+errText(err), mapErrCode(err))
		return
	}
	// Drawing holds the state's lock: a surface is not safe for concurrent use, and
	// a refresh must not swap it out mid-draw.
	st.mu.Lock()
	tick := st.tick
	key := fmt.Sprintf("%s/%d/%d/%d/%d/%t/%t", surface, tick, scale, tx, ty, opt.Power, opt.Items)
	png, ok := s.maps.get(key)
	if !ok {
		a := render.Area{X0: int32(tx * span), Y0: int32(ty * span), X1: int32(tx*span + span - 1), Y1: int32(ty*span + span - 1)}
		var img *image.RGBA
		if img, err = render.Draw(st.surf, a, opt); err == nil {
			var buf bytes.Buffer
			if err = render.EncodePNG(&buf, img); err == nil {
				png = buf.Bytes()
				s.maps.put(key, png)
			}
		}
	}
	st.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Starlane-Tick", strconv.FormatUint(tick, 10))
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.Write(png)
}

// mapErrCode is the HTTP status for a failed read of a surface's state: 404 for a
// surface the cluster does not have, 400 for a request the controller refused as
// invalid, 502 for a node or controller that failed.
func mapErrCode(err error) int {
	switch {
	case status.Code(err) == codes.NotFound || strings.Contains(err.Error(), "not found"):
		return http.StatusNotFound
	case status.Code(err) == codes.InvalidArgument:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// writeMapError answers a map request with msg: as JSON for the info request the
// page reads, as text for a tile.
func writeMapError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.PathValue("tx") == "info" {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, code)
}
