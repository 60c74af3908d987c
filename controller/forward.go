package controller

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// forwardedKey marks a call a follower forwarded, so it is never forwarded twice.
const forwardedKey = "starlane-forwarded-by"

// leaderTrailer names the leader's API address in a stream's trailer when a
// leader-only stream reaches a follower.
const leaderTrailer = "starlane-leader"

// leaderMethods are the unary RPCs served by the leader: writes and linearizable
// reads. Everything else is answered locally.
var leaderMethods = map[string]bool{}

func init() {
	for _, m := range []string{
		pb.ClusterService_JoinController_FullMethodName,
		pb.ClusterService_RemoveController_FullMethodName,
		pb.ClusterService_TransferLeadership_FullMethodName,
		pb.ClusterService_GetJoinToken_FullMethodName,
		pb.ClusterService_ListNodes_FullMethodName,
		pb.ClusterService_GetNode_FullMethodName,
		pb.ClusterService_CordonNode_FullMethodName,
		pb.ClusterService_CreateSurface_FullMethodName,
		pb.ClusterService_ListSurfaces_FullMethodName,
		pb.ClusterService_GetSurface_FullMethodName,
		pb.ClusterService_DeleteSurface_FullMethodName,
		pb.ClusterService_PinSurface_FullMethodName,
		pb.ClusterService_SetSurfaceReplicas_FullMethodName,
		pb.NodeService_Register_FullMethodName,
		pb.NodeService_Heartbeat_FullMethodName,
		pb.ClusterService_SetSurfaceStandbyMode_FullMethodName,
		pb.ClusterService_MoveSurface_FullMethodName,
		pb.ClusterService_StopSurface_FullMethodName,
		pb.ClusterService_StartSurface_FullMethodName,
		pb.ClusterService_RollbackSurface_FullMethodName,
		pb.ClusterService_SetSurfaceAutosave_FullMethodName,
		pb.ClusterService_CreateBridge_FullMethodName,
		pb.ClusterService_ListBridges_FullMethodName,
		pb.ClusterService_GetBridge_FullMethodName,
		pb.ClusterService_DeleteBridge_FullMethodName,
		pb.NodeService_RefuseAssignment_FullMethodName,
		pb.NodeService_AutosaveRecord_FullMethodName,
		pb.NodeService_UpdateReplicas_FullMethodName,
		pb.NodeService_ReportPrimaryLost_FullMethodName,
		pb.NodeService_CompleteHandoff_FullMethodName,
		pb.NodeService_AbortHandoff_FullMethodName,
		pb.NodeService_ReportStandbyDesync_FullMethodName,
		pb.AccessService_CreateToken_FullMethodName,
		pb.AccessService_ListTokens_FullMethodName,
		pb.AccessService_RevokeToken_FullMethodName,
		pb.AccessService_ListAudit_FullMethodName,
		pb.AccessService_CreatePlayer_FullMethodName,
		pb.AccessService_ListPlayers_FullMethodName,
		pb.AccessService_SetPlayer_FullMethodName,
		pb.AccessService_GetAccessSettings_FullMethodName,
		pb.AccessService_SetAccessSettings_FullMethodName,
		pb.AccessService_IssueTicket_FullMethodName,
		pb.AccessService_PostChat_FullMethodName,
		pb.SaveService_ListSaves_FullMethodName,
		pb.SaveService_GetSave_FullMethodName,
		pb.SaveService_DeleteSave_FullMethodName,
		pb.SaveService_PutSave_FullMethodName,
		pb.BundleService_ListBundles_FullMethodName,
		pb.BundleService_GetBundle_FullMethodName,
		pb.BundleService_DeleteBundle_FullMethodName,
		pb.BundleService_PutBundle_FullMethodName,
	} {
		leaderMethods[m] = true
	}
}

// localMethods are the unary RPCs every controller answers itself (its own
// view: status, members, the blobs it holds). TestEveryUnaryMethodIsRouted
// checks that each unary RPC is in one of the two lists.
var localMethods = map[string]bool{
	pb.ClusterService_GetStatus_FullMethodName:       true,
	pb.ClusterService_ListControllers_FullMethodName: true,
	pb.BlobService_FetchBlob_FullMethodName:          true,
	pb.BlobService_WantBlob_FullMethodName:           true,
}

// forwarder sends leader-only calls that reach a follower on to the leader,
// transparently to the caller.
type forwarder struct {
	c     *Controller
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newForwarder(c *Controller) *forwarder {
	return &forwarder{c: c, conns: map[string]*grpc.ClientConn{}}
}

func (f *forwarder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !leaderMethods[info.FullMethod] || f.c.IsLeader() {
		return handler(ctx, req)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(forwardedKey)) > 0 {
		return nil, status.Error(codes.Unavailable, "forwarded to a controller that is no longer the leader; retry")
	}
	id, addr := f.c.leaderAPIAddr()
	if id == "" || addr == "" {
		return nil, f.c.noLeaderError()
	}
	if id == f.c.id {
		if f.c.space.full.Load() != nil {
			// It won an election but cannot write the entry that would make it ready.
			return nil, f.c.noLeaderError()
		}
		return nil, status.Error(codes.Unavailable, "this controller is becoming the leader; retry")
	}
	if quiet, silent := f.c.leaderSilence(); silent {
		return nil, leaderSilentError(id, quiet)
	}
	conn, err := f.conn(addr)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "dial leader %s at %s: %v", id, addr, err)
	}
	reply, err := newReply(info.FullMethod)
	if err != nil {
		return nil, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, forwardedKey, f.c.id)
	ctx = withCallerCredentials(ctx)
	// A leader that stops answering (a paused process, a hung host) would hold
	// the call until the caller's deadline, though the other controllers elect
	// a new one within about a second: the call is given up as soon as this
	// follower stops hearing from the leader, and the caller retries (a write
	// carries its request ID, so a retry is never applied twice).
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go f.watchLeader(fctx, cancel)
	if err := conn.Invoke(fctx, info.FullMethod, req, reply); err != nil {
		if quiet, ok := context.Cause(fctx).(errLeaderSilent); ok && ctx.Err() == nil {
			return nil, leaderSilentError(id, time.Duration(quiet))
		}
		return nil, err
	}
	f.c.met.forwarded.Inc()
	return reply, nil
}

// errLeaderSilent cancels a forwarded call whose leader went silent; its value
// is how long it had been silent.
type errLeaderSilent time.Duration

func (e errLeaderSilent) Error() string { return "the leader went silent" }

// leaderSilentError is what a caller gets when the leader is not answering.
func leaderSilentError(id string, quiet time.Duration) error {
	return status.Errorf(codes.Unavailable, "the leader %s has not been heard from for %v; retry: the other controllers elect a new one within about a second", id, quiet.Round(time.Millisecond))
}

// watchLeader cancels ctx once this follower has not heard from the leader for
// longer than a leader that is alive stays silent, checking every leaderWatchEvery
// until ctx ends.
func (f *forwarder) watchLeader(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(leaderWatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if quiet, silent := f.c.leaderSilence(); silent {
			cancel(errLeaderSilent(quiet))
			return
		}
	}
}

// leaderWatchEvery is how often a forwarded call checks that the leader is still heard.
const leaderWatchEvery = 50 * time.Millisecond

// call makes a leader-only call on behalf of this controller (not of a client):
// to itself when it leads, else to the leader, retrying while leadership moves.
func (f *forwarder) call(ctx context.Context, method string, req, reply proto.Message) error {
	backoff := 50 * time.Millisecond
	for {
		_, addr := f.c.leaderAPIAddr()
		err := status.Error(codes.Unavailable, "no controller leader is known right now")
		if addr != "" {
			var conn *grpc.ClientConn
			if conn, err = f.conn(addr); err == nil {
				err = conn.Invoke(withCallerCredentials(ctx), method, req, reply)
			}
		}
		if err == nil || status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// newReply makes an empty response message for a full method name.
func newReply(fullMethod string) (proto.Message, error) {
	// "/starlane.v1.ClusterService/CreateSurface" -> "starlane.v1.ClusterService.CreateSurface"
	name := fullMethod[1:]
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			name = name[:i] + "." + name[i+1:]
			break
		}
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "forward %s: %v", fullMethod, err)
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, status.Errorf(codes.Internal, "forward %s: not a method", fullMethod)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "forward %s: %v", fullMethod, err)
	}
	return mt.New().Interface(), nil
}

func (f *forwarder) conn(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cc := f.conns[addr]; cc != nil {
		return cc, nil
	}
	creds, err := ctlclient.Credentials(f.c.cfg.TLS)
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(addr, ctlclient.DialOptions(creds)...)
	if err != nil {
		return nil, err
	}
	f.conns[addr] = cc
	return cc, nil
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for addr, cc := range f.conns {
		cc.Close()
		delete(f.conns, addr)
	}
}

// notLeaderStream is the error a leader-only stream returns on a follower; the
// trailer tells the client where the leader is.
func (c *Controller) notLeaderStream(ss grpc.ServerStream) error {
	_, addr := c.leaderAPIAddr()
	if addr != "" && addr != c.apiAdv {
		ss.SetTrailer(metadata.Pairs(leaderTrailer, addr))
		return status.Errorf(codes.Unavailable, "not the leader; the leader is at %s", addr)
	}
	return c.noLeaderError()
}

// withCallerCredentials sends the caller's credentials on with a call made for
// it: the leader checks the operator token (or a node's join token) itself and
// trusts no word of the forwarding controller about who the caller is.
func withCallerCredentials(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	for _, k := range []string{authz.AuthorizationKey, authz.JoinTokenKey} {
		for _, v := range md.Get(k) {
			ctx = metadata.AppendToOutgoingContext(ctx, k, v)
		}
	}
	return ctx
}
