package shard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/starlane/starlane/internal/atomicfile"
)

// DesyncReport says where a client's state left the shard's: the tick whose hashes
// differed, both hashes, and which entities differ at the tick the client sent its
// state for. It is written as JSON under the shard's directory, next to the
// client's state.
type DesyncReport struct {
	Surface    string       `json:"surface"`
	Player     uint32       `json:"player"`
	PlayerName string       `json:"player_name"`
	Tick       uint64       `json:"tick"`
	ServerHash string       `json:"server_hash"`
	ClientHash string       `json:"client_hash"`
	StateTick  uint64       `json:"state_tick"`
	Entities   []EntityDiff `json:"entities"`
	Note       string       `json:"note,omitempty"`
	// Path is where the report was written.
	Path string `json:"-"`
	// ServerHashValue and ClientHashValue are the hashes as numbers.
	ServerHashValue, ClientHashValue uint64 `json:"-"`
}

// EntityDiff is one entity whose digest differs (or that exists on one side only).
type EntityDiff struct {
	ID     uint32 `json:"id"`
	What   string `json:"what"`
	Server string `json:"server"`
	Client string `json:"client"`
}

const maxReportedEntities = 1000

// Report writes the desync report for d from the client's saved state, taken at
// the client's current tick (the client went on simulating after the tick that
// desynced). The shard rebuilds its own state at that tick from a checkpoint and
// the log, off the tick goroutine, and compares the two entity by entity.
func (se *Session) Report(d Desync, clientState []byte) (*DesyncReport, error) {
	return se.sh.report(d, clientState, se.player, se.name, fmt.Sprintf("player-%d", se.player))
}

// ReportStandby writes the desync report of a hot standby (node) whose state hash
// differed from this primary's at d.Tick, from the standby's saved state; the
// client fields of the report describe the standby.
func (s *Shard) ReportStandby(node string, d Desync, state []byte) (*DesyncReport, error) {
	return s.report(d, state, 0, "standby "+node, "standby-"+node)
}

func (sh *Shard) report(d Desync, clientState []byte, player uint32, name, fileTag string) (*DesyncReport, error) {
	rep := &DesyncReport{Surface: sh.cfg.Name, Player: player, PlayerName: name, Tick: d.Tick,
		ServerHash: fmt.Sprintf("%016x", d.Server), ClientHash: fmt.Sprintf("%016x", d.ClientHash), Entities: []EntityDiff{}}
	rep.ServerHashValue, rep.ClientHashValue = d.Server, d.ClientHash
	client, err := sh.cfg.Load(bytes.NewReader(clientState))
	if err != nil {
		rep.Note = "the client's state does not load: " + err.Error()
	} else {
		rep.StateTick = client.Tick()
		if d.ClientHash == 0 && client.Tick() == d.Tick {
			rep.ClientHashValue = client.Hash()
			rep.ClientHash = fmt.Sprintf("%016x", client.Hash())
		}
		server, err := sh.stateAt(rep.StateTick)
		if err != nil {
			rep.Note = fmt.Sprintf("cannot rebuild the shard's state at tick %d: %v", rep.StateTick, err)
		} else {
			rep.Entities, rep.Note = diffEntities(server, client)
		}
	}
	dir := filepath.Join(sh.cfg.Dir, "desync")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, fmt.Sprintf("tick-%d-%s", d.Tick, fileTag))
	for i := 2; ; i++ {
		if _, err := os.Stat(base + ".json"); os.IsNotExist(err) {
			break
		}
		base = filepath.Join(dir, fmt.Sprintf("tick-%d-%s-%d", d.Tick, fileTag, i))
	}
	if err := atomicfile.Write(base+".client.save", clientState, 0o600); err != nil {
		return nil, fmt.Errorf("write desync report: %w", err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	if err := atomicfile.Write(base+".json", append(js, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write desync report: %w", err)
	}
	rep.Path = base + ".json"
	sh.log.Warn("desync report written", "player", name, "tick", d.Tick, "differing_entities", len(rep.Entities), "report", rep.Path)
	return rep, nil
}

// stateAt rebuilds the shard's state after durable tick t.
func (s *Shard) stateAt(t uint64) (Simulation, error) {
	// A report can name a tick that has run (and reached the standbys) but is not
	// durable yet, which takes a few milliseconds: wait for it, woken by the
	// pipeline as it advances.
	notYet := fmt.Errorf("tick %d is not in the log yet", t)
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		ch := s.changed(false)
		if t <= s.durable.Load() {
			break
		}
		if t > s.executed.Load() {
			return nil, notYet
		}
		select {
		case <-ch:
		case <-s.stop:
			return nil, ErrClosed
		case <-deadline.C:
			return nil, notYet
		}
	}
	cp, err := s.store.LatestCheckpoint(t)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, fmt.Errorf("%w: no checkpoint at or before tick %d", ErrTooOld, t)
	}
	sim, err := s.cfg.Load(bytes.NewReader(cp.Data))
	if err != nil {
		return nil, err
	}
	if t > cp.Tick {
		err = s.store.Batches(cp.Tick+1, t, func(b Batch) error {
			sim.Step(b.Inputs)
			return nil
		})
	}
	return sim, err
}

func diffEntities(server, client Simulation) ([]EntityDiff, string) {
	sh, ok1 := server.(EntityHasher)
	ch, ok2 := client.(EntityHasher)
	if !ok1 || !ok2 {
		return []EntityDiff{}, "the simulation cannot digest entities; only the hashes are known"
	}
	a, b := sh.EntityHashes(), ch.EntityHashes()
	var ids []uint32
	for id, h := range a {
		if b[id] != h {
			ids = append(ids, id)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	note := ""
	if len(ids) == 0 {
		note = "every entity matches: the difference is outside entities (players, research or statistics)"
	}
	if len(ids) > maxReportedEntities {
		note = fmt.Sprintf("%d entities differ; the first %d are listed", len(ids), maxReportedEntities)
		ids = ids[:maxReportedEntities]
	}
	out := make([]EntityDiff, 0, len(ids))
	for _, id := range ids {
		d := EntityDiff{ID: id, Server: "missing", Client: "missing"}
		if h, ok := a[id]; ok {
			d.Server = fmt.Sprintf("%016x", h)
			d.What = describe(server, id)
		}
		if h, ok := b[id]; ok {
			d.Client = fmt.Sprintf("%016x", h)
			if d.What == "" {
				d.What = describe(client, id)
			}
		}
		out = append(out, d)
	}
	return out, note
}

func describe(s Simulation, id uint32) string {
	if d, ok := s.(EntityDescriber); ok {
		return d.DescribeEntity(id)
	}
	return ""
}
