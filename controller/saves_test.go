package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// testSave is a real save of the starter map (the controller reads only its
// header, as it would any upload).
func testSave(t *testing.T, seed uint64) []byte {
	t.Helper()
	s, err := sim.NewMap(sim.DefaultBundle(), "starter", seed, "nauvis")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// upload streams data as save name through controller cc, stopping after stop
// bytes when stop > 0 (an interrupted upload), and returns what the controller
// answered.
func upload(ctx context.Context, cc *grpc.ClientConn, name string, data []byte, stop int) (*pb.UploadSaveDone, uint64, error) {
	st, err := pb.NewSaveServiceClient(cc).UploadSave(ctx)
	if err != nil {
		return nil, 0, err
	}
	start := &pb.UploadSaveStart{RequestId: ctlclient.NewRequestID(), Name: name, Sha256: hashOf(data), Size: uint64(len(data))}
	if err := st.Send(&pb.UploadSaveRequest{Msg: &pb.UploadSaveRequest_Start{Start: start}}); err != nil {
		return nil, 0, err
	}
	m, err := st.Recv()
	if err != nil {
		return nil, 0, err
	}
	off := m.GetReady().GetOffset()
	end := len(data)
	if stop > 0 {
		end = stop
	}
	for o := int(off); o < end; o += 4096 {
		if err := st.Send(&pb.UploadSaveRequest{Msg: &pb.UploadSaveRequest_Chunk{Chunk: data[o:min(o+4096, end)]}}); err != nil {
			break
		}
	}
	st.CloseSend()
	m, err = st.Recv()
	if errors.Is(err, io.EOF) {
		err = status.Error(codes.Unknown, "no answer")
	}
	return m.GetDone(), off, err
}

// TestSaveUploadIsReplicatedAndResumable: a save uploaded through a follower is
// checked, held by a majority before the call returns and by every controller
// soon after, recorded by hash only, resumable after an interruption, and
// refused when it is corrupt, from a newer format, for another bundle, or
// under a name that holds other content.
func TestSaveUploadIsReplicatedAndResumable(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, func(i int, c *Config) {
		c.Catalog.SaveVersion = sim.SaveVersion
		c.Catalog.Bundles = []string{sim.DefaultBundle().Hash()}
	})
	leader := tc.waitLeader(15 * time.Second)
	follower := (leader + 1) % 3
	cc, err := grpc.NewClient(tc.get(follower).APIAddr(), ctlclient.DialOptions(mustCreds(t))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := ctxT(t, 60*time.Second)
	data := testSave(t, 1)

	// Interrupted after 100 bytes, then resumed from there.
	if _, _, err := upload(ctx, cc, "base", data, 100); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "run it again to resume") {
		t.Fatalf("interrupted upload: %v", err)
	}
	done, off, err := upload(ctx, cc, "base", data, 0)
	if err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	if off != 100 {
		t.Errorf("resumed upload started at byte %d; want 100", off)
	}
	if done.Replicas < 2 || done.Save.Sha256 != hashOf(data) || done.Save.FormatVersion != sim.SaveVersion || done.Save.BundleHash != sim.DefaultBundle().Hash() {
		t.Fatalf("upload answered %+v", done)
	}
	waitFor(t, 20*time.Second, "every controller to hold the save", func() bool {
		for i := range 3 {
			if _, ok := tc.get(i).blobs.Size(hashOf(data)); !ok {
				return false
			}
		}
		return true
	})
	// The Raft state carries the hash, not the content.
	var st []byte
	tc.get(leader).fsm.read(func(s *state) { st, _ = proto.Marshal(s.toProto()) })
	if bytes.Contains(st, data[100:400]) {
		t.Fatal("the save's content is in the replicated state")
	}

	bad := func(mod func([]byte) []byte) []byte { return mod(append([]byte(nil), data...)) }
	for _, tc := range []struct {
		name string
		data []byte
		code codes.Code
		msg  string
	}{
		{"corrupt", bad(func(b []byte) []byte { b[len(b)-10] ^= 0xff; return b }), codes.InvalidArgument, "checksum mismatch"},
		{"newer", bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], sim.SaveVersion+1); return b }), codes.InvalidArgument,
			"format version"},
		{"bundle", bad(func(b []byte) []byte { b[30] ^= 0xff; return b }), codes.FailedPrecondition, "was made with prototype bundle"},
		{"notasave", []byte("hello, world"), codes.InvalidArgument, "not a Starlane save"},
		{"base", testSave(t, 2), codes.AlreadyExists, "save base already exists with other content"},
	} {
		_, _, err := upload(ctx, cc, tc.name, tc.data, 0)
		if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("upload %s: %v; want %v %q", tc.name, err, tc.code, tc.msg)
		}
	}

	// A surface made from it; the save cannot go while the surface uses it.
	cl := tc.client()
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis", FromSave: "base"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sf := getSurface(t, cl, "nauvis").Surface
	if sf.SaveSha256 != hashOf(data) || sf.Map != "base" {
		t.Fatalf("surface from save: map %q, save %q", sf.Map, sf.SaveSha256)
	}
	saves := pb.NewSaveServiceClient(cc)
	if _, err := saves.DeleteSave(ctx, &pb.DeleteSaveRequest{Name: "base"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("delete of a save in use: %v", err)
	}
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{Name: "gleba", FromSave: "nosuchsave"})
		return err
	}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "upload it first") {
		t.Fatalf("surface from a missing save: %v", err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBridgeNameCollisionSaysWhichBridge: a bridge whose (default) name is
// taken by a bridge between other ports is refused with the other bridge's
// ends, not taken for the same one.
func TestBridgeNameCollisionSaysWhichBridge(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 1, false, nil)
	cl := tc.client()
	ctx := ctxT(t, 20*time.Second)
	err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		for _, n := range []string{"a", "b"} {
			if _, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: n}); err != nil {
				return err
			}
		}
		_, err := c.CreateBridge(ctx, &pb.CreateBridgeRequest{RequestId: ctlclient.NewRequestID(),
			Bridge: &pb.Bridge{Id: "a-to-b", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateBridge(ctx, &pb.CreateBridgeRequest{RequestId: ctlclient.NewRequestID(),
			Bridge: &pb.Bridge{Id: "a-to-b", FromSurface: "a", FromPort: "out2", ToSurface: "b", ToPort: "in2"}})
		return err
	})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "already links a:out -> b:in; name this one with --name") {
		t.Fatalf("colliding bridge name: %v", err)
	}
}
