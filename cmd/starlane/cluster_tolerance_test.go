package main

import (
	"strings"
	"testing"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// What `cluster peers` and `cluster status` say about writes, for the views an
// answering controller can have: with a leader that probed every voter, and as the
// one controller left running when the other two are paused (no leader, health
// unknown), where writes have stopped and the words must say so.
func TestFaultToleranceSaysWhenWritesStop(t *testing.T) {
	peer := func(id, health string, leader bool) *pb.ControllerPeer {
		return &pb.ControllerPeer{Id: id, Suffrage: "voter", Health: health, Leader: leader}
	}
	for _, tc := range []struct {
		name  string
		peers []*pb.ControllerPeer
		want  string
	}{
		{"all up", []*pb.ControllerPeer{peer("c1", "up", true), peer("c2", "up", false), peer("c3", "up", false)},
			"3 of 3 voters up: the cluster survives 1 failure"},
		{"one down", []*pb.ControllerPeer{peer("c1", "up", true), peer("c2", "up", false), peer("c3", "unreachable", false)},
			"2 of 3 voters up: one more failure stops writes"},
		{"two paused, no leader", []*pb.ControllerPeer{peer("c1", "unknown", false), peer("c2", "unknown", false), peer("c3", "unknown", false)},
			"no leader: writes stop until 2 of the 3 voters reach each other and elect one"},
		{"leader not probed yet", []*pb.ControllerPeer{peer("c1", "up", true), peer("c2", "unknown", false), peer("c3", "up", false)},
			"2 of 3 voters known up; the health of c2 is unknown"},
	} {
		_, _, say := faultTolerance(tc.peers)
		if !strings.Contains(say, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, say, tc.want)
		}
	}
}
