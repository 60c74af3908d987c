package validate

import (
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// fuzzed lists the request types the fuzzer builds from raw protobuf bytes:
// every request the validator knows, so each of its branches is fuzzed.
var fuzzed = []func() proto.Message{
	func() proto.Message { return &pb.JoinControllerRequest{} },
	func() proto.Message { return &pb.RemoveControllerRequest{} },
	func() proto.Message { return &pb.TransferLeadershipRequest{} },
	func() proto.Message { return &pb.GetNodeRequest{} },
	func() proto.Message { return &pb.CordonNodeRequest{} },
	func() proto.Message { return &pb.CreateSurfaceRequest{} },
	func() proto.Message { return &pb.GetSurfaceRequest{} },
	func() proto.Message { return &pb.DeleteSurfaceRequest{} },
	func() proto.Message { return &pb.PinSurfaceRequest{} },
	func() proto.Message { return &pb.SetSurfaceReplicasRequest{} },
	func() proto.Message { return &pb.SetSurfaceStandbyModeRequest{} },
	func() proto.Message { return &pb.MoveSurfaceRequest{} },
	func() proto.Message { return &pb.CreateBridgeRequest{} },
	func() proto.Message { return &pb.GetBridgeRequest{} },
	func() proto.Message { return &pb.DeleteBridgeRequest{} },
	func() proto.Message { return &pb.ListSurfacesRequest{} },
	func() proto.Message { return &pb.ListNodesRequest{} },
	func() proto.Message { return &pb.ListBridgesRequest{} },
	func() proto.Message { return &pb.RegisterRequest{} },
	func() proto.Message { return &pb.HeartbeatRequest{} },
	func() proto.Message { return &pb.WatchAssignmentsRequest{} },
	func() proto.Message { return &pb.RefuseAssignmentRequest{} },
	func() proto.Message { return &pb.UpdateReplicasRequest{} },
	func() proto.Message { return &pb.ReportPrimaryLostRequest{} },
	func() proto.Message { return &pb.CompleteHandoffRequest{} },
	func() proto.Message { return &pb.AbortHandoffRequest{} },
	func() proto.Message { return &pb.ReportStandbyDesyncRequest{} },
	func() proto.Message { return &pb.GetSaveRequest{} },
	func() proto.Message { return &pb.FetchBlobRequest{} },
	func() proto.Message { return &pb.DeleteSaveRequest{} },
	func() proto.Message { return &pb.PutSaveRequest{} },
	func() proto.Message { return &pb.WantBlobRequest{} },
	func() proto.Message { return &pb.UploadSaveStart{} },
	func() proto.Message { return &pb.GetShardRequest{} },
	func() proto.Message { return &pb.Hello{} },
	func() proto.Message { return &pb.GetStateRequest{} },
	func() proto.Message { return &pb.CreateTokenRequest{} },
	func() proto.Message { return &pb.RevokeTokenRequest{} },
	func() proto.Message { return &pb.ListAuditRequest{} },
	func() proto.Message { return &pb.CreatePlayerRequest{} },
	func() proto.Message { return &pb.SetPlayerRequest{} },
	func() proto.Message { return &pb.SetAccessSettingsRequest{} },
	func() proto.Message { return &pb.IssueTicketRequest{} },
	func() proto.Message { return &pb.PostChatRequest{} },
	func() proto.Message { return &pb.WatchChatRequest{} },
}

var catalog = Catalog{Planets: []string{"aquilo", "fulgora", "gleba", "nauvis", "vulcanus"}, Maps: []string{"empty", "starter"}}

// FuzzRequest decodes arbitrary bytes as each request type and checks the
// validator's promises: it never panics; a refusal is InvalidArgument with a
// short message; an accepted request carries no string over the free-text
// limit (1 KiB), no list over the heartbeat limit, and UTF-8 only in its text.
func FuzzRequest(f *testing.F) {
	seeds := []proto.Message{
		&pb.CreateSurfaceRequest{Name: "nauvis", Planet: "nauvis", Map: "starter", Replicas: 2},
		&pb.CreateSurfaceRequest{Name: "zero", Map: "/dev/zero"},
		&pb.CreateSurfaceRequest{Name: "big", Planet: strings.Repeat("x", 5000)},
		&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "a-to-b", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in", Items: []string{"iron-plate"}}},
		&pb.RegisterRequest{JoinToken: "slj-x", Node: &pb.Node{Id: "n1", Address: "127.0.0.1:7420", Labels: map[string]string{"zone": "a"}}},
		&pb.HeartbeatRequest{NodeId: "n1", Shards: []*pb.ShardStats{{Surface: "nauvis", Error: "disk full"}}},
		&pb.JoinControllerRequest{Id: "c2", RaftAddress: "127.0.0.1:7401", ApiAddress: "127.0.0.1:7400"},
		&pb.CreateTokenRequest{Name: "ci", Role: "read", TtlSeconds: 3600},
		&pb.IssueTicketRequest{Player: "bob", PlayerKey: "slp-00"},
		&pb.Hello{Surface: "nauvis", PlayerName: "bob", Ticket: "slt1.AAAA.BBBB"},
	}
	for _, s := range seeds {
		b, _ := proto.Marshal(s)
		for i, mk := range fuzzed {
			if proto.MessageName(mk()) == proto.MessageName(s) {
				f.Add(uint8(i), b)
			}
		}
	}
	c := Checker{Catalog: catalog}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		msg := fuzzed[int(kind)%len(fuzzed)]()
		if err := proto.Unmarshal(data, msg); err != nil {
			return
		}
		err := c.Request(msg)
		if err != nil {
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("%s refused with %v, want InvalidArgument", proto.MessageName(msg), st.Code())
			}
			if len(st.Message()) > 600 {
				t.Fatalf("refusal of %s is %d bytes: a bad value must be quoted short", proto.MessageName(msg), len(st.Message()))
			}
			return
		}
		walk(t, msg.ProtoReflect())
	})
}

func walk(t *testing.T, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if v.List().Len() > 2*MaxShardsPerNode {
				t.Fatalf("accepted %s with %d entries", fd.FullName(), v.List().Len())
			}
			for i := 0; i < v.List().Len(); i++ {
				check(t, fd, v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				check(t, fd.MapKey(), k.Value())
				check(t, fd.MapValue(), mv)
				return true
			})
		default:
			check(t, fd, v)
		}
		return true
	})
}

func check(t *testing.T, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s := v.String(); len(s) > MaxTextBytes || !utf8.ValidString(s) {
			t.Fatalf("accepted %s of %d bytes (valid UTF-8: %v)", fd.FullName(), len(s), utf8.ValidString(s))
		}
	case protoreflect.MessageKind:
		walk(t, v.Message())
	}
}

// TestRefusalsNameTheFieldAndQuoteShort: a table of refusals a user meets.
func TestRefusalsNameTheFieldAndQuoteShort(t *testing.T) {
	c := Checker{Catalog: catalog}
	long := strings.Repeat("n", 5<<20)
	for _, tc := range []struct {
		req  any
		want string
	}{
		{&pb.CreateSurfaceRequest{Name: long}, `name: "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"… (5242880 bytes) is not a valid name`},
		{&pb.CreateSurfaceRequest{Name: "a", Planet: "pluto"}, `planet: unknown planet "pluto": this cluster knows aquilo, fulgora, gleba, nauvis, vulcanus`},
		{&pb.CreateSurfaceRequest{Name: "a", Map: "/etc/passwd"}, `map: "/etc/passwd" is not a built-in map (empty, starter)`},
		{&pb.CreateSurfaceRequest{Name: "a", Map: "starter", Save: []byte("x")}, "either a built-in map or a save"},
		{&pb.CreateSurfaceRequest{Name: "a", BundleHash: "91c2"}, `bundle_hash: "91c2" is not a hash`},
		{&pb.SetSurfaceReplicasRequest{Name: "a", Replicas: 0}, "replicas: 0 is out of range"},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", ToSurface: "b", Status: &pb.BridgeStatus{}}}, "bridge.status: is reported by the nodes"},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", ToSurface: "B"}}, `bridge.to_surface: "B" is not a valid name`},
		{&pb.CreatePlayerRequest{Name: "server"}, `name: "server" is reserved`},
		{&pb.IssueTicketRequest{Player: "server"}, `player: "server" is reserved`},
		{&pb.SetSurfaceAutosaveRequest{Name: "a", EveryTicks: 216_000_008_640}, "every_ticks: 216000008640 is too long"},
		{&pb.CreateSurfaceRequest{Name: "a", AutosaveEveryTicks: 2_160_000_001}, "autosave_every_ticks: 2160000001 is too long"},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", ToSurface: "b", Items: []string{"iron-plate", "iron-plate"}}}, `bridge.items: "iron-plate" is listed twice`},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", ToSurface: "b", Items: []string{"Iron Plate"}}}, `bridge.items: "Iron Plate": an item name has no spaces`},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", ToSurface: "b", Items: []string{""}}}, `bridge.items: is required`},
		{&pb.RegisterRequest{Node: &pb.Node{Id: "n1", Address: "n1"}}, `node.address: "n1" is not HOST:PORT`},
		{&pb.HeartbeatRequest{NodeId: "n1", Shards: []*pb.ShardStats{{Surface: "s", Error: long}}}, "shards.error"},
		{&pb.ListSurfacesRequest{PageSize: 1 << 20}, "page_size: 1048576 is over the limit of 2000"},
		{&pb.FetchBlobRequest{Sha256: "../../etc/passwd"}, "sha256"},
		{&pb.GetSaveRequest{Name: "../../etc/passwd"}, "names no save"},
		{&pb.UploadSaveStart{Name: "s", Sha256: strings.Repeat("a", 64), Size: 1 << 40}, "size: 1099511627776 is out of range"},
		{&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "x", FromSurface: "a", FromPort: strings.Repeat("p", 64), ToSurface: "b"}},
			"bridge.from_port: \"" + strings.Repeat("p", 32) + "\"… (64 bytes): a port is named by its entity ID or its label, and a label is at most 63 printable ASCII characters"},
		{&pb.RegisterRequest{Node: &pb.Node{Id: "n1", Address: "n1:1", Labels: map[string]string{strings.Repeat("k", 64): "v"}}},
			"node.labels: key \"" + strings.Repeat("k", 32) + "\"… (64 bytes): use 1-63 printable ASCII characters (a key is a name; its value may be up to 255 bytes)"},
		{&pb.RegisterRequest{Node: &pb.Node{Id: "n1", Address: "n1:1", Labels: map[string]string{"zone": strings.Repeat("v", 256)}}},
			"node.labels: value of zone: \"" + strings.Repeat("v", 32) + "\"… (256 bytes): use at most 255 bytes of UTF-8 (a value is free text, longer than the 63 of a key or a bridge port's label on purpose)"},
	} {
		err := c.Request(tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("%T: %v; want InvalidArgument containing %q", tc.req, err, tc.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("%T: refusal is %d bytes long", tc.req, len(err.Error()))
		}
	}
	for _, ok := range []any{
		&pb.CreateSurfaceRequest{Name: "nauvis"},
		&pb.CreateSurfaceRequest{Name: "gleba", Planet: "gleba", Map: "", Save: []byte("content"), SaveName: "gleba.sav"},
		&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "a-to-b", FromSurface: "a", FromPort: "out", ToSurface: "b", ToPort: "in"}},
		&pb.RegisterRequest{JoinToken: "t", Node: &pb.Node{Id: "n1", Address: "[::1]:7420"}},
		&pb.CreateBridgeRequest{Bridge: &pb.Bridge{Id: "a-to-b", FromSurface: "a", FromPort: strings.Repeat("p", 63), ToSurface: "b", ToPort: "in"}},
		&pb.RegisterRequest{JoinToken: "t", Node: &pb.Node{Id: "n1", Address: "[::1]:7420", Labels: map[string]string{strings.Repeat("k", 63): strings.Repeat("v", 255)}}},
	} {
		if err := c.Request(ok); err != nil {
			t.Errorf("%T refused: %v", ok, err)
		}
	}
}

// TestPortNamesAndEntityLabelsShareOneLimit: a bridge finds its port by the
// entity's label, so the simulation takes exactly the labels a bridge can name:
// 63 printable ASCII characters, not one more.
func TestPortNamesAndEntityLabelsShareOneLimit(t *testing.T) {
	if sim.MaxLabelBytes != MaxLabelBytes {
		t.Fatalf("the simulation takes labels of up to %d bytes, a bridge port name is at most %d", sim.MaxLabelBytes, MaxLabelBytes)
	}
	for _, l := range []string{strings.Repeat("a", 63), strings.Repeat("a", 64), "out é", "out\tport"} {
		simErr, portErr := sim.CheckLabel(l), Port("bridge.to_port", l, true)
		if (simErr == nil) != (portErr == nil) {
			t.Errorf("label %q: the simulation says %v, a bridge port says %v", l, simErr, portErr)
		}
		if simErr != nil && !strings.Contains(simErr.Error(), "at most 63 printable ASCII characters") {
			t.Errorf("label %q refused as %q: want the limit named", l, simErr)
		}
	}
}
