// Package megabase generates the built-in maps megabase-10k and megabase-full: large
// bases laid out by code from a seed, built entity by entity through sim's exported
// API (Surface.Build with a BuildSpec), with the production plan (PlanFull) that sizes
// megabase-full. Importing the package registers both maps with sim.RegisterMap, so
// sim.Maps and sim.NewMap list and build them; see DESIGN.md.
package megabase

import "github.com/starlane/starlane/sim"

func init() {
	sim.RegisterMap("megabase-10k", "a generated base researching at 10,000 SPM of red and green science, from ore to labs", genMegabase)
	sim.RegisterMap("megabase-full", "a generated base researching at 2,700 SPM with all seven packs from ore, coal, stone, crude oil and water: beaconed assemblers with modules, rocket silos and labs; every row, the rocket silos' parts and their satellites (made beside them) fed by lines from raw resources; powered by solar panels and accumulators", genMegabaseFull)
}
