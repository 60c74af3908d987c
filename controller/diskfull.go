package controller

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// noSpace reports whether err says a disk is full (or a quota used up).
// hashicorp/raft quotes the log store's error instead of wrapping it, so the
// text is checked too.
func noSpace(err error) bool {
	return err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), syscall.ENOSPC.Error()) || strings.Contains(err.Error(), syscall.EDQUOT.Error()))
}

// spaceWatch is the Raft log and stable store as Raft sees it: it remembers
// whether the last write failed for want of space, so that a controller whose
// disk is full — it wins elections and steps down at its first log append, over
// and over — can say why no leader is known instead of only that none is.
type spaceWatch struct {
	logStore
	now  func() time.Time
	full atomic.Pointer[diskFullNote]
}

// diskFullNote is the last Raft log write that failed for want of space.
type diskFullNote struct {
	at  time.Time
	err error
}

// note records a write that failed for want of space; a log append that
// succeeds clears it (a term or vote saved proves nothing about room for the
// log: it lives in a small file of its own).
func (s *spaceWatch) note(err error, logWrite bool) error {
	switch {
	case noSpace(err):
		s.full.Store(&diskFullNote{at: s.now(), err: err})
	case err == nil && logWrite:
		s.full.Store(nil)
	}
	return err
}

// IsMonotonic passes on raft-wal's promise that its log never has gaps: Raft
// then drops the whole log after installing a snapshot, which raft-wal needs
// (a restore otherwise fails appending past a gap).
func (s *spaceWatch) IsMonotonic() bool {
	m, ok := s.logStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (s *spaceWatch) StoreLog(l *raft.Log) error { return s.note(s.logStore.StoreLog(l), true) }

func (s *spaceWatch) StoreLogs(ls []*raft.Log) error { return s.note(s.logStore.StoreLogs(ls), true) }

func (s *spaceWatch) Set(k, v []byte) error { return s.note(s.logStore.Set(k, v), false) }

func (s *spaceWatch) SetUint64(k []byte, v uint64) error {
	return s.note(s.logStore.SetUint64(k, v), false)
}

// noLeaderError is the refusal of a call that needs the leader when none is
// known. When this controller's last Raft log write failed for want of space,
// that is why (it cannot stay leader, nor accept entries as a follower), and
// the refusal says so and what to do. A lone voter answers ResourceExhausted,
// which clients do not retry: no other controller can answer instead.
func (c *Controller) noLeaderError() error {
	n := c.space.full.Load()
	if n == nil {
		return status.Error(codes.Unavailable, "no controller leader is known right now; retry")
	}
	code := codes.Unavailable
	if c.voters() == 1 {
		code = codes.ResourceExhausted
	}
	ago := c.now().Sub(n.at).Round(time.Second)
	return status.Errorf(code, "the controllers cannot elect a leader: %s's disk is full (its last Raft log write, %s ago, failed: %v); free space in its data dir %s",
		c.id, ago, n.err, c.cfg.DataDir)
}

// voters is how many voters the Raft configuration has (0 when unknown).
func (c *Controller) voters() int { return votersOf(c.raft) }

// votersOf is how many voters r's latest configuration has (0 when unknown).
// hashicorp/raft answers it without its main goroutine, so it may be asked
// from a call Raft makes.
func votersOf(r *raft.Raft) int {
	f := r.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}
