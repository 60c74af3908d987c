package controller

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// peerHealth is what this controller, while it leads, knows of its followers:
// Raft reports a follower whose heartbeats fail (FailedHeartbeatObservation,
// with when it last answered) and one whose heartbeats answer again
// (ResumedHeartbeatObservation). Entries are kept with the term they were seen
// in, so what an earlier leadership saw is not reported as current.
type peerHealth struct {
	mu      sync.Mutex
	failing map[string]peerFailing
	// silentSince is when a follower first did not answer the leader's health
	// probe (see probePeers); cleared when it answers.
	silentSince map[string]time.Time
}

// peerProbeTimeout bounds the leader's health probe of a follower, and
// peerProbeEvery is how often the leader probes them.
const (
	peerProbeTimeout = 700 * time.Millisecond
	peerProbeEvery   = time.Second
)

// probePeers runs while this controller leads: every peerProbeEvery it asks every
// other controller's API, at once, whether it answers, and notes since when each
// one that did not has been silent. Raft reports a follower whose heartbeats fail
// only once its transport times out (some 10 s and more for a paused process,
// whose socket still accepts), and a new leader knows nothing of its followers
// yet: without the probe it would call a paused controller up right after taking
// over, when operators look. It runs in the background so that no status call
// waits on a silent peer.
func (c *Controller) probePeers(ctx context.Context) {
	c.peerHealth.mu.Lock()
	c.peerHealth.silentSince = map[string]time.Time{}
	c.peerHealth.mu.Unlock()
	t := time.NewTicker(peerProbeEvery)
	defer t.Stop()
	for {
		var peers []*pb.ControllerInfo
		c.fsm.read(func(s *state) {
			for _, id := range sortedKeys(s.controllers) {
				if ci := s.controllers[id]; id != c.id && ci.ApiAddress != "" {
					peers = append(peers, ci)
				}
			}
		})
		answered := make([]bool, len(peers))
		var wg sync.WaitGroup
		for i, p := range peers {
			cc, err := c.fwd.conn(p.ApiAddress)
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, peerProbeTimeout)
				defer cancel()
				_, err := healthpb.NewHealthClient(cc).Check(pctx, &healthpb.HealthCheckRequest{})
				answered[i] = err == nil
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		now := c.now()
		c.peerHealth.mu.Lock()
		for i, p := range peers {
			if answered[i] {
				delete(c.peerHealth.silentSince, p.Id)
			} else if _, ok := c.peerHealth.silentSince[p.Id]; !ok {
				c.peerHealth.silentSince[p.Id] = now.Add(-peerProbeTimeout)
			}
		}
		c.peerHealth.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type peerFailing struct {
	term        uint64
	since       time.Time // first failure seen in term
	lastContact time.Time // when it last answered (zero if never, as far as Raft knows)
}

// watchPeerHealth feeds peerHealth from Raft's heartbeat observations until the
// controller stops. The observer never blocks Raft: a full channel drops an
// observation, and the next failed heartbeat repeats it.
func (c *Controller) watchPeerHealth() {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	c.raft.RegisterObserver(obs)
	defer c.raft.DeregisterObserver(obs)
	for {
		select {
		case <-c.ctx.Done():
			return
		case o := <-ch:
			term := c.raft.CurrentTerm()
			c.peerHealth.mu.Lock()
			if c.peerHealth.failing == nil {
				c.peerHealth.failing = map[string]peerFailing{}
			}
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				id := string(d.PeerID)
				f, ok := c.peerHealth.failing[id]
				if !ok || f.term != term {
					f = peerFailing{term: term, since: c.now()}
				}
				f.lastContact = d.LastContact
				c.peerHealth.failing[id] = f
			case raft.ResumedHeartbeatObservation:
				delete(c.peerHealth.failing, string(d.PeerID))
			}
			c.peerHealth.mu.Unlock()
		}
	}
}

// fillHealth sets each peer's health as this controller sees it: the leader
// knows every follower; a follower knows itself and the leader, and asks the
// leader about the others (answering "unknown" when it cannot).
func (c *Controller) fillHealth(ctx context.Context, peers []*pb.ControllerPeer) {
	now := c.now()
	switch c.raft.State() {
	case raft.Leader:
		term := c.raft.CurrentTerm()
		c.peerHealth.mu.Lock()
		defer c.peerHealth.mu.Unlock()
		for _, p := range peers {
			f, ok := c.peerHealth.failing[p.Id]
			if since, quiet := c.peerHealth.silentSince[p.Id]; quiet && p.Id != c.id && (!ok || f.term != term) {
				p.Health, p.UnreachableMs = "unreachable", now.Sub(since).Milliseconds()
				continue
			}
			if p.Id == c.id || !ok || f.term != term {
				p.Health = "up"
				continue
			}
			p.Health = "unreachable"
			from := f.since
			if !f.lastContact.IsZero() && f.lastContact.Before(from) {
				from = f.lastContact
			}
			p.UnreachableMs = now.Sub(from).Milliseconds()
			if !f.lastContact.IsZero() {
				p.LastContactMs = now.Sub(f.lastContact).Milliseconds()
			}
		}
		return
	}
	lid, laddr := c.leaderAPIAddr()
	var fromLeader map[string]*pb.ControllerPeer
	// A silent leader (paused, cut off) is not asked: it would only hold the
	// answer up.
	if _, silent := c.leaderSilence(); laddr != "" && lid != c.id && !silent {
		if cc, err := c.fwd.conn(laddr); err == nil {
			// The leader checks the caller's own credentials, as for a forwarded call.
			actx, cancel := context.WithTimeout(withCallerCredentials(ctx), time.Second)
			if st, err := pb.NewClusterServiceClient(cc).GetStatus(actx, &pb.GetStatusRequest{}); err == nil && st.Id == lid {
				fromLeader = map[string]*pb.ControllerPeer{}
				for _, p := range st.Peers {
					fromLeader[p.Id] = p
				}
			}
			cancel()
		}
	}
	last := c.raft.LastContact()
	for _, p := range peers {
		switch {
		case p.Id == c.id:
			p.Health = "up"
		case p.Id == lid:
			p.Health = "up"
			if !last.IsZero() {
				p.LastContactMs = now.Sub(last).Milliseconds()
				if now.Sub(last) > c.cfg.ElectionTimeout {
					p.Health, p.UnreachableMs = "unreachable", p.LastContactMs
				}
			}
		case fromLeader[p.Id] != nil && fromLeader[p.Id].Health != "":
			lp := fromLeader[p.Id]
			p.Health, p.LastContactMs, p.UnreachableMs = lp.Health, lp.LastContactMs, lp.UnreachableMs
		default:
			p.Health = "unknown"
		}
	}
}
