package controller

import (
	"context"
	"time"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// joinLoop adds this controller to an existing cluster through any of cfg.Join:
// first as a non-voter; once the local FSM has applied the index the leader
// returned, it asks to be promoted to voter. Both steps are idempotent, so a
// restarted controller simply runs them again.
func (c *Controller) joinLoop() {
	backoff := 100 * time.Millisecond
	for voter := false; ; {
		idx, err := c.tryJoin(voter)
		if err == nil {
			if voter {
				c.log.Info("joined the cluster as a voter", "index", idx)
				return
			}
			c.log.Info("joined as non-voter; catching up before promotion", "index", idx)
			if err := c.waitApplied(c.ctx, idx); err != nil {
				return
			}
			voter = true
			continue
		}
		c.log.Warn("join attempt failed; retrying", "err", err, "join", c.cfg.Join)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (c *Controller) tryJoin(voter bool) (uint64, error) {
	var last error
	for _, addr := range c.cfg.Join {
		conn, err := c.fwd.conn(addr)
		if err != nil {
			last = err
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
		resp, err := pb.NewClusterServiceClient(conn).JoinController(ctx, &pb.JoinControllerRequest{
			RequestId: "join-" + randomHex(8), Id: c.id, RaftAddress: c.RaftAddr(), ApiAddress: c.apiAdv, Voter: voter,
		})
		cancel()
		if err == nil {
			return resp.Index, nil
		}
		last = err
	}
	return 0, last
}
