package controller

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Every unary RPC a controller serves is either answered by each controller
// itself or forwarded to the leader: a write missing from both lists failed on
// followers with "not the leader" (bridges were, and the dashboard's bridge
// form failed on two controllers of three).
func TestEveryUnaryMethodIsRouted(t *testing.T) {
	services := []protoreflect.FullName{"starlane.v1.ClusterService", "starlane.v1.NodeService", "starlane.v1.AccessService",
		"starlane.v1.SaveService", "starlane.v1.BundleService", "starlane.v1.BlobService"}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			if m.IsStreamingClient() || m.IsStreamingServer() {
				continue
			}
			full := fmt.Sprintf("/%s/%s", name, m.Name())
			if leaderMethods[full] == localMethods[full] {
				t.Errorf("%s is in neither or both of leaderMethods and localMethods", full)
			}
		}
	}
}
