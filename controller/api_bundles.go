package controller

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// BundleFormat reads prototype bundles for the controller, which knows nothing
// of their content (the simulation does; cmd wires it in).
type BundleFormat interface {
	// Parse checks an uploaded bundle file and returns the bundle.
	Parse(data []byte) (ParsedBundle, error)
	// Builtin is the bundle every build carries.
	Builtin() ParsedBundle
	// CheckMap returns the error a node would meet generating the built-in map
	// mapName with the bundle of this canonical form.
	CheckMap(canonical []byte, mapName string, seed uint64) error
}

// checkMapBundle refuses a surface of a built-in map that cannot be generated
// with the uploaded bundle it names (the map is built from a resource or entity
// the bundle lacks): the surface would fail on every node it is placed on.
func (c *Controller) checkMapBundle(req *pb.CreateSurfaceRequest, hash string) error {
	if c.cfg.Bundles == nil || hash == "" || req.FromSave != "" || len(req.Save) > 0 {
		return nil
	}
	if b := c.builtinBundle(); b != nil && b.Hash == hash {
		return nil
	}
	mapName := req.Map
	if mapName == "" {
		mapName = "starter"
	}
	data, err := c.blobs.ReadAll(hash)
	if err != nil {
		return nil // not held here yet: the node checks it
	}
	if err := c.cfg.Bundles.CheckMap(data, mapName, req.Seed); err != nil {
		return status.Errorf(codes.InvalidArgument, "surface %s: map %s cannot be generated with bundle %s: %v; pick a map the bundle has everything for (--map, or --map FILE with a save made with it)",
			req.Name, mapName, validate.Quote(req.Bundle), err)
	}
	return nil
}

// ParsedBundle is a prototype bundle as the controller keeps it.
type ParsedBundle struct {
	// Canonical is the bundle's canonical form; its sha256 is Hash.
	Canonical []byte
	Hash      string
	// Name and Version are what the bundle's own data says.
	Name, Version string
}

type bundleAPI struct {
	pb.UnimplementedBundleServiceServer
	c *Controller
}

// builtinBundle describes the built-in bundle (nil when none is wired in).
func (c *Controller) builtinBundle() *pb.BundleInfo {
	if c.cfg.Bundles == nil {
		return nil
	}
	b := c.cfg.Bundles.Builtin()
	return &pb.BundleInfo{Name: validate.NameFrom(b.Name), Hash: b.Hash, Size: uint64(len(b.Canonical)), BundleName: b.Name, Version: b.Version, Builtin: true}
}

// storeBuiltinBundle puts the built-in bundle's canonical form in the blob
// store, so a node of another build can fetch it like any uploaded bundle.
func (c *Controller) storeBuiltinBundle() error {
	if c.cfg.Bundles == nil {
		return nil
	}
	_, err := c.blobs.Put(c.cfg.Bundles.Builtin().Canonical)
	return err
}

// findBundle resolves a bundle reference (name, hash or hash prefix) against
// the built-in bundle and the uploaded ones.
func (c *Controller) findBundle(s *state, ref string) *pb.BundleInfo {
	if b := c.builtinBundle(); b != nil && (ref == b.Name || ref == b.Hash || (len(ref) >= 8 && strings.HasPrefix(b.Hash, ref))) {
		return b
	}
	return s.bundleByRef(ref)
}

// knownBundle reports whether the cluster has the bundle with hash h: the
// built-in one, one the catalog lists, or an uploaded one. A controller that
// was given neither a catalog of bundles nor a bundle format accepts any.
func (c *Controller) knownBundle(s *state, h string) bool {
	if len(c.cfg.Catalog.Bundles) == 0 && c.cfg.Bundles == nil {
		return true
	}
	if b := c.builtinBundle(); b != nil && b.Hash == h {
		return true
	}
	return contains(c.cfg.Catalog.Bundles, h) || s.bundleByHash(h) != nil
}

// bundleChoices lists the bundles the cluster has, for messages.
func (c *Controller) bundleChoices(s *state) string {
	var out []string
	if b := c.builtinBundle(); b != nil {
		out = append(out, bundleLabel(b.Name, b.Hash))
	}
	for _, n := range sortedKeys(s.bundles) {
		out = append(out, bundleLabel(n, s.bundles[n].Hash))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// unknownBundle is the error for a save or surface whose bundle the cluster
// does not have.
func (c *Controller) unknownBundle(what, h string) error {
	var have string
	c.fsm.read(func(s *state) { have = c.bundleChoices(s) })
	return status.Errorf(codes.FailedPrecondition, "%s made with prototype bundle (%s…), which this cluster does not have (it has %s): upload that bundle first with starlane bundle upload FILE",
		what, short(h), have)
}

func (a *bundleAPI) UploadBundle(ss pb.BundleService_UploadBundleServer) error {
	c := a.c
	if c.cfg.Bundles == nil {
		return status.Error(codes.Unimplemented, "this controller takes no bundle uploads")
	}
	m, err := ss.Recv()
	if err != nil {
		return err
	}
	start := m.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first message of an upload must be its start")
	}
	if err := (validate.Checker{}).Request(start); err != nil {
		return err
	}
	if err := c.acceptUpload(start.Sha256, start.Size, "bundle",
		func(offset uint64) error {
			return ss.Send(&pb.UploadBundleResponse{Msg: &pb.UploadBundleResponse_Ready{Ready: &pb.UploadSaveReady{Offset: offset}}})
		},
		func() ([]byte, error) {
			m, err := ss.Recv()
			return m.GetChunk(), err
		}); err != nil {
		return err
	}
	info, err := c.checkBundle(start.Sha256, start.Name)
	if err != nil {
		return err
	}
	held, err := c.replicateBlob(ss.Context(), info.Hash, int64(info.Size))
	if err != nil {
		return err
	}
	reply := &pb.PutBundleResponse{}
	if err := c.fwd.call(ss.Context(), pb.BundleService_PutBundle_FullMethodName, &pb.PutBundleRequest{RequestId: start.RequestId, Bundle: info}, reply); err != nil {
		return err
	}
	done := &pb.UploadBundleDone{Bundle: reply.Bundle, Index: reply.Index, Replicas: uint32(held)}
	return ss.Send(&pb.UploadBundleResponse{Msg: &pb.UploadBundleResponse_Done{Done: done}})
}

// checkBundle parses an uploaded file, stores the bundle's canonical form under
// its hash and returns its record. The uploaded file is dropped unless it
// already was the canonical form; a file that is no bundle is refused.
func (c *Controller) checkBundle(fileHash, name string) (*pb.BundleInfo, error) {
	data, err := c.blobs.ReadAll(fileHash)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read stored bundle: %v", err)
	}
	p, err := c.cfg.Bundles.Parse(data)
	if err != nil {
		c.dropUpload(fileHash)
		return nil, status.Errorf(codes.InvalidArgument, "the file is not a prototype bundle Starlane can load: %v", err)
	}
	if p.Hash != fileHash {
		c.dropUpload(fileHash)
	}
	if name == "" {
		if name = validate.NameFrom(p.Name); name == "" {
			return nil, status.Errorf(codes.InvalidArgument, "the bundle's own name %s makes no bundle name; pass --name", validate.Quote(p.Name))
		}
	}
	if b := c.builtinBundle(); b != nil {
		if p.Hash == b.Hash {
			return nil, status.Errorf(codes.AlreadyExists, "this is the built-in bundle %s; every node has it already", bundleLabel(b.Name, b.Hash))
		}
		if name == b.Name {
			return nil, status.Errorf(codes.AlreadyExists, "%s is the built-in bundle's name; pick another --name", name)
		}
	}
	var clash error
	c.fsm.read(func(s *state) {
		if old := s.bundles[name]; old != nil && old.Hash != p.Hash {
			clash = status.Errorf(codes.AlreadyExists, "bundle %s already exists with other content %s; delete it first or pick another --name", name, bundleLabel(old.Name, old.Hash))
		} else if other := s.bundleByHash(p.Hash); other != nil && other.Name != name {
			clash = status.Errorf(codes.AlreadyExists, "this content is already bundle %s", bundleLabel(other.Name, other.Hash))
		}
	})
	if clash != nil {
		return nil, clash
	}
	if _, err := c.blobs.Put(p.Canonical); err != nil {
		return nil, status.Errorf(codes.Internal, "store bundle: %v", err)
	}
	return &pb.BundleInfo{Name: name, Hash: p.Hash, Size: uint64(len(p.Canonical)), BundleName: p.Name, Version: p.Version}, nil
}

func (a *bundleAPI) PutBundle(ctx context.Context, req *pb.PutBundleRequest) (*pb.PutBundleResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_PutBundle{PutBundle: &pb.PutBundleCmd{Bundle: req.Bundle}}})
	if err != nil {
		return nil, err
	}
	out := &pb.PutBundleResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) { out.Bundle = s.bundles[req.Bundle.Name] })
	return out, nil
}

func (a *bundleAPI) ListBundles(ctx context.Context, _ *pb.ListBundlesRequest) (*pb.ListBundlesResponse, error) {
	out := &pb.ListBundlesResponse{}
	if b := a.c.builtinBundle(); b != nil {
		out.Bundles = append(out.Bundles, b)
	}
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		out.Index = s.index
		for _, n := range sortedKeys(s.bundles) {
			out.Bundles = append(out.Bundles, s.bundles[n])
		}
	})
	return out, err
}

func (a *bundleAPI) GetBundle(ctx context.Context, req *pb.GetBundleRequest) (*pb.GetBundleResponse, error) {
	var out *pb.GetBundleResponse
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		if b := a.c.findBundle(s, req.Name); b != nil {
			out = &pb.GetBundleResponse{Bundle: b, Index: s.index}
			out.Surfaces, out.Saves = s.bundleUsers(b.Hash)
		}
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, status.Errorf(codes.NotFound, "there is no bundle %s%s (see: starlane bundle list)", req.Name, shortPrefixHint(req.Name))
	}
	return out, nil
}

func (a *bundleAPI) DeleteBundle(ctx context.Context, req *pb.DeleteBundleRequest) (*pb.DeleteBundleResponse, error) {
	if b := a.c.builtinBundle(); b != nil && (req.Name == b.Name || req.Name == b.Hash) {
		return nil, status.Errorf(codes.FailedPrecondition, "bundle %s is built in and cannot be deleted", bundleLabel(b.Name, b.Hash))
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_DeleteBundle{DeleteBundle: &pb.DeleteBundleCmd{Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	return &pb.DeleteBundleResponse{Index: res.Index}, nil
}

// resolveSurfaceBundle turns a create request's bundle reference into its
// hash and refuses a bundle the cluster does not have.
func (c *Controller) resolveSurfaceBundle(req *pb.CreateSurfaceRequest) (string, error) {
	var hash string
	var err error
	c.fsm.read(func(s *state) {
		switch {
		case req.Bundle != "":
			b := c.findBundle(s, req.Bundle)
			if b == nil {
				err = status.Errorf(codes.InvalidArgument, "surface %s: there is no bundle %s (the cluster has %s); upload it first with starlane bundle upload FILE",
					req.Name, validate.Quote(req.Bundle), c.bundleChoices(s))
				return
			}
			if req.BundleHash != "" && req.BundleHash != b.Hash {
				err = status.Errorf(codes.InvalidArgument, "bundle mismatch: the save was made with bundle (%s…), surface %s asks for bundle %s; leave out --bundle to use the save's",
					short(req.BundleHash), req.Name, bundleLabel(b.Name, b.Hash))
				return
			}
			hash = b.Hash
		case req.BundleHash != "" && !c.knownBundle(s, req.BundleHash):
			err = status.Errorf(codes.InvalidArgument, "surface %s: there is no bundle with hash %s… (the cluster has %s); upload it first with starlane bundle upload FILE",
				req.Name, short(req.BundleHash), c.bundleChoices(s))
		default:
			hash = req.BundleHash
		}
	})
	return hash, err
}
