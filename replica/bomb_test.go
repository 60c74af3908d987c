package replica

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim/simtest"
)

// hostilePrimary answers a standby's hello with a checkpoint made of chunks
// (repeated forever when endless).
type hostilePrimary struct {
	pb.UnimplementedReplicationServiceServer
	data     []byte
	declared uint64
	endless  bool
}

func (h *hostilePrimary) Follow(st pb.ReplicationService_FollowServer) error {
	hello, err := st.Recv()
	if err != nil {
		return err
	}
	epoch := hello.Epoch
	if err := st.Send(&pb.FollowResponse{Epoch: epoch, Msg: &pb.FollowResponse_Start{Start: &pb.FollowStart{
		Checkpoint: true, CheckpointTick: 120, CheckpointBytes: h.declared, HashEvery: 30}}}); err != nil {
		return err
	}
	for {
		for off := 0; off < len(h.data); off += 1 << 20 {
			end := min(off+1<<20, len(h.data))
			last := end == len(h.data) && !h.endless
			if err := st.Send(&pb.FollowResponse{Epoch: epoch, Msg: &pb.FollowResponse_Checkpoint{Checkpoint: &pb.CheckpointChunk{
				Data: h.data[off:end], Last: last}}}); err != nil {
				return err
			}
			if last {
				<-st.Context().Done()
				return nil
			}
		}
	}
}

// TestCheckpointBombIsRefusedByTheStandby: a checkpoint that inflates past the
// state limit, or a stream of checkpoint chunks that never ends, is refused by
// the standby without taking its memory. Before the limits a standby gathered
// chunks without bound and inflated checkpoints whole.
func TestCheckpointBombIsRefusedByTheStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("makes and inflates a 1.5 GB bomb; runs without -short")
	}
	bomb := mustBomb(t, 1500<<20)
	for _, tc := range []struct {
		name string
		srv  *hostilePrimary
		want string
	}{
		{"bomb", &hostilePrimary{data: bomb, declared: uint64(len(bomb))}, "inflates past"},
		{"endless chunks", &hostilePrimary{data: bytes.Repeat([]byte{1}, 4<<20), endless: true}, "over the 64 MiB limit"},
		{"declared too large", &hostilePrimary{data: bomb, declared: 1 << 40}, "declares 1099511627776 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			gs := grpc.NewServer(grpc.MaxSendMsgSize(8 << 20))
			pb.RegisterReplicationServiceServer(gs, tc.srv)
			go gs.Serve(ln)
			t.Cleanup(gs.Stop)

			r := &rig{t: t}
			t.Cleanup(func() {
				for _, c := range r.conns {
					c.Close()
				}
			})
			cfg := shardConfig(t.TempDir(), 0)
			cfg.Metrics = shard.NewMetrics(nil)
			sb, err := shard.OpenStandby(cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f := NewFollower(FollowerConfig{Config: Config{Node: "n2"}, Surface: "nauvis", Shard: sb, Dial: r.dial, LostAfter: time.Minute})
			f.Update("n1", ln.Addr().String(), 7)
			t.Cleanup(func() { f.Stop(); sb.Stop() })
			waitFor(t, 30*time.Second, "the standby to refuse the checkpoint", func() bool {
				_, e := f.Status()
				return strings.Contains(e, tc.want)
			})
			f.Stop()
			runtime.ReadMemStats(&after)
			if sb.Executed() != 0 {
				t.Fatalf("the standby installed a hostile checkpoint (at tick %d)", sb.Executed())
			}
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 200<<20 {
				t.Errorf("refusing it left the heap %d MB larger", grew>>20)
			}
		})
	}
}

func mustBomb(t *testing.T, size int64) []byte {
	t.Helper()
	b, err := simtest.BombSave(size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
