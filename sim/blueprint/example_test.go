package blueprint_test

import (
	"fmt"
	"os"

	"github.com/starlane/starlane/sim/blueprint"
)

// A 0.17 balancer: 8-way directions in the string, 16-way in the model.
func Example() {
	s, err := os.ReadFile("../../testdata/blueprints/belt_balancer_4x4.txt")
	if err != nil {
		panic(err)
	}
	o, err := blueprint.Decode(string(s))
	if err != nil {
		fmt.Println(err)
		return
	}
	bp, _ := o.Select(0)
	e := bp.Entities[4]
	fmt.Println(o.Kind, bp.Version, len(bp.Entities), "entities")
	fmt.Println(e.Name, e.Position, e.Direction, int(e.Direction))

	sum := blueprint.Inspect(o, func(name string) bool { return name != "splitter" })
	fmt.Println(sum.EntityCounts, sum.Unsupported)
	// Output:
	// blueprint 0.17.36.0 24 entities
	// transport-belt (-1, -2) west 12
	// map[splitter:6 transport-belt:14 underground-belt:4] map[splitter:6]
}

// Errors name the place in the JSON.
func ExampleDecodeJSON() {
	_, err := blueprint.DecodeJSON([]byte(`{"blueprint":{"entities":[{"entity_number":1,"name":"inserter","position":[0,0]}]}}`))
	fmt.Println(err)
	// Output:
	// blueprint.entities[0].position: expected object, got array
}
