package ctlclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// leaderConn finds the leader's connection: through GetStatus, dialing the
// leader's address when it is not among the configured ones.
func (c *Client) leaderConn(ctx context.Context) (*grpc.ClientConn, error) {
	var st *pb.GetStatusResponse
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		var err error
		st, err = cl.GetStatus(ctx, &pb.GetStatusRequest{})
		if err == nil && st.LeaderApiAddress == "" {
			return errNoLeader
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.prefer(st.LeaderApiAddress)
}

// errNoLeader is Unavailable, as the controllers' own answer is: an election is
// under way, and Do tries again until the call's deadline.
var errNoLeader = status.Error(codes.Unavailable, "no controller leader is known right now")

// SaveSnapshot writes a backup of the controller state to w and returns its Raft
// index. It is served by the leader.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) (uint64, error) {
	var index uint64
	err := c.Do(ctx, func(ctx context.Context, _ *grpc.ClientConn) error {
		cc, err := c.leaderConn(ctx)
		if err != nil {
			return err
		}
		stream, err := pb.NewClusterServiceClient(cc).SaveSnapshot(ctx, &pb.SaveSnapshotRequest{})
		if err != nil {
			return err
		}
		h := sha256.New()
		var hdr *pb.SnapshotChunk
		var chunks [][]byte
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if hdr == nil {
				hdr = m
			}
			h.Write(m.Data)
			chunks = append(chunks, m.Data)
		}
		if hdr == nil || hex.EncodeToString(h.Sum(nil)) != hdr.Sha256 {
			return fmt.Errorf("backup stream was cut or corrupted; try again")
		}
		// Write only a complete, verified backup: the format header, then the data.
		if err := writeBackup(w, hdr, chunks); err != nil {
			return err
		}
		index = hdr.Index
		return nil
	})
	return index, err
}

// A backup file is the header chunk (format, index, sha256, no data) as a
// length-prefixed protobuf, followed by the state bytes.
func writeBackup(w io.Writer, hdr *pb.SnapshotChunk, chunks [][]byte) error {
	head, err := marshalHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	for _, ch := range chunks {
		if _, err := w.Write(ch); err != nil {
			return fmt.Errorf("write backup: %w", err)
		}
	}
	return nil
}

// RestoreSnapshot replaces the cluster state with the backup read from r and
// returns the Raft index after the restore.
func (c *Client) RestoreSnapshot(ctx context.Context, r io.Reader) (uint64, error) {
	hdr, data, err := readBackup(r)
	if err != nil {
		return 0, err
	}
	var index uint64
	err = c.Do(ctx, func(ctx context.Context, _ *grpc.ClientConn) error {
		cc, err := c.leaderConn(ctx)
		if err != nil {
			return err
		}
		stream, err := pb.NewClusterServiceClient(cc).RestoreSnapshot(ctx)
		if err != nil {
			return err
		}
		first := &pb.SnapshotChunk{Format: hdr.Format, Index: hdr.Index, Sha256: hdr.Sha256}
		for off := 0; off < len(data) || first != nil; off += 1 << 20 {
			m := first
			if m == nil {
				m = &pb.SnapshotChunk{}
			}
			first = nil
			m.Data = data[off:min(off+1<<20, len(data))]
			if err := stream.Send(m); err != nil {
				break // the real error comes from CloseAndRecv
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		index = resp.Index
		return nil
	})
	return index, err
}
