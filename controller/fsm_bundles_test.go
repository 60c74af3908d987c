package controller

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func bundleCmd(op any) *pb.Command {
	cmd := c(nil)
	switch o := op.(type) {
	case *pb.PutBundleCmd:
		cmd.Op = &pb.Command_PutBundle{PutBundle: o}
	case *pb.DeleteBundleCmd:
		cmd.Op = &pb.Command_DeleteBundle{DeleteBundle: o}
	case *pb.PutSaveCmd:
		cmd.Op = &pb.Command_PutSave{PutSave: o}
	case *pb.DeleteSaveCmd:
		cmd.Op = &pb.Command_DeleteSave{DeleteSave: o}
	default:
		panic(fmt.Sprintf("unknown op %T", op))
	}
	return cmd
}

// TestFSMBundleCommands applies each bundle command on a state with an
// uploaded bundle used by a surface and a save, checks the outcome and the
// message an operator sees, and that snapshot -> restore gives the same state.
func TestFSMBundleCommands(t *testing.T) {
	t.Parallel()
	space, krast, vanilla := strings.Repeat("3f", 32), strings.Repeat("7a", 32), strings.Repeat("11", 32)
	base := func() []*pb.Command {
		return []*pb.Command{
			c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: "n1", Bundles: []string{vanilla}, BundleNames: []string{"vanilla"}}}),
			c(&pb.RegisterNodeCmd{Node: &pb.Node{Id: "n2", Bundles: []string{vanilla}, BundleNames: []string{"vanilla"}, BundlesFixed: true}}),
			bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "space-age", Hash: space, Size: 100, BundleName: "space-age", Version: "2.0.76"}}),
			bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "krastorio", Hash: krast, Size: 100}}),
			c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "nauvis", BundleHash: space, Replicas: 1}}),
			bundleCmd(&pb.PutSaveCmd{Save: &pb.SaveInfo{Name: "base", Sha256: strings.Repeat("ab", 32), Size: 10, BundleHash: krast}}),
		}
	}
	for _, tc := range []struct {
		name  string
		cmd   *pb.Command
		code  codes.Code
		msg   string
		check func(t *testing.T, s *pb.ClusterState)
	}{
		{"put a bundle", bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "bobs", Hash: strings.Repeat("cd", 32), Size: 5}}), codes.OK, "",
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "bundles", len(s.Bundles), 3) }},
		{"put the same bundle again", bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "space-age", Hash: space, Size: 100}}), codes.OK, "", nil},
		{"put other content under a taken name", bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "space-age", Hash: strings.Repeat("cd", 32), Size: 5}}),
			codes.AlreadyExists, "bundle space-age already exists with other content 'space-age' (3f3f3f3f3f3f…)", nil},
		{"put known content under another name", bundleCmd(&pb.PutBundleCmd{Bundle: &pb.BundleInfo{Name: "sa", Hash: space, Size: 100}}),
			codes.AlreadyExists, "this content is already bundle 'space-age'", nil},
		{"delete a bundle a surface uses", bundleCmd(&pb.DeleteBundleCmd{Name: "space-age"}), codes.FailedPrecondition,
			"bundle 'space-age' (3f3f3f3f3f3f…) is in use by surface nauvis; delete those first", nil},
		{"delete a bundle a save uses", bundleCmd(&pb.DeleteBundleCmd{Name: krast[:10]}), codes.FailedPrecondition,
			"bundle 'krastorio' (7a7a7a7a7a7a…) is in use by save base; delete those first", nil},
		{"delete an unknown bundle", bundleCmd(&pb.DeleteBundleCmd{Name: "nosuch"}), codes.NotFound, "there is no uploaded bundle nosuch", nil},
		{"delete by a hash prefix too short to be one", bundleCmd(&pb.DeleteBundleCmd{Name: krast[:4]}), codes.NotFound,
			"there is no uploaded bundle 7a7a (a hash prefix needs 8 or more hex digits)", nil},
		{"pin to a node that cannot get the bundle", c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "gleba", BundleHash: space, Pin: "n2"}}), codes.InvalidArgument,
			"cannot pin surface gleba to node n2: bundle mismatch: surface gleba needs bundle 'space-age' (3f3f3f3f3f3f…), node n2 has 'vanilla' (111111111111…)", nil},
		{"pin to a node that fetches the bundle", c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "gleba", BundleHash: space, Pin: "n1"}}), codes.OK, "",
			func(t *testing.T, s *pb.ClusterState) { wantLen(t, "surfaces", len(s.Surfaces), 2) }},
		{"a surface from a save takes its bundle", c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "gleba", SaveSha256: "base"}}), codes.OK, "",
			func(t *testing.T, s *pb.ClusterState) { wantEq(t, "bundle", s.Surfaces[0].BundleHash, krast) }},
		{"a surface from a save with another bundle", c(&pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: "gleba", SaveSha256: "base", BundleHash: space}}), codes.InvalidArgument,
			"bundle mismatch: save base was made with bundle 'krastorio' (7a7a7a7a7a7a…), surface gleba asks for bundle 'space-age'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFSM(nil)
			for _, cmd := range base() {
				if res := applyCmd(t, f, cmd); res.Code != 0 {
					t.Fatalf("setup command failed: %v", res)
				}
			}
			res := applyCmd(t, f, tc.cmd)
			if codes.Code(res.Code) != tc.code || !strings.Contains(res.Message, tc.msg) {
				t.Fatalf("result %v %q, want %v %q", codes.Code(res.Code), res.Message, tc.code, tc.msg)
			}
			after := stateOf(f)
			if tc.check != nil {
				tc.check(t, after)
			}
			g := roundTrip(t, f)
			if diff := cmp.Diff(after, stateOf(g), protocmp.Transform()); diff != "" {
				t.Fatalf("restored state differs (-orig +restored):\n%s", diff)
			}
		})
	}
}
