package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// Autosaves and the final save of a stop. A primary saves its state at a
// confirmed tick (nothing after it has left the shard, so a restart from the
// save sends and acknowledges nothing twice) and uploads it to the controllers,
// which keep it in their blob store as a save of the surface.

// Defaults as the controller's (controller.DefaultAutosaveEveryTicks).
const defaultAutosaveEvery = 5 * 60 * 60

func autosaveEvery(sf *pb.Surface) uint64 {
	if sf.GetAutosaveEveryTicks() > 0 {
		return sf.AutosaveEveryTicks
	}
	return defaultAutosaveEvery
}

// autosaveLoop starts an autosave of each primary whose confirmed tick passed
// a multiple of its interval, and the final save of each primary asked to stop.
// It looks again when the next autosave is due (at most housekeepEvery later),
// when the assignments change (a stop asked for), and every autosaveWatchEvery
// while a save runs or a stop waits for its final save (a failed one is tried
// again then).
func (n *Node) autosaveLoop(ctx context.Context) {
	t := time.NewTimer(housekeepEvery)
	every := housekeepEvery
	for sleep(ctx.Done(), t, every, n.hk.autosaves) {
		every = housekeepEvery
		n.mu.Lock()
		for _, h := range n.shards {
			a, sh := h.asg, h.sh
			if sh == nil || a == nil || h.role != pb.ShardRole_SHARD_ROLE_PRIMARY || sh.Stats().Err != nil {
				continue
			}
			if h.saving {
				every = autosaveWatchEvery
				continue
			}
			sf := a.Surface
			if term := termOf(a); term != h.saveTerm {
				h.saveTerm, h.lastAutosave = term, 0
			}
			if sf.GetStopRequested() {
				if h.stoppedEpoch == a.Epoch {
					continue // saved and recorded; the assignment goes next
				}
				h.saving, every = true, autosaveWatchEvery
				go n.finalSave(ctx, h, a, sh)
				continue
			}
			interval := autosaveEvery(sf)
			last := max(h.lastAutosave, sf.GetLastAutosaveTick())
			conf := sh.Confirmed()
			if conf/interval > last/interval && !sh.Frozen() {
				h.saving, every = true, autosaveWatchEvery
				go n.autosave(ctx, h, a, sh)
				continue
			}
			due := time.Duration((conf/interval+1)*interval-conf) * time.Second / sim.TicksPerSecond
			every = min(every, max(due, autosaveWatchEvery))
		}
		n.mu.Unlock()
	}
}

// autosaveWatchEvery is how soon the autosave loop looks again while a save
// runs or a stop waits, and the least it waits for an autosave due.
const autosaveWatchEvery = 200 * time.Millisecond

func (n *Node) autosave(ctx context.Context, h *hosted, a *pb.NodeAssignment, sh *shard.Shard) {
	defer n.doneSaving(h)
	sv, err := n.saveAndUpload(ctx, a, sh, false)
	if err != nil {
		n.log.Warn("autosave failed; trying again at the next interval", "surface", h.name, "err", err)
		// Not again at once: wait for the next multiple of the interval.
		n.mu.Lock()
		h.lastAutosave = max(h.lastAutosave, sh.Confirmed())
		n.mu.Unlock()
		return
	}
	n.mu.Lock()
	h.lastAutosave = max(h.lastAutosave, sv.Tick)
	n.mu.Unlock()
	n.log.Info("autosaved", "surface", h.name, "tick", sv.Tick, "save", sv.Name, "bytes", sv.Size)
}

// finalSave freezes the primary, saves it at its last confirmed tick and
// records that save as the surface's stopped state; the controller then takes
// the assignment away. It tries until that is recorded or the assignment
// changes; a definite refusal (no longer its primary, stop withdrawn) thaws it.
func (n *Node) finalSave(ctx context.Context, h *hosted, a *pb.NodeAssignment, sh *shard.Shard) {
	defer n.doneSaving(h)
	last, err := sh.Freeze()
	if err != nil {
		n.log.Warn("freeze before the final save", "surface", h.name, "err", err)
		return
	}
	// With standbys, the last ticks are confirmed once they acknowledge them;
	// a tick that never is was never released and is not part of the save.
	for deadline := time.Now().Add(5 * time.Second); sh.Confirmed() < last && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for backoff := 200 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		sv, err := n.saveAndUpload(ctx, a, sh, true)
		if err == nil {
			n.mu.Lock()
			h.stoppedEpoch = a.Epoch
			n.mu.Unlock()
			n.log.Info("surface stopped: final save recorded", "surface", h.name, "tick", sv.Tick, "hash", sv.StateHash, "save", sv.Name)
			return
		}
		if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound {
			n.log.Warn("final save refused; the surface runs on", "surface", h.name, "err", err)
			sh.Thaw()
			return
		}
		n.log.Warn("final save failed; trying again", "surface", h.name, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

func (n *Node) doneSaving(h *hosted) {
	n.mu.Lock()
	h.saving = false
	n.mu.Unlock()
}

// saveAndUpload saves the shard's confirmed state and uploads it.
func (n *Node) saveAndUpload(ctx context.Context, a *pb.NodeAssignment, sh *shard.Shard, final bool) (*pb.SaveInfo, error) {
	st, err := sh.ConfirmedState()
	if err != nil {
		return nil, fmt.Errorf("state at the confirmed tick: %w", err)
	}
	var buf bytes.Buffer
	if err := st.Save(&buf); err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	start := &pb.AutosaveUploadStart{
		RequestId: ctlclient.NewRequestID(), NodeId: n.id, Surface: a.Surface.GetName(), Epoch: a.Epoch,
		Sha256: hex.EncodeToString(sum[:]), Size: uint64(len(data)), Tick: st.Tick(), StateHash: hex16(st.Hash()),
		Planet: a.Surface.GetPlanet(), Final: final,
	}
	uctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out *pb.SaveInfo
	err = n.ctl.Node(uctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		st, err := c.AutosaveUpload(ctx)
		if err != nil {
			return err
		}
		if err := st.Send(&pb.AutosaveUploadRequest{Msg: &pb.AutosaveUploadRequest_Start{Start: start}}); err != nil {
			_, rerr := st.CloseAndRecv()
			return rerr
		}
		for off := 0; off < len(data); off += 1 << 20 {
			chunk := data[off:min(len(data), off+1<<20)]
			if err := st.Send(&pb.AutosaveUploadRequest{Msg: &pb.AutosaveUploadRequest_Chunk{Chunk: chunk}}); err != nil {
				break // the reason comes with CloseAndRecv
			}
		}
		res, err := st.CloseAndRecv()
		if err != nil {
			return err
		}
		out = res.Save
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = &pb.SaveInfo{Tick: start.Tick, StateHash: start.StateHash, Sha256: start.Sha256, Size: start.Size}
	}
	return out, nil
}
