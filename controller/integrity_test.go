package controller

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// A committed entry that does not verify stops the FSM there: it is not skipped,
// and nothing after it is applied (which would build a state no peer has).
func TestFSMHaltsAtAnEntryItCannotVerify(t *testing.T) {
	t.Parallel()
	f := NewFSM(nil)
	create := func(name string) []byte {
		b, err := proto.Marshal(&pb.Command{Op: &pb.Command_CreateSurface{CreateSurface: &pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: name}}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := create("nauvis")
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: good, Extensions: commandExtensions(good)}})

	// One flipped byte inside the name still decodes: only the checksum tells.
	flipped := create("vulcanus")
	ext := commandExtensions(flipped)
	flipped[len(flipped)-2] ^= 0x20
	if _, err := verifyCommand(flipped, nil); err != nil {
		t.Fatalf("the damaged command should still decode (that is why it needs a checksum): %v", err)
	}
	after := create("gleba")
	out := f.ApplyBatch([]*raft.Log{
		{Index: 2, Type: raft.LogCommand, Data: flipped, Extensions: ext},
		{Index: 3, Type: raft.LogCommand, Data: after, Extensions: commandExtensions(after)},
	})
	select {
	case <-f.Halted():
	default:
		t.Fatal("the FSM did not halt")
	}
	if h := f.Halt(); h == nil || h.Index != 2 || !strings.Contains(h.Error(), "checksum") {
		t.Fatalf("halt: %v", h)
	}
	for i, r := range out {
		if r.(*pb.CommandResult).Code == 0 {
			t.Errorf("entry %d after the halt was applied", i+2)
		}
	}
	var names []string
	f.read(func(s *state) {
		for n := range s.surfaces {
			names = append(names, n)
		}
	})
	if len(names) != 1 || names[0] != "nauvis" || f.Index() != 1 {
		t.Fatalf("after the halt the FSM holds %v at index %d, want only nauvis at index 1", names, f.Index())
	}

	// Garbage that does not decode halts a fresh FSM the same way.
	g := NewFSM(nil)
	g.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: []byte{0xff, 0xff, 0xff}}})
	if h := g.Halt(); h == nil || h.Index != 1 {
		t.Fatalf("undecodable entry: halt %v", h)
	}
	se := &StorageError{ID: "c1", File: "/data/c1/raft.db", Index: 22, Err: errors.Join(ErrStorage, errors.New("checksum mismatch"))}
	msg := se.Error()
	for _, want := range []string{"/data/c1/raft.db", "index 22", "--rebuild-from-peers"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the storage error does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "--bootstrap") {
		t.Errorf("the storage error suggests --bootstrap: %s", msg)
	}
}
