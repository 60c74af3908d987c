// Package bridge moves items between surfaces on different nodes exactly once. A Sender
// runs beside the shard of a bridge's source surface: it takes the export port's outbox
// entries only once the tick that made them is confirmed and streams them to the node
// running the destination. A Receiver runs beside the destination's shard: it submits
// deliveries as inputs (the simulation ignores duplicates and applies them in order) and
// acknowledges the high-water mark only once the tick that applied it is confirmed. The
// sender applies the acknowledgement as an input that prunes its outbox. See DESIGN.md.
package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// Sim is what the bridge runtime reads from a simulation inside a shard's Capture
// (between ticks, on the tick goroutine). *sim.Surface implements it.
type Sim interface {
	BridgePort(name string) (id uint32, export bool, err error)
	BridgeOutbox(port uint32, after uint64, fn func(seq, tick uint64, item string, count int32) bool)
	BridgeExportState(port uint32) (last, acked uint64, credit int64)
	// BridgePortSpace is the sequence space an export port is bound to (0: none) and
	// the destination it was bound for.
	BridgePortSpace(port uint32) (space uint64, dest string)
	// BridgeImportState's room is an import port's free slots.
	BridgeImportState(port uint32) (hwm uint64, room int64)
	// BridgeImportMark is the surface's mark for a space and whether it has one.
	BridgeImportMark(space uint64) (hwm uint64, known bool)
	BridgeImportLost(port uint32) int64
	BridgePortFilter(port uint32) []string
	// CheckItems says which of names are not items of the surface (nil: all are).
	CheckItems(names []string) error
	BridgeCounts(port uint32) (moved, acked map[string]int64)
}

// Codec encodes the shard inputs a bridge submits; the node provides the simulation's
// encoders.
type Codec interface {
	// BindInput binds an export port to a sequence space for a destination.
	BindInput(port uint32, space uint64, dest string) []byte
	// DeliverSpaceInput delivers consecutive entries of a space, the first with
	// sequence first; base is the sender's acknowledged floor.
	DeliverSpaceInput(port uint32, space, base, first uint64, items []string, counts []int32) []byte
	AckSpaceInput(port uint32, space, seq uint64, credit int64) []byte
	FilterInput(port uint32, items []string) []byte
}

// Shard is the part of the shard runtime a bridge end uses (*shard.Shard).
type Shard interface {
	AddOutlet(o shard.Outlet)
	RemoveOutlet(o shard.Outlet)
	Submit(in shard.Input, target uint64) error
	Inspect(fn func(sim shard.Simulation)) error
	Epoch() uint64
}

// Route is where a bridge's two ends run, as the controller last said.
type Route struct {
	Bridge      string
	FromSurface string
	FromPort    string
	FromEpoch   uint64
	// FromNode is the node the controller runs the source's primary on: the only
	// sender a receiver accepts for this epoch.
	FromNode  string
	ToSurface string
	ToPort    string
	ToEpoch   uint64
	ToAddress string
	Items     []string
	// CreateIndex tells a bridge re-created under the same name from the old one.
	CreateIndex uint64
}

// Dest names the destination port an export port is bound for.
func (r Route) Dest() string { return r.ToSurface + ":" + r.ToPort }

// sameBridge reports whether two routes are of the same bridge between the same
// ports (epochs and addresses may differ).
func (r Route) sameBridge(o Route) bool {
	return r.Bridge == o.Bridge && r.FromSurface == o.FromSurface && r.FromPort == o.FromPort && r.ToSurface == o.ToSurface &&
		r.ToPort == o.ToPort && r.CreateIndex == o.CreateIndex && slices.Equal(r.Items, o.Items)
}

// RouteFromProto converts the controller's route.
func RouteFromProto(r *pb.BridgeRoute) Route {
	b := r.GetBridge()
	return Route{Bridge: b.GetId(), FromSurface: b.GetFromSurface(), FromPort: b.GetFromPort(), FromEpoch: r.GetFromEpoch(), FromNode: r.GetFromNode(),
		ToSurface: b.GetToSurface(), ToPort: b.GetToPort(), ToEpoch: r.GetToEpoch(), ToAddress: r.GetToAddress(), Items: b.GetItems(), CreateIndex: b.GetCreateIndex()}
}

// Config holds what both ends share.
type Config struct {
	// Node is this node's ID (logs, hellos).
	Node   string
	Codec  Codec
	Logger *slog.Logger
	// Metrics, if set, receives the bridge metrics.
	Metrics *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Resend is how long the sender waits for acknowledgement progress before it
	// sends unacknowledged entries again (1 s).
	Resend time.Duration
	// MaxBatch bounds the entries of one message (4096).
	MaxBatch int
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Resend <= 0 {
		c.Resend = time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 4096
	}
}

// errBadPort is a configuration problem the operator must fix (it is reported, not
// retried quickly).
var errBadPort = errors.New("bad port")

// resolvePort finds the port a bridge end uses on its surface.
func resolvePort(sh Shard, name string, export bool) (uint32, error) {
	var id uint32
	var err error
	ierr := sh.Inspect(func(s shard.Simulation) {
		bs, ok := s.(Sim)
		if !ok {
			err = fmt.Errorf("%w: the simulation has no bridge ports", errBadPort)
			return
		}
		var isExport bool
		id, isExport, err = bs.BridgePort(name)
		if err == nil && isExport != export {
			want := "bridge-import"
			if export {
				want = "bridge-export"
			}
			err = fmt.Errorf("%w: port %s is not a %s", errBadPort, name, want)
		} else if err != nil {
			err = fmt.Errorf("%w: %v", errBadPort, err)
		}
	})
	if ierr != nil {
		return 0, ierr
	}
	return id, err
}

// ItemCounts converts a port's count maps for heartbeats, in item order.
func ItemCounts(moved, acked map[string]int64) []*pb.BridgeItemCount {
	names := make([]string, 0, len(moved))
	for n := range moved {
		names = append(names, n)
	}
	for n := range acked {
		if _, ok := moved[n]; !ok {
			names = append(names, n)
		}
	}
	sortStrings(names)
	out := make([]*pb.BridgeItemCount, 0, len(names))
	for _, n := range names {
		out = append(out, &pb.BridgeItemCount{Item: n, Moved: moved[n], Acked: acked[n]})
	}
	return out
}
