package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim/savefile"
)

// blobChunk is the size of the chunks blobs travel in.
const blobChunk = 1 << 20

type saveAPI struct {
	pb.UnimplementedSaveServiceServer
	c *Controller
}

type blobAPI struct {
	pb.UnimplementedBlobServiceServer
	c *Controller
}

func (a *saveAPI) UploadSave(ss pb.SaveService_UploadSaveServer) error {
	c := a.c
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
	var taken *pb.SaveInfo
	c.fsm.read(func(s *state) { taken = s.saves[start.Name] })
	if taken != nil && taken.Sha256 != start.Sha256 {
		return status.Errorf(codes.AlreadyExists, "save %s already exists with other content (%s); delete it first or pick another --name", start.Name, taken.Sha256[:12])
	}
	if err := c.acceptUpload(start.Sha256, start.Size, "save",
		func(offset uint64) error {
			return ss.Send(&pb.UploadSaveResponse{Msg: &pb.UploadSaveResponse_Ready{Ready: &pb.UploadSaveReady{Offset: offset}}})
		},
		func() ([]byte, error) {
			m, err := ss.Recv()
			return m.GetChunk(), err
		}); err != nil {
		return err
	}
	info, err := c.checkSave(start.Sha256)
	if err != nil {
		return err
	}
	info.Name, info.Surface, info.Planet, info.Tick = start.Name, start.Surface, start.Planet, start.Tick
	done, err := c.recordSave(ss.Context(), start.RequestId, info)
	if err != nil {
		return err
	}
	return ss.Send(&pb.UploadSaveResponse{Msg: &pb.UploadSaveResponse_Done{Done: done}})
}

// acceptUpload answers an upload's start with the offset to resume from (all of
// it when the store already holds the content whole) and takes the rest of the
// stream: into the blob store, or drained when there is nothing left to write.
func (c *Controller) acceptUpload(hash string, size uint64, what string, ready func(offset uint64) error, recv func() ([]byte, error)) error {
	offset := c.blobs.Partial(hash)
	have, whole := c.blobs.Size(hash)
	if whole {
		offset = have
	}
	if err := ready(uint64(offset)); err != nil {
		return err
	}
	if whole {
		return drain(recv)
	}
	return receiveBlob(c.blobs, hash, size, offset, recv, what)
}

// receiveBlob appends an upload's chunks (what recv returns until io.EOF) to
// the blob's partial file from offset and commits it once the declared size has
// arrived. what names the content in messages.
func receiveBlob(blobs *blobstore.Store, hash string, size uint64, offset int64, recv func() ([]byte, error), what string) error {
	w, err := blobs.Append(hash, offset, int64(size))
	if err != nil {
		return status.Errorf(codes.Internal, "store upload: %v", err)
	}
	for {
		chunk, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Close() // the partial file stays: the client resumes from it
			return err
		}
		if _, err := w.Write(chunk); err != nil {
			w.Close()
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
				// The part received is dropped: kept, it would leave the controller
				// no room for its Raft log. Not retried by clients.
				blobs.Delete(hash)
				return status.Errorf(codes.ResourceExhausted, "disk full on this controller after %d of the %s's %d bytes (%v); the partial upload was dropped. Free space in its data dir and run the command again",
					w.Size(), what, size, err)
			}
			return status.Errorf(codes.InvalidArgument, "%v: the upload said %d bytes", err, size)
		}
	}
	if w.Size() != int64(size) {
		w.Close()
		return status.Errorf(codes.InvalidArgument, "the upload ended after %d of the %d bytes it announced; run it again to resume", w.Size(), size)
	}
	if err := w.Commit(); err != nil {
		if errors.Is(err, blobstore.ErrHashMismatch) {
			return status.Errorf(codes.InvalidArgument, "the uploaded content does not match its sha256 %s", hash)
		}
		return status.Errorf(codes.Internal, "store upload: %v", err)
	}
	return nil
}

func drain(recv func() ([]byte, error)) error {
	for {
		if _, err := recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// checkSave reads a stored blob's save header and checksum; a blob that is not
// a save this cluster can load is deleted and refused.
func (c *Controller) checkSave(hash string) (*pb.SaveInfo, error) {
	data, err := c.blobs.ReadAll(hash)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read stored save: %v", err)
	}
	max := c.cfg.Catalog.SaveVersion
	if max == 0 {
		max = math.MaxUint32
	}
	h, err := savefile.Check(data, max)
	if err != nil {
		c.dropUpload(hash)
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	var known bool
	c.fsm.read(func(s *state) { known = c.knownBundle(s, h.BundleHash) })
	if !known {
		c.dropUpload(hash)
		return nil, c.unknownBundle("the save was", h.BundleHash)
	}
	return &pb.SaveInfo{Sha256: hash, Size: uint64(len(data)), FormatVersion: h.Version, BundleHash: h.BundleHash}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// recordSave copies a stored save to a majority of controllers, then records it
// through the leader.
func (c *Controller) recordSave(ctx context.Context, requestID string, info *pb.SaveInfo) (*pb.UploadSaveDone, error) {
	held, err := c.replicateBlob(ctx, info.Sha256, int64(info.Size))
	if err != nil {
		return nil, err
	}
	reply := &pb.PutSaveResponse{}
	if err := c.fwd.call(ctx, pb.SaveService_PutSave_FullMethodName, &pb.PutSaveRequest{RequestId: requestID, Save: info}, reply); err != nil {
		return nil, err
	}
	return &pb.UploadSaveDone{Save: reply.Save, Index: reply.Index, Replicas: uint32(held)}, nil
}

// replicateBlob asks every other controller to fetch a blob from this one and
// returns once a majority (this one included) holds it; the rest catch up in
// the background (and through blobsync).
func (c *Controller) replicateBlob(ctx context.Context, hash string, size int64) (int, error) {
	peers, err := c.peers()
	if err != nil {
		return 0, status.Errorf(codes.Unavailable, "list controllers: %v", err)
	}
	need := len(peers)/2 + 1
	held := 1
	results := make(chan error, len(peers))
	asked := 0
	for _, p := range peers {
		if p.Id == c.id || p.ApiAddress == "" {
			continue
		}
		asked++
		go func(addr string) {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			cc, err := c.fwd.conn(addr)
			if err == nil {
				_, err = pb.NewBlobServiceClient(cc).WantBlob(wctx, &pb.WantBlobRequest{Sha256: hash, Size: uint64(size), From: c.apiAdv})
			}
			results <- err
		}(p.ApiAddress)
	}
	var errs []string
	for held < need && asked > 0 {
		select {
		case err := <-results:
			asked--
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			held++
		case <-ctx.Done():
			return held, status.FromContextError(ctx.Err()).Err()
		}
	}
	if held < need {
		return held, status.Errorf(codes.Unavailable, "the upload reached only %d of the %d controllers a majority needs (%s); retry: the upload resumes", held, need, strings.Join(errs, "; "))
	}
	return held, nil
}

func (a *saveAPI) PutSave(ctx context.Context, req *pb.PutSaveRequest) (*pb.PutSaveResponse, error) {
	// The controller that took the upload checked the bundle against its own
	// view, which may not have applied a bundle delete yet: the leader checks
	// again against everything committed.
	if h := req.GetSave().GetBundleHash(); h != "" {
		if err := a.c.linearize(ctx); err != nil {
			return nil, err
		}
		var known bool
		a.c.fsm.read(func(s *state) { known = a.c.knownBundle(s, h) })
		if !known {
			return nil, a.c.unknownBundle("the save was", h)
		}
	}
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_PutSave{PutSave: &pb.PutSaveCmd{Save: req.Save}}})
	if err != nil {
		return nil, err
	}
	out := &pb.PutSaveResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) { out.Save = s.saves[req.Save.Name] })
	return out, nil
}

func (a *saveAPI) ListSaves(ctx context.Context, _ *pb.ListSavesRequest) (*pb.ListSavesResponse, error) {
	out := &pb.ListSavesResponse{}
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		out.Index = s.index
		for _, n := range sortedKeys(s.saves) {
			out.Saves = append(out.Saves, s.saves[n])
		}
	})
	return out, err
}

func (a *saveAPI) GetSave(ctx context.Context, req *pb.GetSaveRequest) (*pb.GetSaveResponse, error) {
	var out *pb.GetSaveResponse
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		if sv := s.saveByRefOrPrefix(req.Name); sv != nil {
			out = &pb.GetSaveResponse{Save: sv, Surfaces: s.surfacesUsing(sv.Sha256), Index: s.index}
		}
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, status.Errorf(codes.NotFound, "there is no save %s%s (see: starlane save list)", req.Name, shortPrefixHint(req.Name))
	}
	if _, ok := a.c.blobs.Size(out.Save.Sha256); ok {
		out.HeldBy = []string{a.c.id}
	}
	return out, nil
}

func (a *saveAPI) DeleteSave(ctx context.Context, req *pb.DeleteSaveRequest) (*pb.DeleteSaveResponse, error) {
	res, err := a.c.propose(ctx, &pb.Command{RequestId: req.RequestId, Op: &pb.Command_DeleteSave{DeleteSave: &pb.DeleteSaveCmd{Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	return &pb.DeleteSaveResponse{Index: res.Index}, nil
}

// FetchBlob streams a blob, checking its hash as it goes: a copy found damaged
// ends the stream with DataLoss instead of its last chunk (see blobDamaged).
func (a *blobAPI) FetchBlob(req *pb.FetchBlobRequest, ss pb.BlobService_FetchBlobServer) error {
	r, total, err := a.c.blobs.OpenChecked(req.Sha256, int64(req.Offset))
	if errors.Is(err, blobstore.ErrHashMismatch) {
		defer r.Close()
		return a.c.blobDamaged(r, req.Sha256)
	}
	if err != nil {
		return status.Errorf(codes.NotFound, "controller %s does not hold blob %s", a.c.id, req.Sha256[:12])
	}
	defer r.Close()
	buf := make([]byte, blobChunk)
	first := true
	for {
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, blobstore.ErrHashMismatch) {
			return a.c.blobDamaged(r, req.Sha256)
		}
		if n > 0 || first {
			msg := &pb.BlobChunk{Data: buf[:n]}
			if first {
				msg.Total, first = uint64(total), false
			}
			if err := ss.Send(msg); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return status.Errorf(codes.Internal, "read blob: %v", err)
		}
	}
}

func (a *blobAPI) WantBlob(ctx context.Context, req *pb.WantBlobRequest) (*pb.WantBlobResponse, error) {
	if err := a.c.fetchBlob(ctx, req.Sha256, int64(req.Size), []string{req.From}); err != nil {
		return nil, err
	}
	return &pb.WantBlobResponse{}, nil
}

// fetchBlob makes this controller hold a blob, fetching it (resuming a partial
// transfer) from the first of addrs that has it.
func (c *Controller) fetchBlob(ctx context.Context, hash string, size int64, addrs []string) error {
	if _, ok := c.blobs.Size(hash); ok {
		return nil
	}
	var errs []string
	for _, addr := range addrs {
		if addr == c.apiAdv {
			continue
		}
		cc, err := c.fwd.conn(addr)
		if err == nil {
			err = blobstore.Fetch(ctx, pb.NewBlobServiceClient(cc), c.blobs, hash, size)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	return status.Errorf(codes.Unavailable, "fetch blob %s: %s", hash[:12], strings.Join(errs, "; "))
}

// storeInlineSave stores the save content of a CreateSurface request as an
// upload named after its file (or the surface) would be, and returns it.
func (c *Controller) storeInlineSave(ctx context.Context, req *pb.CreateSurfaceRequest) (*pb.SaveInfo, error) {
	hash, err := c.blobs.Put(req.Save)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "store save: %v", err)
	}
	info, err := c.checkSave(hash)
	if err != nil {
		return nil, err
	}
	info.Name = saveName(req.SaveName, req.Name)
	c.fsm.read(func(s *state) {
		if old := s.saves[info.Name]; old != nil && old.Sha256 != hash {
			info.Name = saveName(info.Name[:min(len(info.Name), 50)]+"-"+hash[:8], req.Name)
		}
	})
	done, err := c.recordSave(ctx, "", info)
	if err != nil {
		return nil, err
	}
	return done.Save, nil
}

// saveName makes a save name from a file name; the surface's name when nothing
// is left.
func saveName(file, surface string) string {
	if name := validate.NameFrom(file); name != "" {
		return name
	}
	return surface
}
