package shard

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// A standby is a Shard that does not sequence: its tick loop is not running, and its
// store and (hot) simulation advance only by what the primary replicates to it —
// checkpoints and executed ticks, appended in order from one goroutine. Promote
// turns it into the primary at the last tick it holds. See DESIGN.md.

// Replicated is one tick as the primary replicates it.
type Replicated struct {
	Tick     uint64
	PrevHash uint64
	// Hash is the primary's state hash after the tick, 0 if it no longer knew it.
	Hash   uint64
	Inputs []Input
}

// Mismatch is a hot standby whose state hash differs from the primary's.
type Mismatch struct {
	Tick             uint64
	Primary, Standby uint64
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("standby state hash %016x differs from the primary's %016x after tick %d", m.Standby, m.Primary, m.Tick)
}

// ErrDiverged means replicated ticks do not follow the standby's copy.
var ErrDiverged = errors.New("the replicated ticks do not follow this copy")

// OpenStandby opens the store of a surface this node keeps a standby copy of. A hot
// standby loads the copy (checkpoint plus log) into a simulation at once and keeps
// simulating; a warm one only stores, and loads when promoted. An empty store is a
// copy without state: the primary sends a checkpoint first.
func OpenStandby(cfg Config, hot bool) (*Shard, error) {
	s, err := newShard(cfg)
	if err != nil {
		return nil, err
	}
	s.standby.Store(true)
	s.hot = hot
	if err := s.loadStandby(); err != nil {
		s.store.Close()
		s.met.delete()
		return nil, err
	}
	return s, nil
}

func (s *Shard) loadStandby() error {
	cp, err := s.store.LatestCheckpoint(^uint64(0))
	if err != nil || cp == nil {
		return err
	}
	if s.hot {
		return s.restore(false)
	}
	// Warm: the copy ends at the last logged tick L; the hash after L is not known
	// without simulating, but the log records the hash before L. Report the copy
	// as ending at L-1 with that hash: the primary resends L (overwriting it) if
	// it still has the same history.
	tick, hash := cp.Tick, cp.Hash
	_, last, err := s.store.LogRange()
	if err != nil {
		return err
	}
	if last > cp.Tick {
		err = s.store.Batches(last, last, func(b Batch) error {
			tick, hash = last-1, b.PrevHash
			return nil
		})
		if err != nil {
			return err
		}
	}
	s.hasState, s.posHash = true, hash
	s.ckptTick.Store(cp.Tick)
	s.executed.Store(tick)
	s.durable.Store(tick)
	s.confirmed.Store(tick)
	s.setStats(func(st *Stats) { st.Tick, st.Confirmed, st.Hash = tick, tick, hash })
	s.met.tick.Set(float64(tick))
	return nil
}

// IsStandby reports whether the shard is a standby.
func (s *Shard) IsStandby() bool { return s.standby.Load() }

// Hot reports whether a standby simulates.
func (s *Shard) Hot() bool { return s.hot }

// Position returns the last tick a standby holds durably and the state hash after
// it; ok is false when the copy is empty and needs a checkpoint.
func (s *Shard) Position() (tick, hash uint64, ok bool) {
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	return s.durable.Load(), s.posHash, s.hasState && !s.needCkpt
}

// StandbyDesyncs counts the hash mismatches this hot standby found.
func (s *Shard) StandbyDesyncs() uint64 { return s.sbDesyncs.Load() }

// Install replaces a standby's copy with a checkpoint of the primary: the log and
// older checkpoints are discarded.
func (s *Shard) Install(cp *Checkpoint) error {
	if !s.standby.Load() {
		return ErrStandby
	}
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	var sim Simulation
	if s.hot {
		var err error
		if sim, err = s.cfg.Load(bytes.NewReader(cp.Data)); err != nil {
			return fmt.Errorf("load the primary's checkpoint at tick %d: %w", cp.Tick, err)
		}
		if sim.Tick() != cp.Tick || sim.Hash() != cp.Hash {
			return fmt.Errorf("the primary's checkpoint at tick %d hash %016x loads as tick %d hash %016x: this node simulates differently",
				cp.Tick, cp.Hash, sim.Tick(), sim.Hash())
		}
	}
	if err := s.store.install(cp); err != nil {
		return fmt.Errorf("install checkpoint at tick %d: %w", cp.Tick, err)
	}
	s.sim, s.needCkpt = sim, false
	s.ringMu.Lock()
	clear(s.ring)
	s.ringMu.Unlock()
	s.putRecord(Record{Tick: cp.Tick, Hash: cp.Hash})
	s.hasState, s.posHash = true, cp.Hash
	s.ckptTick.Store(cp.Tick)
	s.executed.Store(cp.Tick)
	s.durable.Store(cp.Tick)
	s.confirmed.Store(cp.Tick)
	s.setStats(func(st *Stats) { st.Tick, st.Confirmed, st.Hash = cp.Tick, cp.Tick, cp.Hash })
	s.met.tick.Set(float64(cp.Tick))
	s.met.checkpoint.Set(float64(cp.Tick))
	return nil
}

// Append stores replicated ticks, which must continue the copy, in one durable
// write, and returns the last tick now held. A hot standby simulates them and
// compares its hash with the primary's every HashEvery ticks: on a difference it
// returns a *Mismatch (the ticks up to that one are stored; the simulation is then
// unusable until Install).
func (s *Shard) Append(recs []Replicated) (uint64, error) {
	if !s.standby.Load() {
		return 0, ErrStandby
	}
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	if !s.hasState || s.needCkpt {
		return 0, fmt.Errorf("%w: the copy is empty or being replaced; a checkpoint must come first", ErrDiverged)
	}
	if s.hot && s.sim == nil {
		return 0, fmt.Errorf("%w: the simulation diverged; a checkpoint must come first", ErrDiverged)
	}
	pos, hash := s.durable.Load(), s.posHash
	batches := make([]*Batch, 0, len(recs))
	var mismatch *Mismatch
	for _, r := range recs {
		if r.Tick != pos+1 {
			return pos, fmt.Errorf("%w: got tick %d after %d", ErrDiverged, r.Tick, pos)
		}
		if hash != 0 && r.PrevHash != hash {
			return pos, fmt.Errorf("%w: tick %d starts from hash %016x, the copy is at %016x", ErrDiverged, r.Tick, r.PrevHash, hash)
		}
		batches = append(batches, &Batch{Tick: r.Tick, PrevHash: r.PrevHash, Inputs: r.Inputs})
		// hash follows the primary's own hashes: it checks that the stream continues
		// the copy. A hot standby's simulation is compared every HashEvery ticks.
		pos, hash = r.Tick, r.Hash
		own := r.Hash
		if s.hot {
			s.sim.Step(r.Inputs)
			own = s.sim.Hash()
			if hash == 0 {
				hash = own
			}
			if r.Hash != 0 && r.Tick%s.cfg.HashEvery == 0 && r.Hash != own {
				mismatch = &Mismatch{Tick: r.Tick, Primary: r.Hash, Standby: own}
			}
		}
		s.putRecord(Record{Tick: r.Tick, Inputs: r.Inputs, PrevHash: r.PrevHash, Hash: own})
		if mismatch != nil {
			break
		}
	}
	if len(batches) == 0 {
		return pos, nil
	}
	start := s.cfg.Now()
	if err := s.store.write(batches, nil, keepCheckpoints); err != nil {
		return s.durable.Load(), fmt.Errorf("write the replicated log: %w", err)
	}
	s.met.commitSeconds.Observe(s.cfg.Now().Sub(start).Seconds())
	s.posHash = hash
	s.executed.Store(pos)
	s.durable.Store(pos)
	s.confirmed.Store(pos)
	s.setStats(func(st *Stats) { st.Tick, st.Confirmed, st.Hash = pos, pos, hash })
	s.met.tick.Set(float64(pos))
	s.met.confirmed.Set(float64(pos))
	if mismatch != nil {
		s.sbDesyncs.Add(1)
		s.met.desyncs.Inc()
		s.log.Warn("hot standby desync", "tick", mismatch.Tick, "primary_hash", fmt.Sprintf("%016x", mismatch.Primary),
			"standby_hash", fmt.Sprintf("%016x", mismatch.Standby))
		return pos, mismatch
	}
	return pos, nil
}

// SaveState saves a hot standby's simulation (for a desync report).
func (s *Shard) SaveState() ([]byte, error) {
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	if s.sim == nil {
		return nil, errors.New("no simulation loaded")
	}
	var buf bytes.Buffer
	err := s.sim.Save(&buf)
	return buf.Bytes(), err
}

// Resync drops a hot standby's simulation after a mismatch, so that the copy asks
// its primary for a checkpoint. The stored copy (checkpoint and log, the primary's
// bytes) stays until Install replaces it: a promotion meanwhile loads it as a warm
// standby would.
func (s *Shard) Resync() {
	s.sbMu.Lock()
	s.sim, s.needCkpt = nil, true
	s.sbMu.Unlock()
}

// StoreCheckpoint keeps a checkpoint the primary took at a tick the standby holds,
// truncating the log behind the older kept checkpoint as the primary does.
func (s *Shard) StoreCheckpoint(cp *Checkpoint) error {
	if !s.standby.Load() {
		return ErrStandby
	}
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	if !s.hasState || s.needCkpt || cp.Tick > s.durable.Load() {
		return nil // it comes again with the next checkpoint
	}
	if err := s.store.write(nil, []*Checkpoint{cp}, keepCheckpoints); err != nil {
		return fmt.Errorf("store checkpoint at tick %d: %w", cp.Tick, err)
	}
	s.ckptTick.Store(cp.Tick)
	s.met.checkpoint.Set(float64(cp.Tick))
	return nil
}

// Promote turns a standby into the primary at the last tick it holds, under epoch:
// a warm standby loads its copy now (checkpoint plus log replay). Start it after.
func (s *Shard) Promote(epoch uint64) error {
	if !s.standby.Load() {
		return errors.New("the shard is already a primary")
	}
	s.sbMu.Lock()
	defer s.sbMu.Unlock()
	if !s.hasState {
		return fmt.Errorf("%w (surface %s)", ErrNoState, s.cfg.Name)
	}
	start := s.cfg.Now()
	if s.sim == nil {
		// A warm standby, or a hot one whose simulation was dropped for a resync
		// before the new checkpoint came: the stored copy is the primary's log.
		if err := s.restore(false); err != nil {
			return err
		}
		s.needCkpt = false
	}
	t := s.durable.Load()
	s.executed.Store(t)
	s.confirmed.Store(t)
	s.termEpoch = epoch
	s.epoch.Store(epoch)
	s.termStart = t
	s.termStartMS.Store(0)
	s.setStats(func(st *Stats) { st.Tick, st.Confirmed, st.Epoch = t, t, epoch })
	s.countEntities()
	// A promoted term begins at the promoting assignment's epoch.
	if err := s.store.SetTerm(epoch); err != nil {
		return err
	}
	s.standby.Store(false)
	s.log.Info("standby promoted", "tick", t, "epoch", epoch, "hot", s.hot, "took", s.cfg.Now().Sub(start).Round(time.Millisecond))
	return nil
}

// Freeze stops sequencing after the tick in progress and returns the last executed
// tick: no tick after it runs until Thaw. A live migration's handoff uses it.
func (s *Shard) Freeze() (uint64, error) {
	s.held.Store(true)
	s.kick()
	if err := s.Inspect(func(Simulation) {}); err != nil {
		return 0, err
	}
	// Actions players queued for ticks this node will not run are answered now
	// (new ones are refused while frozen: Session.Act).
	s.refusePlayers(ErrMoving.Error())
	s.notifyAll(false) // readers of executed ticks holding some back send them now
	return s.executed.Load(), nil
}

// Thaw resumes sequencing after Freeze.
func (s *Shard) Thaw() {
	s.held.Store(false)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Frozen reports whether the shard is frozen.
func (s *Shard) Frozen() bool { return s.held.Load() }

// CheckpointTick returns the tick of the newest durable checkpoint.
func (s *Shard) CheckpointTick() uint64 { return s.ckptTick.Load() }

// TermStart returns the tick this primary's term continued after and when its
// first tick executed (zero time until then).
func (s *Shard) TermStart() (uint64, time.Time) {
	ms := s.termStartMS.Load()
	if ms == 0 {
		return s.termStart, time.Time{}
	}
	return s.termStart, time.UnixMilli(ms)
}

// Config returns the shard's configuration.
func (s *Shard) Config() Config { return s.cfg }

// Demote turns a frozen primary into a standby of the same copy, in place: the tick
// loop and log writer stop (every executed tick is durable), player sessions end,
// and a hot standby keeps the simulation, so it can follow the new primary at once
// (a live migration's old primary).
func (s *Shard) Demote(hot bool) error {
	if s.standby.Load() {
		return nil
	}
	if !s.held.Load() {
		return errors.New("freeze the shard before demoting it")
	}
	// An action that passed Act's check as the shard froze is answered too.
	s.refusePlayers(ErrMoving.Error())
	s.halt()
	if err := s.err(); err != nil {
		return err
	}
	s.sbMu.Lock()
	t := s.executed.Load()
	r, _ := s.record(t)
	s.hot, s.hasState, s.posHash = hot, true, r.Hash
	if !hot {
		s.sim = nil
	}
	s.durable.Store(t)
	s.confirmed.Store(t)
	s.standby.Store(true)
	s.held.Store(false)
	s.fenced.Store(false)
	s.sbMu.Unlock()
	s.relMu.Lock()
	s.replicas, s.acks, s.captured, s.outlets = map[string]uint64{}, map[string]uint64{}, nil, nil
	s.nOutlets.Store(0)
	s.relMu.Unlock()
	s.seq.take(^uint64(0))
	s.sessMu.Lock()
	for _, se := range s.sessions {
		se.closeLocked()
	}
	s.met.players.Set(0)
	s.sessMu.Unlock()
	s.notifyAll(true)
	s.log.Info("primary demoted to standby", "tick", t, "hot", hot)
	return nil
}
