package controller

import (
	"context"
	"crypto/sha256"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// requestHashKey carries a request's hash from requestHashUnary to propose.
type requestHashKey struct{}

// requestHashUnary notes, for a call whose request carries a request_id, a hash
// of the rest of the request (pb.Command.request_hash): a later command under the
// same ID is a retry only if the request was the same.
func requestHashUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if hash := requestHash(m); hash != nil {
			ctx = context.WithValue(ctx, requestHashKey{}, hash)
		}
	}
	return h(ctx, req)
}

// requestHash is the first 8 bytes of the SHA-256 of m's type and its
// deterministic encoding without its request_id, or nil if m has no request_id.
func requestHash(m proto.Message) []byte {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("request_id")
	if fd == nil || fd.Kind() != protoreflect.StringKind || r.Get(fd).String() == "" {
		return nil
	}
	c := proto.Clone(m)
	c.ProtoReflect().Clear(fd)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(r.Descriptor().FullName()))
	h.Write(b)
	return h.Sum(nil)[:8]
}

// requestHashOf is the hash requestHashUnary noted for the call of ctx, if any.
func requestHashOf(ctx context.Context) []byte {
	h, _ := ctx.Value(requestHashKey{}).([]byte)
	return h
}
