package controller

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Saves a surface starts from travel as content, never as a path. An upload
// lands in one controller's blob store, is copied to a majority of controllers,
// and only then is recorded here: the Raft log carries the hash and metadata,
// never the content. Every controller fetches the content of a recorded save it
// lacks (blobsync.go), and a node fetches it by hash and checks it. A node
// therefore opens no file a request names.

func (s *state) applyPutSave(index uint64, now int64, c *pb.PutSaveCmd) (codes.Code, string) {
	in := c.GetSave()
	if in == nil || !nameRE.MatchString(in.Name) {
		return fail(codes.InvalidArgument, "a save needs a name")
	}
	if old := s.saves[in.Name]; old != nil {
		if old.Sha256 == in.Sha256 {
			return codes.OK, "" // the same upload again
		}
		return fail(codes.AlreadyExists, "save %s already exists with other content (%s); delete it first or pick another --name", in.Name, old.Sha256[:12])
	}
	sv := proto.Clone(in).(*pb.SaveInfo)
	sv.CreatedUnixMs, sv.CreateIndex = now, index
	s.saves[sv.Name] = sv
	s.contentGen++
	s.event(index, now, "save.uploaded", sv.Name, fmt.Sprintf("save %s uploaded (%d bytes, %s, tick %d)", sv.Name, sv.Size, sv.Sha256[:12], sv.Tick))
	return codes.OK, ""
}

func (s *state) applyDeleteSave(index uint64, now int64, c *pb.DeleteSaveCmd) (codes.Code, string) {
	sv := s.saves[c.Name]
	if sv == nil {
		return fail(codes.NotFound, "save %s not found%s (see: starlane save list)", c.Name, shortPrefixHint(c.Name))
	}
	if users := s.surfacesUsing(sv.Sha256); len(users) > 0 {
		return fail(codes.FailedPrecondition, "save %s is what surface %s starts from; delete the surface first", c.Name, users[0])
	}
	delete(s.saves, c.Name)
	s.contentGen++
	s.event(index, now, "save.deleted", c.Name, "save "+c.Name+" deleted")
	return codes.OK, ""
}

// saveByRef finds a save by name or sha256.
func (s *state) saveByRef(ref string) *pb.SaveInfo {
	if sv := s.saves[ref]; sv != nil {
		return sv
	}
	for _, n := range sortedKeys(s.saves) {
		if s.saves[n].Sha256 == ref {
			return s.saves[n]
		}
	}
	return nil
}

// saveByRefOrPrefix is saveByRef that also takes a unique prefix of at least 8
// hex digits of a save's sha256 (the lists print 12). For reads and for the API
// to resolve a reference before it proposes; commands keep saveByRef, whose
// meaning is part of the log.
func (s *state) saveByRefOrPrefix(ref string) *pb.SaveInfo {
	if sv := s.saveByRef(ref); sv != nil {
		return sv
	}
	return byHashPrefix(s.saves, ref, (*pb.SaveInfo).GetSha256)
}

// surfacesUsing lists the surfaces that start from the save with hash h.
func (s *state) surfacesUsing(h string) []string {
	var out []string
	for _, n := range sortedKeys(s.surfaces) {
		if s.surfaces[n].SaveSha256 == h {
			out = append(out, n)
		}
	}
	return out
}

// savedHashes returns the hashes of every recorded save.
func (f *FSM) savedHashes() map[string]uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]uint64, len(f.st.saves))
	for _, sv := range f.st.saves {
		out[sv.Sha256] = sv.Size
	}
	return out
}
