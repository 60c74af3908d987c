package sim

import (
	"strings"
	"testing"
)

func TestCheckBuildAgreesWithTheAction(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "empty", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActJoin, Name: "p"})}})
	p, _ := s.Player(1)
	x, y := tileOfPos(p.Pos.X)+2, tileOfPos(p.Pos.Y)
	before := s.Hash()
	for _, tc := range []struct {
		sp   BuildSpec
		want string
	}{
		{BuildSpec{Name: "wooden-chest", X: x, Y: y}, ""},
		{BuildSpec{Name: "wooden-chest", X: x + 40, Y: y}, "out of reach"},
		{BuildSpec{Name: "steel-chest", X: x, Y: y}, "none in the inventory"},
	} {
		err := s.CheckBuild(1, tc.sp)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: got %v, want %q", tc.sp, err, tc.want)
		}
	}
	if s.Hash() != before {
		t.Fatal("CheckBuild changed the surface")
	}
	s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActBuild, Build: BuildSpec{Name: "wooden-chest", X: x, Y: y}})}})
	if r := s.LastResults(); len(r) != 1 || r[0].Err != "" {
		t.Fatalf("the build CheckBuild accepted failed: %+v", r)
	}
	if err := s.CheckBuild(1, BuildSpec{Name: "wooden-chest", X: x, Y: y}); err == nil || !strings.Contains(err.Error(), "collides") {
		t.Fatalf("building on the chest: %v", err)
	}
	if d := s.DescribeEntity(uint32(r0(s))); !strings.HasPrefix(d, "wooden-chest #") {
		t.Fatalf("describe: %q", d)
	}
}

func r0(s *Surface) EntityID { return s.LastResults()[0].Entity }
