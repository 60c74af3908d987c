package sim

import (
	"testing"
)

// FuzzStep applies arbitrary input bytes from arbitrary players to a running factory:
// whatever they are, the surface rejects or applies them and never panics.
func FuzzStep(f *testing.F) {
	for _, a := range []Action{
		{Kind: ActJoin, Name: "p"},
		{Kind: ActBuild, Build: BuildSpec{Name: "transport-belt", X: 1, Y: 1, Dir: East}},
		{Kind: ActBuild, Build: BuildSpec{Name: "assembling-machine-1", X: -5, Y: -5, Recipe: "iron-gear-wheel"}},
		{Kind: ActBuild, Build: BuildSpec{Name: "infinity-chest", X: 3, Y: 3, Infinity: &InfinitySettings{Filters: []InfinityFilter{{Item: "coal", Count: 5}}}}},
		{Kind: ActMine, X: 0, Y: 0},
		{Kind: ActRotate, X: 1, Y: 1},
		{Kind: ActInsert, X: 10, Y: 2, Name: "iron-plate", Count: 5},
		{Kind: ActTake, X: 14, Y: 2, Name: "iron-gear-wheel", Count: 1},
		{Kind: ActSetRecipe, X: 10, Y: 2, Name: "copper-cable"},
		{Kind: ActMove, X: 512, Y: -512},
		{Kind: ActGive, Target: 1, Name: "coal", Count: 10},
		{Kind: ActDeliver, Entity: 3, Seq: 1, Names: []string{"coal", "stone"}, Counts: []int32{1, 5}},
		{Kind: ActAck, Entity: 3, Seq: 1, Credit: 5},
		{Kind: ActSetResearch, Name: "automation"},
		{Kind: ActPaste, Data: []byte("0eNqrVkrKKU0tKMrMK1GyqlYqLknMzUxRsqpWKkktLlGyMjQwMDE0MDE2sTQzqq0FAOfWDlw="), X: 2, Y: 2},
	} {
		f.Add(uint32(1), EncodeAction(a))
		f.Add(uint32(0), EncodeAction(a))
	}
	f.Add(uint32(7), []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, player uint32, data []byte) {
		s, err := NewMap(DefaultBundle(), "starter", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActJoin, Name: "p"})}})
		s.Step([]Input{{Player: player % 3, Data: data}})
		s.Run(30)
		if len(s.LastResults()) != 0 {
			t.Fatalf("results of a tick without inputs: %v", s.LastResults())
		}
	})
}
