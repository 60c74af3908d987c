package node

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// bundleSet holds the prototype bundles this node can simulate: the built-in
// one and those it fetched from the controllers by hash (kept in its own blob
// store, so a restart has them). Each surface runs with the bundle it names.
type bundleSet struct {
	builtin *sim.Bundle
	store   *blobstore.Store
	mu      sync.Mutex
	byHash  map[string]*sim.Bundle
}

func newBundleSet(builtin *sim.Bundle, store *blobstore.Store) *bundleSet {
	s := &bundleSet{builtin: builtin, store: store, byHash: map[string]*sim.Bundle{builtin.Hash(): builtin}}
	hashes, _ := store.List()
	for _, h := range hashes {
		if b, err := s.load(h); err == nil {
			s.byHash[h] = b
		} else {
			store.Delete(h) // a bundle that no longer loads is fetched again when needed
		}
	}
	return s
}

// load reads a stored bundle and checks that it is the bundle its hash names.
func (s *bundleSet) load(h string) (*sim.Bundle, error) {
	data, err := s.store.ReadAll(h)
	if err != nil {
		return nil, err
	}
	b, err := sim.LoadBundle(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if b.Hash() != h {
		return nil, fmt.Errorf("bundle stored as %s has hash %s", short(h), b.ShortHash())
	}
	return b, nil
}

// held returns the bundles this node holds, sorted by hash.
func (s *bundleSet) held() []*sim.Bundle {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*sim.Bundle, 0, len(s.byHash))
	for _, b := range s.byHash {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hash() < out[j].Hash() })
	return out
}

// cached returns a bundle this node holds, or nil.
func (s *bundleSet) cached(h string) *sim.Bundle {
	if h == "" {
		return s.builtin
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byHash[h]
}

// bundleLabel names a bundle as mismatch messages do: 'name version' (hash…).
func bundleLabel(b *sim.Bundle) string {
	return fmt.Sprintf("'%s' (%s…)", strings.TrimSpace(b.Name+" "+firstWord(b.Version)), b.ShortHash())
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// heldLabels lists the bundles this node holds, for messages.
func (n *Node) heldLabels() string {
	var out []string
	for _, b := range n.bundles.held() {
		out = append(out, bundleLabel(b))
	}
	return strings.Join(out, ", ")
}

// bundleFor returns the bundle surface sf runs with, fetching it from the
// controllers by hash (and checking it) when this node lacks it. A node with
// fixed bundles refuses one it does not hold.
func (n *Node) bundleFor(sf *pb.Surface) (*sim.Bundle, error) {
	want := sf.GetBundleHash()
	if b := n.bundles.cached(want); b != nil {
		return b, nil
	}
	if n.cfg.BundlesFixed {
		return nil, &refusal{fmt.Sprintf("bundle mismatch: surface %s needs bundle (%s…), node %s has %s and fetches no other (it runs with --fixed-bundles)",
			sf.GetName(), short(want), n.id, n.heldLabels())}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := n.ctl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		err := blobstore.Fetch(ctx, pb.NewBlobServiceClient(cc), n.bundles.store, want, validate.MaxBundleBytes)
		if blobstore.Elsewhere(err) {
			// This controller lacks it or its copy is damaged; another has a good one.
			return status.Error(codes.Unavailable, err.Error())
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch prototype bundle %s… for surface %s from the controllers: %w", short(want), sf.GetName(), err)
	}
	b, err := n.bundles.load(want)
	if err != nil {
		n.bundles.store.Delete(want)
		return nil, &refusal{fmt.Sprintf("node %s cannot load prototype bundle %s… of surface %s: %v", n.id, short(want), sf.GetName(), err)}
	}
	n.bundles.mu.Lock()
	n.bundles.byHash[want] = b
	n.bundles.mu.Unlock()
	n.log.Info("fetched prototype bundle", "bundle", b.Name, "hash", b.ShortHash(), "surface", sf.GetName())
	return b, nil
}

// surfaceBundle returns the bundle a surface hosted here runs with (the
// built-in one when the surface names none or is not here).
func (n *Node) surfaceBundle(surface string) *sim.Bundle {
	n.mu.Lock()
	var want string
	if h := n.shards[surface]; h != nil && h.asg != nil {
		want = h.asg.Surface.GetBundleHash()
	}
	n.mu.Unlock()
	if b := n.bundles.cached(want); b != nil {
		return b
	}
	return n.bundles.builtin
}
