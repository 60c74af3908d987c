package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Fetch copies blob hash (at most max bytes) from a BlobService into blobs,
// resuming a partial copy, and checks it. When the sender says its copy is
// damaged (codes.DataLoss) the partial copy is dropped, so the next try, on
// another controller, starts over instead of resuming bad bytes; Elsewhere
// tells such an error apart.
func Fetch(ctx context.Context, cl pb.BlobServiceClient, blobs *Store, hash string, max int64) error {
	if _, ok := blobs.Size(hash); ok {
		return nil
	}
	offset := blobs.Partial(hash)
	st, err := cl.FetchBlob(ctx, &pb.FetchBlobRequest{Sha256: hash, Offset: uint64(offset)})
	if err != nil {
		return err
	}
	w, err := blobs.Append(hash, offset, max)
	if err != nil {
		return err
	}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if Damaged(err) {
			w.Discard()
			return err
		}
		if err != nil {
			w.Close()
			return err
		}
		if m.Total > uint64(max) {
			w.Close()
			return fmt.Errorf("blob %s is %d bytes, over the %d byte limit", hash[:12], m.Total, max)
		}
		if _, err := w.Write(m.Data); err != nil {
			w.Close()
			return err
		}
	}
	return w.Commit()
}
