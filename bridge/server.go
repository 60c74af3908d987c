package bridge

import (
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Server is a node's BridgeService: it hands each incoming stream to the receiver of
// its bridge.
type Server struct {
	pb.UnimplementedBridgeServiceServer
	mu        sync.Mutex
	receivers map[string]*Receiver
}

// NewServer returns a server with no receivers.
func NewServer() *Server { return &Server{receivers: map[string]*Receiver{}} }

// Add registers the receiving end of a bridge.
func (s *Server) Add(bridge string, r *Receiver) {
	s.mu.Lock()
	s.receivers[bridge] = r
	s.mu.Unlock()
}

// Remove unregisters a bridge's receiving end (it is not stopped).
func (s *Server) Remove(bridge string, r *Receiver) {
	s.mu.Lock()
	if s.receivers[bridge] == r {
		delete(s.receivers, bridge)
	}
	s.mu.Unlock()
}

// Transfer serves one sender stream.
func (s *Server) Transfer(st pb.BridgeService_TransferServer) error {
	msg, err := st.Recv()
	if err != nil {
		return err
	}
	h := msg.GetHello()
	if h == nil {
		return status.Error(codes.InvalidArgument, "a bridge stream starts with a hello")
	}
	s.mu.Lock()
	r := s.receivers[h.Bridge]
	s.mu.Unlock()
	if r == nil {
		return status.Errorf(codes.NotFound, "this node does not receive bridge %s (surface %s is not a primary here, or the bridge is new to it); look the route up again", h.Bridge, h.ToSurface)
	}
	r.mu.Lock()
	to := r.route.ToSurface
	r.mu.Unlock()
	if to != h.ToSurface {
		return status.Errorf(codes.NotFound, "bridge %s goes to surface %s here, not %s", h.Bridge, to, h.ToSurface)
	}
	return r.serve(st, h)
}
