package node

import "time"

// The node's housekeeping loops (failed copies and disk health, standbys,
// autosaves) used to poll on tickers of 100–200 ms: 25 wake-ups a second of
// the whole process for a node with nothing to do, a fifth of what a lone idle
// surface was allowed to cost in all. Each now sleeps for as long as nothing it
// watches can change without telling it, and is woken at once by what does: an
// assignment applied (a new copy, standbys, a stop asked for) or a copy failing.

// housekeepEvery is how often a housekeeping loop runs when nothing wakes it
// and it has nothing to watch closely: the backstop for what is not announced
// (a copy healthy long enough to forget its retries, a disk found to have room).
const housekeepEvery = time.Second

// housekeeping wakes the node's housekeeping loops. Each loop has its own
// channel of one, so a wake-up is never lost and never blocks the waker.
type housekeeping struct {
	failures, replicas, autosaves chan struct{}
}

func newHousekeeping() housekeeping {
	return housekeeping{make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)}
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// assignmentsChanged wakes every loop: a copy started, stopped, was promoted or
// got standbys, or a stop was asked for.
func (hk housekeeping) assignmentsChanged() {
	poke(hk.failures)
	poke(hk.replicas)
	poke(hk.autosaves)
}

// copyFailed wakes the failure loop (shard.Config.OnFail).
func (hk housekeeping) copyFailed() { poke(hk.failures) }

// sleep waits for d, a wake-up on ch, or the end of done; false at the end.
// t is the loop's timer, stopped on return.
func sleep(done <-chan struct{}, t *time.Timer, d time.Duration, ch <-chan struct{}) bool {
	t.Reset(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-ch:
		return true
	case <-t.C:
		return true
	}
}
