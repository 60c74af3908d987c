package ctlclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// backupMagic starts every backup file.
const backupMagic = "STARLANE-BACKUP\n"

func marshalHeader(hdr *pb.SnapshotChunk) ([]byte, error) {
	h, err := proto.Marshal(&pb.SnapshotChunk{Format: hdr.Format, Index: hdr.Index, Sha256: hdr.Sha256})
	if err != nil {
		return nil, err
	}
	out := append([]byte(backupMagic), binary.AppendUvarint(nil, uint64(len(h)))...)
	return append(out, h...), nil
}

func readBackup(r io.Reader) (*pb.SnapshotChunk, []byte, error) {
	all, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read backup: %w", err)
	}
	if len(all) < len(backupMagic) || string(all[:len(backupMagic)]) != backupMagic {
		return nil, nil, errors.New("not a Starlane controller backup (made by `starlane cluster snapshot save`)")
	}
	rest := all[len(backupMagic):]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) < n {
		return nil, nil, errors.New("backup header is truncated")
	}
	var hdr pb.SnapshotChunk
	if err := proto.Unmarshal(rest[k:k+int(n)], &hdr); err != nil {
		return nil, nil, fmt.Errorf("backup header: %w", err)
	}
	return &hdr, rest[k+int(n):], nil
}

// BackupIndex returns the Raft index a backup file was taken at (it reads and
// checks the whole file): what a restore would roll the cluster back to.
func BackupIndex(r io.Reader) (uint64, error) {
	hdr, _, err := readBackup(r)
	if err != nil {
		return 0, err
	}
	return hdr.Index, nil
}
