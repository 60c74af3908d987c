package node

import (
	"bytes"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// stateChunk is the size of GetState's chunks (under gRPC's default 4 MiB messages).
const stateChunk = 1 << 20

// GetState streams a save of a surface at its confirmed tick; see shard.proto.
func (a *playAPI) GetState(req *pb.GetStateRequest, ss pb.ShardService_GetStateServer) error {
	sh := a.n.primary(req.Surface)
	if sh == nil {
		return status.Errorf(codes.NotFound, "surface %s does not run on node %s", req.Surface, a.n.id)
	}
	sim, err := sh.ConfirmedState()
	if err != nil {
		return status.Errorf(codes.Unavailable, "rebuild surface %s: %v", req.Surface, err)
	}
	var buf bytes.Buffer
	if err := sim.Save(&buf); err != nil {
		return status.Errorf(codes.Internal, "save surface %s: %v", req.Surface, err)
	}
	data := buf.Bytes()
	first := &pb.StateChunk{Tick: sim.Tick(), Epoch: sh.Epoch()}
	for {
		n := min(len(data), stateChunk)
		first.Data = data[:n]
		if err := ss.Send(first); err != nil {
			return err
		}
		data = data[n:]
		if len(data) == 0 {
			return nil
		}
		first = &pb.StateChunk{}
	}
}
