// Package megabase generates the built-in maps megabase-10k and megabase-full: large
// bases laid out by code from a seed, built entity by entity through sim's exported
// API (Surface.Build with a BuildSpec), with the production plan (PlanFull) that sizes
// megabase-full. Importing the package registers both maps with sim.RegisterMap, so
// sim.Maps and sim.NewMap list and build them; see DESIGN.md.
package megabase

import "github.com/starlane/starlane/sim"

func init() {
	sim.RegisterMap("megabase-10k", "a generated base researching at 10,000 SPM of red and green science, from ore to labs", genMegabase)
	sim.RegisterMap("megabase-full", "a generated science floor researching at 2,700 SPM with all seven packs: beaconed assemblers with modules, rocket silos and labs; the automation, logistic, military, chemical and production rows, the utility row's processing units, low density structures and flying robot frames and the silos' rocket fuel fed from ore, coal, stone, crude oil and water, the silos taking every ingredient from belts and their satellites made beside them, the satellites' solar panels, accumulators and radars and the silos' processing units from infinity chests; powered by solar panels and accumulators", genMegabaseFull)
}
