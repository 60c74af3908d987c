package controller

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/grpc/codes"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Saves a surface starts from travel as content, never as a path: the client
// reads the file and sends it, the controllers keep it by its sha256 in the
// replicated state, and a node fetches it by hash (NodeService.GetSave) and
// checks the hash. A node therefore opens no file a request names.

// checkSave checks that a create command's save content and hash agree.
func (s *state) checkSave(in *pb.Surface, data []byte) (codes.Code, string) {
	switch {
	case in.SaveSha256 == "" && len(data) == 0:
		return codes.OK, ""
	case in.SaveSha256 == "" || len(data) == 0:
		return fail(codes.InvalidArgument, "surface %s: a save needs both its content and its hash", in.Name)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != in.SaveSha256 {
		return fail(codes.InvalidArgument, "surface %s: the save's content does not match its hash", in.Name)
	}
	return codes.OK, ""
}

// dropSaveIfUnused forgets a save no surface refers to any more.
func (s *state) dropSaveIfUnused(hash string) {
	if hash == "" {
		return
	}
	for _, sf := range s.surfaces {
		if sf.SaveSha256 == hash {
			return
		}
	}
	delete(s.saves, hash)
}

// save returns a stored save's content.
func (f *FSM) save(hash string) ([]byte, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, ok := f.st.saves[hash]
	return b, ok
}
