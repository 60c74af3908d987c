package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/proctest"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim/simtest"
)

// TestHostileRequestsAreRefusedAtTheAPI drives a controller and a node started
// as processes with a raw gRPC client built from the project's protos, as any
// integration could. On main before field limits, `map: "/dev/zero"` made the
// chosen node read until it ran out of memory, `map: "/etc/passwd"` versus a
// missing path told the caller which files exist on every node, and a 3.9 MB
// planet was stored in Raft until `surface list` failed for every operator.
func TestHostileRequestsAreRefusedAtTheAPI(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	cc, err := grpc.NewClient(c.CtlAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	api := pb.NewClusterServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	big := strings.Repeat("x", 3_900_000)
	for _, tc := range []struct {
		name string
		req  *pb.CreateSurfaceRequest
		want string
	}{
		{"a device as map", &pb.CreateSurfaceRequest{Name: "zero", Map: "/dev/zero"}, `map: "/dev/zero" is not a built-in map`},
		{"a file as map", &pb.CreateSurfaceRequest{Name: "passwd", Map: "/etc/passwd"}, `map: "/etc/passwd" is not a built-in map`},
		{"a missing file as map", &pb.CreateSurfaceRequest{Name: "missing", Map: "/no/such/file"}, `map: "/no/such/file" is not a built-in map`},
		{"a 3.9 MB planet", &pb.CreateSurfaceRequest{Name: "big", Planet: big}, "unknown planet"},
		{"an unknown planet", &pb.CreateSurfaceRequest{Name: "pluto", Planet: "pluto"}, `unknown planet "pluto": this cluster knows`},
		{"a 5 MB name", &pb.CreateSurfaceRequest{Name: strings.Repeat("n", 5<<20)}, "is not a valid name"},
		{"too many replicas", &pb.CreateSurfaceRequest{Name: "many", Replicas: 1000}, "replicas: 1000 is out of range"},
	} {
		_, err := api.CreateSurface(ctx, tc.req)
		msg := status.Convert(err).Message()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %v; want InvalidArgument %q", tc.name, err, tc.want)
		}
		if len(msg) > 400 {
			t.Errorf("%s: the refusal is %d bytes long; a bad value must be quoted short", tc.name, len(msg))
		}
	}
	// Nothing of it was stored: the list still answers, and is empty.
	var list []struct{ Name string }
	c.JSON(&list, "surface", "list", "--json")
	if len(list) != 0 {
		t.Fatalf("refused surfaces were stored: %v", list)
	}
	if log := c.Nodes["n1"].Log(); strings.Contains(log, "/dev/zero") || strings.Contains(log, "/etc/passwd") {
		t.Fatal("the node was handed a path from a request")
	}

	// A save travels as content: it need not exist anywhere but on the client.
	save := filepath.Join(dir, "outpost.sav")
	proctest.Run(t, bin, time.Minute, "sim", "run", "--map", "outpost", "--ticks", "120", "--save", save)
	c.CLI("surface", "create", "gleba", "--map", save)
	if err := os.Remove(save); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, 60*time.Second, "gleba, made from an uploaded save, to tick on n1", func() bool {
		var s struct {
			Map   string                 `json:"map"`
			Stats *struct{ Tick uint64 } `json:"stats"`
		}
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "gleba", "--json", "--controller", c.CtlAddr)
		return code == 0 && jsonInto(out, &s) && s.Map == "outpost" && s.Stats != nil && s.Stats.Tick > 180
	})
}

// TestSaveBombIsRefusedCheaply: a 50 KB save whose state inflates to 1.5 GB is
// refused by `sim run` in a few seconds and within a few MB of memory. On main
// before the limit came from the frame it used 3.13 GB and 27 s.
func TestSaveBombIsRefusedCheaply(t *testing.T) {
	dir, bin := processTest(t, "writes and reads a 1.5 GB decompression bomb")
	bomb := filepath.Join(dir, "bomb.sav")
	if err := os.WriteFile(bomb, mustBomb(t, 1500<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "sim", "run", "--map", bomb, "--ticks", "1")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err == nil {
		t.Fatal("sim run loaded a decompression bomb")
	}
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errOut.String(), "inflates past") {
		t.Fatalf("exit %d, stderr %q; want exit 1 and a refusal", cmd.ProcessState.ExitCode(), errOut.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	t.Logf("refused a 1.5 GB bomb in %v with %d MB peak RSS", took.Round(time.Millisecond), rss>>20)
	if rss > 150<<20 {
		t.Errorf("refusing the bomb peaked at %d MB resident; want a few MB over the program's own", rss>>20)
	}
	if took > 20*time.Second {
		t.Errorf("refusing the bomb took %v", took)
	}
}

func mustBomb(t *testing.T, size int64) []byte {
	t.Helper()
	b, err := simtest.BombSave(size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSaveCommands: a save is uploaded once, listed, described, used by a
// surface by name, downloaded with an equal hash, and deleted only once no
// surface uses it; a save no node could load is refused before it is sent.
func TestSaveCommands(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	file := filepath.Join(dir, "Hub Base.sav")
	proctest.Run(t, bin, time.Minute, "sim", "run", "--map", "hub", "--ticks", "60", "--save", file)
	var up struct {
		Name     string `json:"name"`
		Sha256   string `json:"sha256"`
		Replicas int    `json:"replicas"`
	}
	c.JSON(&up, "save", "upload", file)
	if up.Name != "hub-base" || len(up.Sha256) != 64 || up.Replicas != 1 {
		t.Fatalf("upload answered %+v", up)
	}
	c.CLI("surface", "create", "fulgora", "--save", "hub-base")
	var list []struct{ Name string }
	c.JSON(&list, "save", "list", "--json")
	if len(list) != 1 || list[0].Name != "hub-base" {
		t.Fatalf("save list: %+v", list)
	}
	var got struct{ Surfaces []string }
	c.JSON(&got, "save", "get", up.Sha256, "--json")
	if len(got.Surfaces) != 1 || got.Surfaces[0] != "fulgora" {
		t.Fatalf("save get by hash: %+v", got)
	}
	back := filepath.Join(dir, "back.sav")
	c.CLI("save", "download", "hub-base", "--out", back)
	a, _ := os.ReadFile(file)
	b, _ := os.ReadFile(back)
	if !bytes.Equal(a, b) {
		t.Fatal("the downloaded save differs from the uploaded file")
	}
	if _, errOut, code := proctest.Run(t, bin, 30*time.Second, "save", "delete", "hub-base", "--controller", c.CtlAddr); code != 1 || !strings.Contains(errOut, "surface fulgora starts from") {
		t.Fatalf("delete of a save in use: exit %d, %q", code, errOut)
	}
	corrupt := filepath.Join(dir, "corrupt.sav")
	a[len(a)-5] ^= 0xff
	os.WriteFile(corrupt, a, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"save", "upload", corrupt}, "checksum mismatch"},
		{[]string{"save", "upload", filepath.Join(dir, "missing.sav")}, "missing.sav is not a readable save file: no such file or directory"},
		{[]string{"surface", "create", "gleba", "--save", "nosuch"}, "there is no save nosuch"},
		{[]string{"surface", "create", "gleba", "--save", "hub-base", "--map", "starter"}, "give --map or --save, not both"},
	} {
		_, errOut, code := proctest.Run(t, bin, 30*time.Second, append(tc.args, "--controller", c.CtlAddr)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
	c.CLI("surface", "delete", "fulgora", "--yes")
	// Deleted by a prefix of its hash, as the other save commands take it.
	if out := c.CLI("save", "delete", up.Sha256[:12]); !strings.Contains(out, "deleted save hub-base") {
		t.Fatalf("save delete by hash prefix: %q", out)
	}
	c.JSON(&list, "save", "list", "--json")
	if len(list) != 0 {
		t.Fatalf("saves left after the delete: %+v", list)
	}
}
