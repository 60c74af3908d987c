package shard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures one shard.
type Config struct {
	// Name is the surface name (metrics label, reports).
	Name string
	// Dir holds the shard's store (shard.db) and desync reports.
	Dir string
	// New creates the initial state when the store has none; Load reads a checkpoint.
	New  func() (Simulation, error)
	Load func(r io.Reader) (Simulation, error)
	// Epoch is the assignment epoch this shard starts sequencing under.
	Epoch uint64

	// UPS is the target tick rate (60).
	UPS int
	// CheckpointEvery is the checkpoint period in ticks (1800); the log before the
	// older of the two newest checkpoints is truncated.
	CheckpointEvery uint64
	// MaxLag is how far behind schedule the loop may fall before it gives up on the
	// lost ticks instead of catching them up (1s).
	MaxLag time.Duration
	// IdleBurst lets a surface nobody watches (no player, no bridge) and with no
	// input waiting run its ticks in bursts: it sleeps until IdleBurst's worth of
	// ticks is due and runs them back to back, so that an idle surface wakes a few
	// times a second instead of UPS times. Anything that would see the difference
	// (an input, a player joining, a bridge, a checkpoint asked for, a freeze) wakes
	// it at once and it catches up to the schedule. 0: every tick on its own. It must
	// stay well below MaxLag.
	IdleBurst time.Duration
	// History is how many recent ticks are kept in memory for players and hash checks
	// (7200: two minutes).
	History int
	// MaxInputsPerTick bounds one batch; more inputs wait for later ticks (1024).
	MaxInputsPerTick int
	// MaxPending bounds inputs waiting to be sequenced; Submit fails beyond it (16384).
	MaxPending int

	// JoinInput and LeaveInput encode the simulation's own join and leave actions
	// for a player session; nil sends nothing.
	JoinInput  func(player uint32, name string) []byte
	LeaveInput func(player uint32) []byte

	// Term is the epoch the primary's term began at (the assignment's
	// primary_since); it is recorded in the store. With Fresh set, a store that
	// holds another term's state is discarded and the surface starts from New:
	// the controller said no copy of it exists anywhere. Without Fresh and with a
	// Term, a store without state is an error (ErrNoState) instead of a new
	// surface: the state must come from this node's copy.
	Term  uint64
	Fresh bool
	// Restored says a fresh term starts from a save the controller chose on
	// purpose (a rollback, or a restore from an autosave): a store of the
	// surface moved aside as corrupt here does not hold it back.
	Restored bool
	// HashEvery is how often (ticks) a hot standby compares its state hash with
	// the primary's (60).
	HashEvery uint64

	// OnFail, if set, is called once when the shard fails (Stats().Err is set from
	// then on), outside the shard's locks: the node reacts at once instead of
	// polling every copy for failures.
	OnFail func()

	// NodeLog is the node's write-ahead log the store appends its input log to.
	// Without one, the shard opens a log of its own in Dir/wal.
	NodeLog *NodeLog

	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.Name == "" || c.Dir == "" {
		return errors.New("shard needs a name and a directory")
	}
	if c.New == nil || c.Load == nil {
		return errors.New("shard needs New and Load")
	}
	if c.UPS <= 0 {
		c.UPS = 60
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1800
	}
	if c.MaxLag <= 0 {
		c.MaxLag = time.Second
	}
	if c.History <= 0 {
		c.History = 7200
	}
	if c.MaxInputsPerTick <= 0 {
		c.MaxInputsPerTick = 1024
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 16384
	}
	if c.HashEvery == 0 {
		c.HashEvery = 60
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// keepCheckpoints is how many checkpoints the store keeps; the log starts after the
// oldest. Two let a join or desync replay that started from the older one finish.
const keepCheckpoints = 2

// Errors a caller can check with errors.Is.
var (
	ErrClosed  = errors.New("shard stopped")
	ErrBusy    = errors.New("too many inputs waiting to be sequenced; retry")
	ErrFenced  = errors.New("shard is fenced: its node could not renew its lease")
	ErrTooOld  = errors.New("the requested ticks are no longer kept")
	ErrUnknown = errors.New("tick not kept")
	// ErrNoState means the store holds no copy of the surface to start from.
	ErrNoState = errors.New("this node holds no copy of the surface's state")
	// ErrStandby means the call needs a primary, and the shard is a standby.
	ErrStandby = errors.New("the shard is a standby")
	// ErrFrozen is returned by ReadExecuted when a Freeze woke it with no new tick:
	// whatever the caller holds back should go now (a handoff waits for it).
	ErrFrozen = errors.New("the shard is frozen")
)

// Record is one executed tick as it leaves the shard.
type Record struct {
	Tick   uint64
	Inputs []Input
	// PrevHash is the state hash before the tick (after Tick-1).
	PrevHash uint64
	// Hash is the state hash after the tick (0 when read back from the log).
	Hash uint64
	// Cost is the wall time of the whole tick on the primary.
	Cost time.Duration
}

// Stats is a point-in-time summary for heartbeats.
type Stats struct {
	Tick, Confirmed uint64
	Hash            uint64
	// UPS and TickCost cover the last full second.
	UPS      float64
	TickCost time.Duration
	Entities int
	Players  int
	Epoch    uint64
	Fenced   bool
	Err      error
}

// Shard runs one surface.
type Shard struct {
	cfg   Config
	log   *slog.Logger
	store *Store
	met   *shardMetrics
	sim   Simulation // owned by the tick goroutine once started

	seq sequencer

	// Pipeline positions; each only grows.
	executed  atomic.Uint64
	durable   atomic.Uint64
	confirmed atomic.Uint64

	wch     chan writeReq
	writeMu sync.Mutex // guards failure below
	failure error

	relMu      sync.Mutex
	replicas   map[string]uint64 // acks of the standbys that confirm (SetStandbys); all must hold a tick
	acks       map[string]uint64 // every standby's last ack in this run, named or not
	outlets    []Outlet
	captured   []captured
	notifyMu   sync.Mutex
	notify     chan struct{} // closed and replaced when executed moves
	confNotify chan struct{} // closed and replaced when confirmed moves
	// notifyTaken and confTaken say whether anyone holds the channel: one no
	// one waits on need not be closed and made again every tick.
	notifyTaken, confTaken bool

	ringMu sync.RWMutex
	ring   []ringSlot // by tick % len

	epoch     atomic.Uint64
	termEpoch uint64
	lease     atomic.Int64 // unix nanos; 0 = no lease
	fenced    atomic.Bool
	wake      chan struct{}
	inspect   chan func(Simulation)

	statsMu sync.Mutex
	stats   Stats

	sessMu   sync.Mutex
	sessions map[uint32]*Session
	// nSessions and nOutlets are len(sessions) and len(outlets), stored under
	// their locks whenever those change, so that the tick loop can ask whether
	// anyone watches (watched) without taking either lock every tick.
	nSessions, nOutlets atomic.Int32
	// playerGen moves whenever a join may have added a player name (replication
	// sends the table again).
	playerGen atomic.Uint64

	// held stops sequencing while set (Freeze: a live migration's handoff).
	held atomic.Bool
	// bursting is set while the tick loop sleeps through an idle burst
	// (Config.IdleBurst): whatever should end it must wake the loop (kick).
	bursting atomic.Bool
	// ckptTick is the tick of the newest durable checkpoint.
	ckptTick atomic.Uint64
	// ckptNow asks the tick loop for a checkpoint after the next tick (Checkpoint).
	ckptNow atomic.Bool
	// termStart is the tick this primary's term continued after, and when its
	// first tick executed (unix ms, 0 until then).
	termStart   uint64
	termStartMS atomic.Int64

	// Standby mode (see standby.go). The tick goroutine is not running then; the
	// replication follower calls Append, Install and StoreCheckpoint from one
	// goroutine.
	standby   atomic.Bool
	hot       bool
	hasState  bool   // the copy holds a checkpoint (and the log after it)
	needCkpt  bool   // the copy must start over from a checkpoint (kept until installed)
	posHash   uint64 // state hash after the executed tick, 0 if unknown (warm)
	sbMu      sync.Mutex
	sbDesyncs atomic.Uint64

	// runMu guards cur, the tick loop and log writer while they run: from Start
	// (or Promote's Start) until Stop or Demote.
	runMu    sync.Mutex
	cur      *run
	stopOnce sync.Once
	stop     chan struct{} // closed by Stop: the shard is gone
}

// run is one stretch of sequencing: a tick loop and a log writer.
type run struct {
	halt     chan struct{} // closed to end the run (Stop or Demote)
	loopDone chan struct{}
	wDone    chan struct{}
	wch      chan writeReq
}

type writeReq struct {
	ckpt *Checkpoint
}

type captured struct {
	tick uint64
	vals []capturedVal
}

type capturedVal struct {
	o Outlet
	v any
}

// Open loads the shard's state: the newest checkpoint and the log after it, replayed
// and checked against the hashes recorded with it; or, with an empty store, a new
// state from Config.New, checkpointed at once so that players always have a base.
// It does not start ticking.
func Open(cfg Config) (*Shard, error) {
	s, err := newShard(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.openTerm(); err != nil {
		s.store.Close()
		s.met.delete()
		return nil, err
	}
	if err := s.restore(true); err != nil {
		s.store.Close()
		s.met.delete()
		return nil, err
	}
	s.termStart = s.executed.Load()
	return s, nil
}

// openTerm applies Config.Term and Fresh to the store before loading it.
func (s *Shard) openTerm() error {
	if s.cfg.Term == 0 {
		return nil
	}
	have, err := s.store.Term()
	if err != nil {
		return err
	}
	if have == s.cfg.Term {
		return nil
	}
	if s.cfg.Fresh && !s.cfg.Restored && have == 0 && quarantinedFor(s.cfg.Dir, s.cfg.Term) {
		// A store of this surface was moved aside as corrupt: the surface has a
		// history here, and starting it from its map would replace the copies of
		// it that other nodes hold.
		return fmt.Errorf("%w (surface %s: its store was moved aside as corrupt; it continues from another copy)", ErrNoState, s.cfg.Name)
	}
	if s.cfg.Fresh {
		if err := s.store.Wipe(); err != nil {
			return fmt.Errorf("discard the old copy of %s: %w", s.cfg.Name, err)
		}
		if have != 0 {
			s.log.Info("discarded an old copy of the surface: the controller starts it from its map", "old_term", have, "term", s.cfg.Term)
		}
	} else if cp, err := s.store.LatestCheckpoint(^uint64(0)); err != nil {
		return err
	} else if cp == nil {
		return fmt.Errorf("%w (surface %s, term %d)", ErrNoState, s.cfg.Name, s.cfg.Term)
	}
	return s.store.SetTerm(s.cfg.Term)
}

// newShard opens the store and builds the shard around it without loading state.
func newShard(cfg Config) (*Shard, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, "shard.db")
	nl := cfg.NodeLog
	if nl == nil {
		var err error
		if nl, err = OpenNodeLog(cfg.Dir, NodeLogOptions{Logger: cfg.Logger}); err != nil {
			return nil, err
		}
		nl.private = true
	}
	if why := nl.damagedStore(path); why != "" {
		if nl.private {
			nl.Close()
		}
		cfg.Logger.Error("shard store moved aside: the node's write-ahead log is damaged", "surface", cfg.Name, "why", why)
		return nil, fmt.Errorf("%w: %s", ErrStoreCorrupt, why)
	}
	store, err := openStoreFile(path)
	if err == nil {
		if err = nl.attach(store); err != nil {
			store.db.Close()
			store = nil
		}
	}
	if err != nil && nl.private {
		nl.Close()
	}
	if errors.Is(err, ErrStoreCorrupt) {
		// The file is not used again: moved aside, it leaves room for a new copy
		// (a standby's from its primary) and stays for the operator to inspect.
		to, qerr := quarantineTerm(path, cfg.Now(), cfg.Term)
		if qerr != nil {
			return nil, errors.Join(err, qerr)
		}
		cfg.Logger.Error("shard store is corrupt; moved it aside", "surface", cfg.Name, "err", err, "moved_to", to)
		return nil, fmt.Errorf("%w; moved aside to %s", err, to)
	}
	if err != nil {
		return nil, err
	}
	s := &Shard{
		cfg: cfg, log: cfg.Logger.With("surface", cfg.Name), store: store,
		replicas: map[string]uint64{}, acks: map[string]uint64{}, notify: make(chan struct{}), confNotify: make(chan struct{}),
		ring: make([]ringSlot, cfg.History), termEpoch: cfg.Epoch, wake: make(chan struct{}, 1),
		inspect: make(chan func(Simulation), 16), sessions: map[uint32]*Session{},
		stop: make(chan struct{}),
	}
	s.seq.init(cfg.MaxPending, cfg.MaxInputsPerTick)
	s.epoch.Store(cfg.Epoch)
	s.met = cfg.Metrics.forShard(cfg.Name)
	return s, nil
}

// restore loads the newest checkpoint and replays the log after it; an empty store
// gets a new state from Config.New if create is set (else ErrNoState).
func (s *Shard) restore(create bool) error {
	start := s.cfg.Now()
	cp, err := s.store.LatestCheckpoint(^uint64(0))
	if err != nil {
		return err
	}
	var sim Simulation
	if cp == nil && !create {
		return fmt.Errorf("%w (surface %s)", ErrNoState, s.cfg.Name)
	}
	if cp == nil {
		if sim, err = s.cfg.New(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := sim.Save(&buf); err != nil {
			return fmt.Errorf("save the initial checkpoint: %w", err)
		}
		cp = &Checkpoint{Tick: sim.Tick(), Hash: sim.Hash(), Data: buf.Bytes()}
		if err := s.store.write(nil, []*Checkpoint{cp}, keepCheckpoints); err != nil {
			return fmt.Errorf("write the initial checkpoint: %w", err)
		}
	} else {
		if sim, err = s.cfg.Load(bytes.NewReader(cp.Data)); err != nil {
			return fmt.Errorf("load checkpoint at tick %d: %w", cp.Tick, err)
		}
		if sim.Tick() != cp.Tick || sim.Hash() != cp.Hash {
			return fmt.Errorf("checkpoint at tick %d loads as tick %d with hash %016x, not %016x: the store is corrupt or this build simulates differently",
				cp.Tick, sim.Tick(), sim.Hash(), cp.Hash)
		}
	}
	s.putRecord(Record{Tick: sim.Tick(), Hash: sim.Hash()})
	_, last, err := s.store.LogRange()
	if err != nil {
		return err
	}
	replayed := 0
	if last > cp.Tick {
		err = s.store.Batches(cp.Tick+1, last, func(b Batch) error {
			if b.PrevHash != sim.Hash() {
				return fmt.Errorf("replaying tick %d: state hash before it is %016x, the log recorded %016x: the simulation is not deterministic or the store is corrupt",
					b.Tick, sim.Hash(), b.PrevHash)
			}
			sim.Step(b.Inputs)
			s.putRecord(Record{Tick: b.Tick, Inputs: b.Inputs, PrevHash: b.PrevHash, Hash: sim.Hash()})
			replayed++
			return nil
		})
		if err != nil {
			return err
		}
	}
	t := sim.Tick()
	s.sim = sim
	s.hasState, s.posHash = true, sim.Hash()
	s.ckptTick.Store(cp.Tick)
	s.executed.Store(t)
	s.durable.Store(t)
	if !create {
		s.confirmed.Store(t)
		s.met.confirmed.Set(float64(t))
	}
	// A primary opening its store does not know what its standbys hold: it confirms
	// its ticks again once SetStandbys names them and they acknowledge (or at once,
	// with none named, when it starts).
	s.setStats(func(st *Stats) {
		st.Tick, st.Confirmed, st.Hash, st.Epoch = t, s.confirmed.Load(), sim.Hash(), s.epoch.Load()
	})
	s.met.tick.Set(float64(t))
	s.countEntities()
	s.log.Info("shard state loaded", "tick", t, "hash", fmt.Sprintf("%016x", sim.Hash()), "checkpoint", cp.Tick,
		"replayed", replayed, "took", s.cfg.Now().Sub(start).Round(time.Millisecond))
	return nil
}

// Start starts the log writer and the tick loop. A standby does not start: it is
// promoted first.
func (s *Shard) Start() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.standby.Load() || s.cur != nil {
		return
	}
	select {
	case <-s.stop:
		return
	default:
	}
	r := &run{halt: make(chan struct{}), loopDone: make(chan struct{}), wDone: make(chan struct{}), wch: make(chan writeReq, 4096)}
	s.cur = r
	go s.writer(r)
	go s.loop(r)
}

// halt ends the current run, if any: the loop stops after the tick in progress
// and the writer after making every executed tick durable.
func (s *Shard) halt() {
	s.runMu.Lock()
	r := s.cur
	s.cur = nil
	s.runMu.Unlock()
	if r == nil {
		return
	}
	close(r.halt)
	<-r.loopDone
	close(r.wch)
	<-r.wDone
}

func (s *Shard) running() *run {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.cur
}

// Stop stops ticking, flushes the log, ends every session and closes the store.
// Every tick executed before Stop is durable when it returns.
func (s *Shard) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.stop)
		s.halt()
		s.notifyAll(true)
		s.sessMu.Lock()
		for _, se := range s.sessions {
			se.closeLocked()
		}
		s.sessMu.Unlock()
		err = s.store.Close()
		s.met.delete()
		if ferr := s.err(); ferr != nil {
			err = errors.Join(ferr, err)
		}
	})
	return err
}

// Name returns the surface name.
func (s *Shard) Name() string { return s.cfg.Name }

// Store returns the shard's store (for replication and tools; read only).
func (s *Shard) Store() *Store { return s.store }

// Executed, Durable and Confirmed return the pipeline positions.
func (s *Shard) Executed() uint64  { return s.executed.Load() }
func (s *Shard) Durable() uint64   { return s.durable.Load() }
func (s *Shard) Confirmed() uint64 { return s.confirmed.Load() }

// Epoch returns the current assignment epoch; TermEpoch the epoch this shard
// started sequencing under.
func (s *Shard) Epoch() uint64     { return s.epoch.Load() }
func (s *Shard) TermEpoch() uint64 { return s.termEpoch }

// SetEpoch moves the shard to a newer epoch of the same primary term (the
// assignment changed, e.g. a standby was added). Older epochs are refused.
func (s *Shard) SetEpoch(e uint64) error {
	for {
		cur := s.epoch.Load()
		if e < cur {
			return &EpochError{Got: e, Current: cur, Surface: s.cfg.Name}
		}
		if s.epoch.CompareAndSwap(cur, e) {
			s.setStats(func(st *Stats) { st.Epoch = e })
			return nil
		}
	}
}

// SetLease sets the deadline after which the shard stops sequencing by itself
// (self-fencing) until the lease is extended. The zero time means no lease.
func (s *Shard) SetLease(deadline time.Time) {
	if deadline.IsZero() {
		s.lease.Store(0)
	} else {
		s.lease.Store(deadline.UnixNano())
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Submit queues an input for the next tick at or after target (0: the next tick).
// Late inputs go to a later tick; they never stall the surface.
func (s *Shard) Submit(in Input, target uint64) error {
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	if s.standby.Load() {
		return ErrStandby
	}
	if err := s.seq.submit(in, target); err != nil {
		return err
	}
	s.kick()
	return nil
}

// kick ends an idle burst (Config.IdleBurst): the tick loop catches up to its
// schedule and ticks on its own again. The loop sets bursting before it looks
// for reasons not to burst, and callers make their reason visible before they
// read it, so no reason is missed.
func (s *Shard) kick() {
	if s.bursting.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Inspect runs fn on the tick goroutine between two ticks and waits for it. fn must
// not keep sim or change it.
func (s *Shard) Inspect(fn func(sim Simulation)) error {
	done := make(chan struct{})
	wrapped := func(sim Simulation) { defer close(done); fn(sim) }
	r := s.running()
	if r == nil {
		if s.standby.Load() {
			return ErrStandby
		}
		return errors.New("shard not started")
	}
	select {
	case s.inspect <- wrapped:
	case <-r.loopDone:
		return ErrClosed
	}
	select {
	case <-done:
		return nil
	case <-r.loopDone:
		select {
		case <-done:
			return nil
		default:
			return ErrClosed
		}
	}
}

// Stats returns the latest summary.
func (s *Shard) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats
	st.Confirmed = s.confirmed.Load()
	st.Fenced = s.fenced.Load()
	st.Err = s.err()
	s.sessMu.Lock()
	st.Players = len(s.sessions)
	s.sessMu.Unlock()
	return st
}

// countEntities publishes the simulation's entity count (stats and gauge): where
// the state is loaded or taken over, and at the end of every UPS window. Its
// caller owns s.sim (the tick goroutine, or the shard before it starts).
func (s *Shard) countEntities() {
	if ec, ok := s.sim.(EntityCounter); ok {
		n := ec.EntityCount()
		s.met.entities.Set(float64(n))
		s.setStats(func(st *Stats) { st.Entities = n })
	}
}

func (s *Shard) setStats(fn func(*Stats)) {
	s.statsMu.Lock()
	fn(&s.stats)
	s.statsMu.Unlock()
}

func (s *Shard) err() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.failure
}

func (s *Shard) fail(err error) {
	s.writeMu.Lock()
	first := s.failure == nil
	if first {
		s.failure = err
		s.log.Error("shard failed; it stops sequencing", "err", err)
	}
	s.writeMu.Unlock()
	if !first {
		return
	}
	// A failed shard ticks no more: it reports no rate rather than its last one.
	s.setStats(func(st *Stats) { st.UPS = 0 })
	if s.met != nil {
		s.met.ups.Set(0)
	}
	if s.cfg.OnFail != nil {
		s.cfg.OnFail()
	}
}

// changed returns a channel closed at the next move of the executed tick, or of
// the confirmed tick if confirmed is set. Player streams wait on the confirmed one
// only, so they wake once per tick, not twice.
func (s *Shard) changed(confirmed bool) <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if confirmed {
		s.confTaken = true
		return s.confNotify
	}
	s.notifyTaken = true
	return s.notify
}

// notifyAll wakes readers of the executed tick, and of the confirmed tick if conf.
func (s *Shard) notifyAll(conf bool) {
	s.notifyMu.Lock()
	if s.notifyTaken {
		close(s.notify)
		s.notify, s.notifyTaken = make(chan struct{}), false
	}
	if conf && s.confTaken {
		close(s.confNotify)
		s.confNotify, s.confTaken = make(chan struct{}), false
	}
	s.notifyMu.Unlock()
}

type ringSlot struct {
	rec Record
	set bool
}

func (s *Shard) putRecord(r Record) {
	s.ringMu.Lock()
	s.ring[r.Tick%uint64(len(s.ring))] = ringSlot{rec: r, set: true}
	s.ringMu.Unlock()
}

// record returns the kept record of tick t.
func (s *Shard) record(t uint64) (Record, bool) {
	s.ringMu.RLock()
	defer s.ringMu.RUnlock()
	sl := s.ring[t%uint64(len(s.ring))]
	return sl.rec, sl.set && sl.rec.Tick == t
}

// HashAt returns the state hash after tick t if it is still kept in memory.
func (s *Shard) HashAt(t uint64) (uint64, bool) {
	if t > s.executed.Load() {
		return 0, false
	}
	r, ok := s.record(t)
	return r.Hash, ok
}

// PlayerGen changes whenever the player name table may have changed.
func (s *Shard) PlayerGen() uint64 { return s.playerGen.Load() }

// Fenced reports whether the shard stopped sequencing because its lease expired.
func (s *Shard) Fenced() bool { return s.fenced.Load() }
