// Package faultproxy is a gRPC proxy for tests: it forwards every call to a target
// unchanged, except that on chosen streaming methods it drops, duplicates, delays and
// reorders messages in both directions, and on demand it breaks the streams or cuts
// all traffic for a while (a partition that heals).
package faultproxy

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Faults are per-message probabilities on the faulty methods.
type Faults struct {
	Drop, Dup, Delay, Reorder float64
	MaxDelay                  time.Duration
}

// Proxy forwards calls from its listener to Target.
type Proxy struct {
	target  string
	methods map[string]bool
	ln      net.Listener
	srv     *grpc.Server
	conn    *grpc.ClientConn

	mu      sync.Mutex
	faults  Faults
	rng     *rand.Rand
	cut     time.Time // partitioned until
	streams map[*cancelBox]bool
	counts  map[string]int64
}

type cancelBox struct{ cancel context.CancelFunc }

// frame is a message passed through as bytes.
type frame struct{ data []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*frame).data, nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*frame).data = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

// Start listens on addr ("127.0.0.1:0" for any port) and forwards to target; methods
// (full names such as "/starlane.v1.BridgeService/Transfer") get the faults.
func Start(addr, target string, seed uint64, methods ...string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &Proxy{target: target, methods: map[string]bool{}, ln: ln, conn: conn,
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), streams: map[*cancelBox]bool{}, counts: map[string]int64{}}
	for _, m := range methods {
		p.methods[m] = true
	}
	p.srv = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(p.handle))
	go p.srv.Serve(ln)
	return p, nil
}

// Addr is where the proxy listens.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetFaults changes the per-message fault probabilities.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Counts returns how many faults of each kind the proxy injected.
func (p *Proxy) Counts() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *Proxy) count(kind string) {
	p.mu.Lock()
	p.counts[kind]++
	p.mu.Unlock()
}

// BreakStreams cancels every call in progress.
func (p *Proxy) BreakStreams() {
	p.mu.Lock()
	for b := range p.streams {
		b.cancel()
	}
	p.counts["break"]++
	p.mu.Unlock()
}

// Partition cuts all traffic through the proxy for d, then lets it through again.
func (p *Proxy) Partition(d time.Duration) {
	p.mu.Lock()
	p.cut = time.Now().Add(d)
	for b := range p.streams {
		b.cancel()
	}
	p.counts["partition"]++
	p.mu.Unlock()
}

// Close stops the proxy.
func (p *Proxy) Close() {
	p.srv.Stop()
	p.conn.Close()
}

func (p *Proxy) partitioned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.cut)
}

// decide returns what to do with one message of a faulty stream.
func (p *Proxy) decide() (drop, dup, reorder bool, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	switch r := p.rng.Float64(); {
	case r < f.Drop:
		p.counts["drop"]++
		return true, false, false, 0
	case r < f.Drop+f.Dup:
		p.counts["duplicate"]++
		return false, true, false, 0
	case r < f.Drop+f.Dup+f.Reorder:
		p.counts["reorder"]++
		return false, false, true, 0
	case r < f.Drop+f.Dup+f.Reorder+f.Delay && f.MaxDelay > 0:
		p.counts["delay"]++
		return false, false, false, time.Duration(p.rng.Int64N(int64(f.MaxDelay)))
	}
	return false, false, false, 0
}

func (p *Proxy) handle(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	if p.partitioned() {
		return status.Error(codes.Unavailable, "faultproxy: partitioned")
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	box := &cancelBox{cancel}
	p.mu.Lock()
	p.streams[box] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.streams, box)
		p.mu.Unlock()
	}()
	if md, ok := metadata.FromIncomingContext(ss.Context()); ok {
		ctx = metadata.NewOutgoingContext(ctx, md.Copy())
	}
	up, err := p.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	faulty := p.methods[method]
	// Client to target.
	upDone := make(chan error, 1)
	go func() {
		upDone <- p.pump(ctx, faulty, ss.RecvMsg, up.SendMsg)
		up.CloseSend()
	}()
	// Target to client.
	if hdr, err := up.Header(); err == nil {
		ss.SendHeader(hdr)
	}
	downErr := p.pump(ctx, faulty, up.RecvMsg, ss.SendMsg)
	ss.SetTrailer(up.Trailer())
	if errors.Is(downErr, io.EOF) {
		return nil
	}
	if ctx.Err() != nil && ss.Context().Err() == nil {
		return status.Error(codes.Unavailable, "faultproxy: stream broken")
	}
	return downErr
}

// pump copies messages from recv to send, with faults on faulty streams.
func (p *Proxy) pump(ctx context.Context, faulty bool, recv func(any) error, send func(any) error) error {
	var held *frame
	for {
		f := &frame{}
		if err := recv(f); err != nil {
			if held != nil {
				send(held)
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !faulty {
			if err := send(f); err != nil {
				return err
			}
			continue
		}
		drop, dup, reorder, delay := p.decide()
		switch {
		case drop:
			continue
		case reorder && held == nil:
			held = f
			continue
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := send(f); err != nil {
			return err
		}
		if dup {
			if err := send(f); err != nil {
				return err
			}
		}
		if held != nil {
			if err := send(held); err != nil {
				return err
			}
			held = nil
		}
	}
}
