package shard

import (
	"bytes"
	"fmt"
	"runtime"
	"time"
)

// loop is the tick goroutine: it owns the simulation. It ticks on a fixed schedule
// of 1/UPS, runs late ticks back to back to catch up after a stall (never sleeping
// while behind), gives up ticks that are more than MaxLag late, and stops
// sequencing while the node's lease is expired.
func (s *Shard) loop(r *run) {
	defer close(r.loopDone)
	interval := time.Second / time.Duration(s.cfg.UPS)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	next := s.cfg.Now()
	win := window{span: firstWindow, waitFrom: next} // opens at the first tick on schedule
	for {
		select {
		case <-r.halt:
			return
		case fn := <-s.inspect:
			fn(s.sim)
			continue
		default:
		}
		now := s.cfg.Now()
		expired := s.leaseExpired(now)
		if s.err() != nil || expired || s.held.Load() {
			if s.err() == nil && expired && !s.fenced.Load() {
				// The ticks sequenced before the lease ran out are still being
				// confirmed (a group commit, the standbys' acks): the shard reports
				// itself fenced once they are, so that nothing is confirmed after.
				s.drain(r, fenceDrain)
			}
			if s.err() == nil && expired && !s.fenced.Swap(true) {
				s.log.Warn("lease expired: stopped sequencing until the node renews it", "tick", s.executed.Load())
				s.met.fenced.Set(1)
			}
			if !expired && s.fenced.Swap(false) {
				s.log.Info("lease renewed", "tick", s.executed.Load())
				s.met.fenced.Set(0)
			}
			select {
			case <-r.halt:
				return
			case fn := <-s.inspect:
				fn(s.sim)
			case <-s.wake:
			case <-time.After(100 * time.Millisecond):
			}
			next = s.cfg.Now()
			continue
		}
		if s.fenced.Swap(false) {
			s.log.Info("lease renewed: sequencing again", "tick", s.executed.Load())
			s.met.fenced.Set(0)
		}
		if wait := next.Sub(now); wait > 0 {
			if s.cfg.IdleBurst > 0 {
				// The flag first, then the reasons not to burst (kick).
				s.bursting.Store(true)
				if s.burstable() {
					wait += burstLen(s.cfg.IdleBurst, interval, win.mean) - interval
				} else {
					s.bursting.Store(false) // an ordinary wait: inputs need not wake it
				}
			}
			timer.Reset(wait)
			select {
			case <-r.halt:
				timer.Stop()
				return
			case fn := <-s.inspect:
				timer.Stop()
				fn(s.sim)
			case <-s.wake:
				timer.Stop()
			case <-timer.C:
			}
			s.bursting.Store(false)
			continue
		}
		// How late the tick starts: recorded, and less than an interval means
		// the loop is on schedule after it (also at the end of an idle burst).
		s.tickOnce(r, now, &win, now.Sub(next))
		next = next.Add(interval)
		if behind := s.cfg.Now().Sub(next); behind > s.cfg.MaxLag {
			lost := uint64(behind / interval)
			s.met.skipped.Add(float64(lost))
			s.log.Warn("tick loop fell too far behind; skipping ticks instead of catching up", "behind", behind.Round(time.Millisecond), "skipped", lost)
			next = s.cfg.Now()
		}
	}
}

// fenceDrain bounds how long a shard whose lease ran out waits for the ticks it
// already sequenced to be confirmed before it reports itself fenced.
const fenceDrain = 250 * time.Millisecond

// drain waits until every executed tick is durable and, within limit, confirmed.
func (s *Shard) drain(r *run, limit time.Duration) {
	s.store.waitIdle()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		ch := s.changed(true)
		if s.confirmed.Load() >= s.executed.Load() || s.err() != nil {
			return
		}
		select {
		case <-ch:
		case <-r.halt:
			return
		case <-deadline.C:
			return
		}
	}
}

func (s *Shard) leaseExpired(now time.Time) bool {
	l := s.lease.Load()
	return l != 0 && now.UnixNano() >= l
}

// cpuSampleEvery is how often (ticks) the simulation's CPU time is measured.
const cpuSampleEvery = 8

// window accumulates one second of tick measurements for UPS and mean cost. The
// first window of a run closes after firstWindow instead, so that a surface just
// started, promoted or moved reports its rate with the node's next heartbeat
// rather than 0 UPS for a second or two.
type window struct {
	start time.Time // zero: the first window, not open yet
	ticks int
	cost  time.Duration
	span  time.Duration
	// mean is the mean tick cost of the last window closed (0 before the first).
	mean time.Duration
	// waitFrom is when the run began waiting for a tick on schedule to open its
	// first window.
	waitFrom time.Time
}

// closeWindow publishes a window's UPS and mean tick cost and the entity count,
// and opens the next window at end.
// It runs on the tick goroutine, which owns s.sim.
func (s *Shard) closeWindow(win *window, el time.Duration, end time.Time) {
	ups := float64(win.ticks) / el.Seconds()
	if s.err() != nil {
		ups = 0 // failed meanwhile: it ticks no more
	}
	mean := win.cost / time.Duration(win.ticks)
	s.met.ups.Set(ups)
	s.countEntities()
	s.setStats(func(st *Stats) { st.UPS, st.TickCost = ups, mean })
	*win = window{start: end, span: time.Second, mean: mean}
}

// burstHold bounds how long an idle burst longer than minBurstTicks may hold a
// core with its ticks back to back, and minBurstTicks is the burst every
// surface may take whatever its ticks cost (as many as Config.IdleBurst allows).
const (
	burstHold     = 2 * time.Millisecond
	minBurstTicks = 6
)

// burstLen is how long an idle burst lasts: Config.IdleBurst for a surface
// whose ticks are cheap, so that a node of small idle surfaces wakes a few times
// a second; for one whose ticks cost more (tickCost, the last window's mean), as
// many ticks as fit in burstHold, and never fewer than minBurstTicks, so that a
// large idle surface does not keep a watched surface on the node waiting for the
// core. Before the first window closes the cost is unknown and the burst is the
// shortest.
func burstLen(longest, interval, tickCost time.Duration) time.Duration {
	n := longest / interval
	switch {
	case n <= minBurstTicks:
	case tickCost <= 0:
		n = minBurstTicks
	case n*tickCost > burstHold:
		n = max(burstHold/tickCost, minBurstTicks)
	}
	return n * interval
}

// firstWindow is the length of a run's first UPS window.
const firstWindow = 250 * time.Millisecond

// tickOnce runs the pipeline for one tick: sequence, hand the batch to the log
// writer (durable), execute, capture outputs, and advance confirmation (release).
// Execution does not wait for the batch to be durable: nothing the tick produced
// leaves the shard before it is confirmed, so running ahead is safe and hides the
// disk (and, with standbys, the replication) latency.
//
// late is how far behind its schedule the tick starts. The UPS window closes
// after a second at a tick that leaves the loop on schedule (the last one due),
// so that an idle burst is counted whole; a loop that never catches up closes it
// after two.
func (s *Shard) tickOnce(r *run, start time.Time, win *window, late time.Duration) {
	sim := s.sim
	t := sim.Tick() + 1
	inputs := s.seq.take(t)
	prev := sim.Hash()
	watched := s.watched()
	if watched {
		s.met.lateWatched.Observe(late.Seconds())
	} else {
		s.met.lateIdle.Observe(late.Seconds())
	}
	if s.err() == nil {
		// A tick without inputs that no player or bridge watches confirms
		// nothing anyone waits for: it may share a later group commit.
		s.store.appendAsync(&Batch{Tick: t, PrevHash: prev, Inputs: inputs}, s.logged, len(inputs) == 0 && !watched)
	}

	// The step's CPU time (not only its wall time, which a busy machine inflates
	// with preemption) tells the runtime's own CPU cost apart from the simulation's.
	// Reading a thread's CPU clock is a system call, two per tick a tenth of an
	// idle surface's whole cost: every cpuSampleEvery-th tick is measured and
	// counted for all of them.
	sample := t%cpuSampleEvery == 0
	var cpu0, cpu1 time.Duration
	cpuOK := false
	if sample {
		runtime.LockOSThread()
		cpu0, cpuOK = threadCPU()
	}
	stepStart := s.cfg.Now()
	sim.Step(inputs)
	stepped := s.cfg.Now()
	if sample {
		cpu1, _ = threadCPU()
		runtime.UnlockOSThread()
		if !cpuOK {
			cpu0, cpu1 = 0, stepped.Sub(stepStart)
		}
		cpu1 = cpu0 + (cpu1-cpu0)*cpuSampleEvery
	}
	if got := sim.Tick(); got != t {
		s.fail(fmt.Errorf("simulation stepped to tick %d, expected %d", got, t))
		return
	}
	h := sim.Hash()
	s.relMu.Lock()
	outlets := s.outlets // replaced, never modified in place, by Add/RemoveOutlet
	s.relMu.Unlock()
	if len(outlets) > 0 {
		vals := make([]capturedVal, len(outlets))
		for i, o := range outlets {
			vals[i] = capturedVal{o, o.Capture(sim, t)}
		}
		s.relMu.Lock()
		s.captured = append(s.captured, captured{tick: t, vals: vals})
		s.relMu.Unlock()
	}
	if t%s.cfg.CheckpointEvery == 0 || s.ckptNow.Swap(false) {
		var buf bytes.Buffer
		if err := sim.Save(&buf); err != nil {
			s.log.Error("checkpoint failed; the log keeps growing until one succeeds", "tick", t, "err", err)
		} else {
			r.wch <- writeReq{ckpt: &Checkpoint{Tick: t, Hash: h, Data: buf.Bytes()}}
		}
	}
	end := s.cfg.Now()
	cost := end.Sub(start)
	s.putRecord(Record{Tick: t, Inputs: inputs, PrevHash: prev, Hash: h, Cost: cost})
	s.executed.Store(t)
	if s.termStartMS.Load() == 0 {
		s.termStartMS.Store(end.UnixMilli())
	}

	lastDue := late < time.Second/time.Duration(s.cfg.UPS)
	if win.start.IsZero() {
		// The ticks a surface runs back to back to catch up after it starts, is
		// promoted or is moved are not its rate (they showed as 63 UPS): the first
		// window opens at the first tick on schedule (or after 2 s of none).
		if lastDue || end.Sub(win.waitFrom) >= 2*time.Second {
			win.start = end
		}
	} else {
		win.ticks++
		win.cost += cost
		if el := end.Sub(win.start); el >= win.span && lastDue || el >= 2*time.Second {
			s.closeWindow(win, el, end)
		}
	}
	s.setStats(func(st *Stats) { st.Tick, st.Hash = t, h })
	s.met.tick.Set(float64(t))
	s.met.tickSeconds.Observe(cost.Seconds())
	s.met.simSeconds.Observe(stepped.Sub(stepStart).Seconds())
	s.met.simCPU.Add((cpu1 - cpu0).Seconds())
	s.met.overheadSeconds.Observe((cost - stepped.Sub(stepStart)).Seconds())
	s.advance()
}

// burstable reports whether the loop may sleep through an idle burst: nobody
// watches the surface's ticks, no input waits, and nothing asked for a checkpoint.
func (s *Shard) burstable() bool {
	return !s.watched() && s.seq.len() == 0 && !s.ckptNow.Load() && !s.held.Load()
}

// Watched reports whether players or outlets (bridges) wait for confirmed ticks:
// when none do, ticks without inputs may wait for a later commit, and for a later
// message to the standbys.
func (s *Shard) Watched() bool { return s.watched() }

// watched reports whether players or outlets (bridges) wait for confirmed ticks.
func (s *Shard) watched() bool { return s.nSessions.Load()+s.nOutlets.Load() > 0 }

// logged runs on the node log's committer once the batch of tick is durable (or
// could not be written): it moves the durable tick and confirms what it can.
func (s *Shard) logged(tick uint64, err error) {
	if err != nil {
		s.fail(fmt.Errorf("write the input log: %w", err))
		return
	}
	if tick > s.durable.Load() {
		s.durable.Store(tick)
	}
	s.advance()
}

// writer stores checkpoints (with the log before them) off the tick goroutine,
// and when the run ends waits until every executed tick is durable.
func (s *Shard) writer(r *run) {
	defer close(r.wDone)
	defer s.store.waitIdle()
	for req := range r.wch {
		if req.ckpt == nil || s.err() != nil {
			continue
		}
		start := s.cfg.Now()
		if err := s.store.write(nil, []*Checkpoint{req.ckpt}, keepCheckpoints); err != nil {
			s.fail(fmt.Errorf("write a checkpoint: %w", err))
			continue
		}
		s.met.commitSeconds.Observe(s.cfg.Now().Sub(start).Seconds())
		s.met.checkpoint.Set(float64(req.ckpt.Tick))
		s.ckptTick.Store(req.ckpt.Tick)
	}
}

// Outlet receives what each tick produced for the outside world, and is given it
// only once the tick is confirmed (output commit). Bridges (outbox entries and
// acks) plug in here.
type Outlet interface {
	// Capture runs on the tick goroutine right after tick t executed; it may read
	// sim but not keep it.
	Capture(sim Simulation, t uint64) any
	// Release runs once t is confirmed, in tick order, with what Capture returned.
	// It must not block.
	Release(t uint64, v any)
}

// AddOutlet registers an outlet, before Start or while the shard runs: it captures
// from the next tick on.
func (s *Shard) AddOutlet(o Outlet) {
	s.relMu.Lock()
	s.outlets = append(s.outlets[:len(s.outlets):len(s.outlets)], o)
	s.nOutlets.Store(int32(len(s.outlets)))
	s.relMu.Unlock()
	s.kick()
}

// RemoveOutlet unregisters an outlet; what it captured and was not released yet is
// dropped.
func (s *Shard) RemoveOutlet(o Outlet) {
	s.relMu.Lock()
	defer s.relMu.Unlock()
	next := make([]Outlet, 0, len(s.outlets))
	for _, x := range s.outlets {
		if x != o {
			next = append(next, x)
		}
	}
	s.outlets = next
	s.nOutlets.Store(int32(len(next)))
	for i := range s.captured {
		vals := s.captured[i].vals[:0:0]
		for _, cv := range s.captured[i].vals {
			if cv.o != o {
				vals = append(vals, cv)
			}
		}
		s.captured[i].vals = vals
	}
}

// SetStandbys names the standbys whose acknowledgement confirms ticks: with none, a
// tick is confirmed once it is durable here; with some, every one of them must have
// acknowledged it (Ack). Confirming on the slowest named standby is what lets the
// controller promote any synced standby without losing a confirmed tick, however many
// there are. A newly named standby counts with the last tick it acknowledged in this
// run (acknowledgements of unnamed standbys are kept for that).
func (s *Shard) SetStandbys(names []string) {
	s.relMu.Lock()
	next := make(map[string]uint64, len(names))
	for _, n := range names {
		next[n] = s.acks[n]
	}
	s.replicas = next
	s.relMu.Unlock()
	s.advance()
}

// Confirms reports whether standby name is one whose acknowledgements confirm ticks.
func (s *Shard) Confirms(name string) bool {
	s.relMu.Lock()
	defer s.relMu.Unlock()
	_, ok := s.replicas[name]
	return ok
}

// Ack records that standby name durably holds every tick up to t.
func (s *Shard) Ack(name string, t uint64) {
	s.relMu.Lock()
	s.acks[name] = max(s.acks[name], t)
	if cur, ok := s.replicas[name]; ok && t > cur {
		s.replicas[name] = t
	}
	s.relMu.Unlock()
	s.advance()
}

// advance recomputes the confirmed tick and releases captured outputs up to it.
func (s *Shard) advance() {
	s.relMu.Lock()
	c := min(s.durable.Load(), s.executed.Load())
	for _, a := range s.replicas {
		c = min(c, a)
	}
	moved := c > s.confirmed.Load()
	if moved {
		s.confirmed.Store(c)
		s.met.confirmed.Set(float64(c))
		n := 0
		for n < len(s.captured) && s.captured[n].tick <= c {
			for _, cv := range s.captured[n].vals {
				cv.o.Release(s.captured[n].tick, cv.v)
			}
			n++
		}
		if n > 0 {
			s.captured = append(s.captured[:0], s.captured[n:]...)
		}
	}
	s.relMu.Unlock()
	s.notifyAll(moved)
}
