package shard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// EpochError is a message stamped with an epoch this shard does not serve.
type EpochError struct {
	Surface      string
	Got, Current uint64
}

func (e *EpochError) Error() string {
	if e.Got < e.Current {
		return fmt.Sprintf("stale epoch %d: surface %s is at epoch %d on this node; join again to learn the current epoch", e.Got, e.Surface, e.Current)
	}
	return fmt.Sprintf("epoch %d is newer than this node's epoch %d for surface %s: this node is no longer its primary", e.Got, e.Current, e.Surface)
}

// CheckEpoch accepts epochs of this shard's primary term: from the epoch it started
// sequencing under up to the current one. Anything older comes from a previous
// owner's time; anything newer means another node has since been made primary.
func (s *Shard) CheckEpoch(e uint64) error {
	if cur := s.epoch.Load(); e < s.termEpoch || e > cur {
		if e < s.termEpoch {
			cur = max(cur, s.termEpoch)
		}
		return &EpochError{Surface: s.cfg.Name, Got: e, Current: cur}
	}
	return nil
}

// ErrAlreadyPlaying means a player name already has a session on this shard.
var ErrAlreadyPlaying = errors.New("a player with this name is already connected")

// JoinRequest asks to join the surface as a player.
type JoinRequest struct {
	Name string
	// Epoch is the epoch the client knows, 0 if none.
	Epoch uint64
	// ResumeTick, if non-zero, is the tick the client's own state is at: when the
	// log still holds the ticks after it, the client gets those instead of a
	// checkpoint.
	ResumeTick uint64
}

// Joined is a new session and where its tick stream starts.
type Joined struct {
	Session *Session
	// Checkpoint is the state to start from; nil when the client resumes.
	Checkpoint *Checkpoint
	// Start is the tick the client's state is at; the stream begins at Start+1.
	Start uint64
}

// Session is one player's lockstep session.
type Session struct {
	sh     *Shard
	player uint32
	name   string

	mu       sync.Mutex
	next     uint64
	closed   bool
	desyncs  int
	finished chan struct{}
	// refused carries the session's actions the shard will never sequence
	// (Refused).
	refused chan Refusal
}

// Refusal is a player's action the shard will never sequence, and why: the
// shard was frozen to hand the surface to another node, or to stop it. The
// client is told, so that no action is dropped without an answer.
type Refusal struct {
	Data   []byte
	Target uint64
	Reason string
}

// refusedQueue is how many refusals a session holds for its sender.
const refusedQueue = 64

// ErrMoving is what Act returns while the shard is frozen to hand the surface
// to another node (or to stop it): the action is not taken.
var ErrMoving = errors.New("the surface is frozen to move to another node or to stop; send the action again once it runs")

// Refused delivers the session's actions that were queued but will never be
// sequenced (see Refusal).
func (se *Session) Refused() <-chan Refusal { return se.refused }

// Join starts a player session: it finds or allocates the player's ID, picks the
// starting state (a checkpoint, or the client's own tick when resuming) and queues
// the simulation's join input.
func (s *Shard) Join(req JoinRequest) (*Joined, error) {
	select {
	case <-s.stop:
		return nil, ErrClosed
	default:
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	if s.standby.Load() {
		return nil, ErrStandby
	}
	if s.fenced.Load() {
		return nil, ErrFenced
	}
	if req.Epoch != 0 {
		if err := s.CheckEpoch(req.Epoch); err != nil {
			return nil, err
		}
	}
	if req.Name == "" || len(req.Name) > 64 || !utf8.ValidString(req.Name) {
		return nil, errors.New("player name must be 1 to 64 bytes of UTF-8")
	}
	id, err := s.store.PlayerID(req.Name)
	if err != nil {
		return nil, fmt.Errorf("player table: %w", err)
	}
	s.playerGen.Add(1)
	se := &Session{sh: s, player: id, name: req.Name, finished: make(chan struct{}), refused: make(chan Refusal, refusedQueue)}
	s.sessMu.Lock()
	if _, dup := s.sessions[id]; dup {
		s.sessMu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrAlreadyPlaying, req.Name)
	}
	s.sessions[id] = se
	s.nSessions.Store(int32(len(s.sessions)))
	s.met.players.Set(float64(len(s.sessions)))
	s.sessMu.Unlock()
	s.kick()

	j := &Joined{Session: se}
	// A client resumes from its own state when it holds no tick the shard has not
	// confirmed and the shard can still stream what follows it (from memory or the
	// log, or because it has not executed it yet: a fresh primary at that tick).
	if r := req.ResumeTick; r > 0 && r <= s.confirmed.Load() && (r >= s.executed.Load() || s.available(r+1)) {
		j.Start = r
	} else {
		cp, err := s.LatestCheckpoint()
		if err == nil && cp == nil {
			err = errors.New("no checkpoint stored")
		}
		if err != nil {
			se.Close()
			return nil, fmt.Errorf("read checkpoint: %w", err)
		}
		j.Checkpoint, j.Start = cp, cp.Tick
	}
	se.next = j.Start + 1
	if s.cfg.JoinInput != nil {
		if err := s.Submit(Input{Player: id, Data: s.cfg.JoinInput(id, req.Name)}, 0); err != nil {
			se.Close()
			return nil, err
		}
	}
	s.log.Info("player joined", "player", req.Name, "id", id, "from_tick", j.Start, "resumed", j.Checkpoint == nil)
	return j, nil
}

// available reports whether tick t can still be read (memory or log).
func (s *Shard) available(t uint64) bool {
	if _, ok := s.record(t); ok {
		return true
	}
	first, last, err := s.store.LogRange()
	return err == nil && first != 0 && first <= t && t <= last
}

// Player returns the session's player ID; Name its name.
func (se *Session) Player() uint32 { return se.player }
func (se *Session) Name() string   { return se.name }

// Done is closed when the session ends (Close, or the shard stopped).
func (se *Session) Done() <-chan struct{} { return se.finished }

// Next waits for the next confirmed ticks of the session's stream, at most max.
func (se *Session) Next(ctx context.Context, max int) ([]Record, error) {
	se.mu.Lock()
	next, closed := se.next, se.closed
	se.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	recs, err := se.sh.ReadConfirmed(ctx, next, max)
	if err != nil {
		return nil, err
	}
	se.mu.Lock()
	se.next = recs[len(recs)-1].Tick + 1
	se.mu.Unlock()
	return recs, nil
}

// Act submits one of the player's actions for the next tick at or after target. The
// player ID is the session's, never the client's say.
func (se *Session) Act(data []byte, target uint64) error {
	se.mu.Lock()
	closed := se.closed
	se.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if se.sh.held.Load() {
		return ErrMoving
	}
	return se.sh.Submit(Input{Player: se.player, Data: data}, target)
}

// refusePlayers takes every queued input of a player out of the sequencer and
// tells each one's session why it will not run: nothing a player sent is
// dropped without an answer when the surface leaves this node.
func (s *Shard) refusePlayers(reason string) {
	ins := s.seq.takePlayers()
	if len(ins) == 0 {
		return
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for _, p := range ins {
		se := s.sessions[p.in.Player]
		if se == nil || s.cfg.JoinInput != nil && bytes.Equal(p.in.Data, s.cfg.JoinInput(p.in.Player, se.name)) {
			// A join, or a player's leave (its session is gone): the shard's own
			// inputs, not the player's actions. They stay queued, as before, for a
			// handoff that is called off.
			_ = s.seq.submit(p.in, p.target)
			continue
		}
		select {
		case se.refused <- Refusal{Data: p.in.Data, Target: p.target, Reason: reason}:
		default: // more than the channel holds: the session ends with the move anyway
		}
	}
}

// Desync is a hash mismatch between a client and the shard.
type Desync struct {
	Tick               uint64
	Server, ClientHash uint64
}

// CheckHash compares the client's state hash after tick with the shard's. It
// returns a Desync on mismatch, or ErrUnknown if that tick's hash is not (or no
// longer, or not yet) known.
func (se *Session) CheckHash(tick, hash uint64) (*Desync, error) {
	if tick > se.sh.confirmed.Load() {
		return nil, ErrUnknown
	}
	h, ok := se.sh.HashAt(tick)
	if !ok {
		return nil, ErrUnknown
	}
	if h == hash {
		return nil, nil
	}
	se.mu.Lock()
	se.desyncs++
	se.mu.Unlock()
	se.sh.met.desyncs.Inc()
	se.sh.log.Warn("desync", "player", se.name, "tick", tick, "server_hash", fmt.Sprintf("%016x", h), "client_hash", fmt.Sprintf("%016x", hash))
	return &Desync{Tick: tick, Server: h, ClientHash: hash}, nil
}

// Close ends the session and queues the simulation's leave input.
func (se *Session) Close() {
	se.sh.sessMu.Lock()
	defer se.sh.sessMu.Unlock()
	if se.closeLocked() && se.sh.cfg.LeaveInput != nil {
		_ = se.sh.Submit(Input{Player: se.player, Data: se.sh.cfg.LeaveInput(se.player)}, 0)
	}
}

func (se *Session) closeLocked() bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.closed {
		return false
	}
	se.closed = true
	close(se.finished)
	if se.sh.sessions[se.player] == se {
		delete(se.sh.sessions, se.player)
		se.sh.nSessions.Store(int32(len(se.sh.sessions)))
		se.sh.met.players.Set(float64(len(se.sh.sessions)))
	}
	return true
}

// EndSessions ends every player session without queueing leave inputs: their
// clients join again, elsewhere if the surface has moved (a fenced primary).
func (s *Shard) EndSessions() {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for _, se := range s.sessions {
		se.closeLocked()
	}
}

// Players returns the number of player sessions.
func (s *Shard) Players() int {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	return len(s.sessions)
}
