package controller

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/controller/scheduler"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Prototype bundles are mod packs: an upload is parsed by the controller that
// receives it, which stores the bundle's canonical form under its content hash
// (so the blob's sha256 is the bundle hash every surface, save and player
// names), copies it to a majority of controllers and records it here. Nodes
// fetch a bundle they lack by that hash. The built-in bundle is not recorded:
// every build carries it, and a node reports it among the bundles it holds.

func (s *state) applyPutBundle(index uint64, now int64, c *pb.PutBundleCmd) (codes.Code, string) {
	in := c.GetBundle()
	if in == nil || !nameRE.MatchString(in.Name) {
		return fail(codes.InvalidArgument, "a bundle needs a name")
	}
	if old := s.bundles[in.Name]; old != nil {
		if old.Hash == in.Hash {
			return codes.OK, "" // the same upload again
		}
		return fail(codes.AlreadyExists, "bundle %s already exists with other content %s; delete it first or pick another --name", in.Name, bundleLabel(old.Name, old.Hash))
	}
	if other := s.bundleByHash(in.Hash); other != nil {
		return fail(codes.AlreadyExists, "this content is already bundle %s; use that name", bundleLabel(other.Name, other.Hash))
	}
	b := proto.Clone(in).(*pb.BundleInfo)
	b.CreatedUnixMs, b.CreateIndex, b.Builtin = now, index, false
	s.bundles[b.Name] = b
	s.contentGen++
	s.event(index, now, "bundle.uploaded", b.Name, fmt.Sprintf("bundle %s uploaded (%s %s, %d bytes)", bundleLabel(b.Name, b.Hash), b.BundleName, b.Version, b.Size))
	return codes.OK, ""
}

func (s *state) applyDeleteBundle(index uint64, now int64, c *pb.DeleteBundleCmd) (codes.Code, string) {
	b := s.bundleByRef(c.Name)
	if b == nil {
		return fail(codes.NotFound, "there is no uploaded bundle %s%s (see: starlane bundle list; the built-in bundle cannot be deleted)", c.Name, shortPrefixHint(c.Name))
	}
	surfaces, saves := s.bundleUsers(b.Hash)
	if len(surfaces)+len(saves) > 0 {
		var users []string
		if len(surfaces) > 0 {
			users = append(users, "surface "+strings.Join(surfaces, ", "))
		}
		if len(saves) > 0 {
			users = append(users, "save "+strings.Join(saves, ", "))
		}
		return fail(codes.FailedPrecondition, "bundle %s is in use by %s; delete those first", bundleLabel(b.Name, b.Hash), strings.Join(users, " and "))
	}
	delete(s.bundles, b.Name)
	s.contentGen++
	s.event(index, now, "bundle.deleted", b.Name, "bundle "+bundleLabel(b.Name, b.Hash)+" deleted")
	return codes.OK, ""
}

// bundleByHash finds an uploaded bundle by its hash.
func (s *state) bundleByHash(h string) *pb.BundleInfo {
	for _, n := range sortedKeys(s.bundles) {
		if s.bundles[n].Hash == h {
			return s.bundles[n]
		}
	}
	return nil
}

// bundleByRef finds an uploaded bundle by name, hash or a hash prefix of at
// least 8 hex digits that only one bundle has.
func (s *state) bundleByRef(ref string) *pb.BundleInfo {
	if b := s.bundles[ref]; b != nil {
		return b
	}
	if b := s.bundleByHash(ref); b != nil {
		return b
	}
	return byHashPrefix(s.bundles, ref, (*pb.BundleInfo).GetHash)
}

// shortPrefixHint explains, for a reference that names nothing and looks like
// a hash prefix, why it was not taken as one.
func shortPrefixHint(ref string) string {
	if ref != "" && len(ref) < 8 && strings.Trim(ref, "0123456789abcdef") == "" {
		return " (a hash prefix needs 8 or more hex digits)"
	}
	return ""
}

// byHashPrefix finds the entry of m whose content hash starts with prefix (at
// least 8 hex digits, as the lists print 12): nil when none does or entries with
// different hashes do.
func byHashPrefix[T any](m map[string]*T, prefix string, hash func(*T) string) *T {
	if len(prefix) < 8 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil
	}
	var found *T
	for _, n := range sortedKeys(m) {
		if h := hash(m[n]); strings.HasPrefix(h, prefix) {
			if found != nil && hash(found) != h {
				return nil // ambiguous
			}
			found = m[n]
		}
	}
	return found
}

// bundleUsers lists the surfaces and saves that need the bundle with hash h.
func (s *state) bundleUsers(h string) (surfaces, saves []string) {
	for _, n := range sortedKeys(s.surfaces) {
		if s.surfaces[n].BundleHash == h {
			surfaces = append(surfaces, n)
		}
	}
	for _, n := range sortedKeys(s.saves) {
		if s.saves[n].BundleHash == h {
			saves = append(saves, n)
		}
	}
	return surfaces, saves
}

// nodeCanGet reports whether node n holds the bundle with hash h or can fetch
// it (it fetches bundles and the cluster has this one).
func (s *state) nodeCanGet(n *pb.Node, h string) bool {
	return h == "" || slices.Contains(n.Bundles, h) || (!n.BundlesFixed && s.bundleByHash(h) != nil)
}

// bundleNames maps bundle hashes to names: the names nodes report for the
// bundles they hold, and the uploaded bundles' names over them.
func (s *state) bundleNames() map[string]string {
	out := make(map[string]string, len(s.bundles))
	for _, id := range sortedKeys(s.nodes) {
		n := s.nodes[id]
		for i, h := range n.Bundles {
			if i < len(n.BundleNames) && n.BundleNames[i] != "" {
				out[h] = n.BundleNames[i]
			}
		}
	}
	for _, b := range s.bundles {
		out[b.Hash] = b.Name
	}
	return out
}

// bundleMismatch is the game-style message for a node that cannot run a
// surface's bundle: it names both sides.
func bundleMismatch(surface, need, node string, has []string, names map[string]string) string {
	return scheduler.BundleMismatch(surface, need, &scheduler.Node{ID: node, Bundles: has, BundleNames: names})
}

// bundleLabel names a bundle as messages do: 'name' (hash prefix…).
func bundleLabel(name, hash string) string {
	h := short(hash) + "…"
	if name == "" {
		return "(" + h + ")"
	}
	return "'" + name + "' (" + h + ")"
}

// bundleHashes returns the hashes of every uploaded bundle with their sizes.
func (f *FSM) bundleHashes() map[string]uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]uint64, len(f.st.bundles))
	for _, b := range f.st.bundles {
		out[b.Hash] = b.Size
	}
	return out
}

// sortedBundles sorts a node's bundle hashes, drops repeats and keeps each
// hash's name beside it (names is nil when no name was reported).
func sortedBundles(hashes, names []string) ([]string, []string) {
	named := map[string]string{}
	for i, h := range hashes {
		if i < len(names) && names[i] != "" {
			named[h] = names[i]
		}
	}
	out := sortedUnique(hashes)
	if len(named) == 0 {
		return out, nil
	}
	outNames := make([]string, len(out))
	for i, h := range out {
		outNames[i] = named[h]
	}
	return out, outNames
}
