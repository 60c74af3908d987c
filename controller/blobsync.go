package controller

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/validate"
)

// blobGrace is how long a blob no save records is kept: an upload stores its
// content (and copies it to peers) before the save is recorded.
const blobGrace = 10 * time.Minute

// syncBlobs makes this controller hold the content of every recorded save
// (fetching it from its peers, resuming partial copies) and drops content no
// save records any more. It runs on every controller, leader or not, woken by
// saves and bundles being recorded or removed, by a damaged copy being set
// aside (blobDamaged) and every few seconds (what could not be fetched is tried
// again then) — not by every applied write: a round asks Raft for its
// configuration and lists the blob directory, which once per applied write took
// CPU and leader-loop wake-ups from a stream of writes.
func (c *Controller) syncBlobs() {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		changed := c.fsm.ContentChanged()
		c.syncBlobsOnce(c.wantedBlobs())
		select {
		case <-c.ctx.Done():
			return
		case <-changed:
		case <-c.blobKick:
		case <-tick.C:
		}
	}
}

// wantedBlobs is every content the catalog records (saves, uploaded bundles)
// and the built-in bundle, by hash, with its size.
func (c *Controller) wantedBlobs() map[string]uint64 {
	want := c.fsm.savedHashes()
	for h, size := range c.fsm.bundleHashes() {
		want[h] = size
	}
	if b := c.builtinBundle(); b != nil {
		want[b.Hash] = b.Size
	}
	return want
}

// syncBlobsOnce fetches what of want is missing and drops what is neither
// wanted nor recent.
func (c *Controller) syncBlobsOnce(want map[string]uint64) {
	var addrs []string
	if peers, err := c.peers(); err == nil {
		for _, p := range peers {
			if p.Id != c.id && p.ApiAddress != "" {
				addrs = append(addrs, p.ApiAddress)
			}
		}
	}
	for h := range want {
		if _, ok := c.blobs.Size(h); ok || len(addrs) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Minute)
		if err := c.fetchBlob(ctx, h, validate.MaxSaveBytes, addrs); err != nil {
			c.log.Warn("cannot fetch the content of a save or bundle yet", "sha256", h[:12], "err", err)
		}
		cancel()
	}
	have, err := c.blobs.List()
	if err != nil {
		return
	}
	for _, h := range have {
		if _, ok := want[h]; ok {
			continue
		}
		if st, err := os.Stat(filepath.Join(c.cfg.DataDir, "blobs", h)); err == nil && time.Since(st.ModTime()) > blobGrace {
			c.blobs.Delete(h)
		}
	}
}

// dropUpload deletes an uploaded blob that was refused or is not kept, unless a
// recorded save or bundle (or the built-in bundle) has the same content: the
// same file sent as the wrong kind must not cost the cluster its copy.
func (c *Controller) dropUpload(h string) {
	if _, ok := c.fsm.savedHashes()[h]; ok {
		return
	}
	if _, ok := c.fsm.bundleHashes()[h]; ok {
		return
	}
	if b := c.builtinBundle(); b != nil && b.Hash == h {
		return
	}
	c.blobs.Delete(h)
}

// blobDamaged sets aside this controller's copy of a blob whose content was
// found not to match its sha256 while serving it (moved to the store's
// quarantine directory, never deleted), says so in the log, and wakes
// syncBlobs to fetch a good copy from a peer. It returns the error to end the
// transfer with: DataLoss, which clients take as "try another controller".
func (c *Controller) blobDamaged(r *blobstore.Checked, hash string) error {
	moved, err := r.Quarantine(c.now())
	switch {
	case err != nil:
		c.log.Error("the copy of a save or bundle on this controller does not match its sha256 and cannot be set aside",
			"sha256", hash, "err", err)
	case moved != "":
		c.log.Error("the copy of a save or bundle on this controller does not match its sha256: set it aside and fetching it again from a peer",
			"sha256", hash, "moved_to", moved)
	}
	select {
	case c.blobKick <- struct{}{}:
	default:
	}
	return status.Errorf(codes.DataLoss, "controller %s's copy of %s is damaged (its content does not match its sha256); it was set aside and a good copy is being fetched from another controller", c.id, hash[:12])
}
