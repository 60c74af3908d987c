package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// The rocket silo and the packs beyond red and green (data/science.json).
//
// A silo is a crafting machine with the fixed recipe rocket-part: each finished
// part goes into the rocket instead of an output slot. With all parts built and
// a satellite loaded (an inserter puts it in), the rocket launches: the silo
// draws its active power for the launch time, then the satellite's launch
// products (1,000 space science packs) land in the silo's result slot, where
// inserters take them. Starlane runs the base game without Space Age, where
// Factorio 2.0 keeps 1.1's rule (item.lua gives the satellite
// rocket_launch_products of 1,000 space science); Space Age's cargo to space
// platforms does not exist there.

type scienceFile struct {
	Items   map[string]json.RawMessage `json:"items"`
	Launch  map[string]json.RawMessage `json:"launch_products"`
	Recipes map[string]json.RawMessage `json:"recipes"`
	Silo    json.RawMessage            `json:"rocket_silo"`
	Techs   map[string]json.RawMessage `json:"technologies"`
}

func addScience(b *Bundle, raw []byte) error {
	var x scienceFile
	if err := json.Unmarshal(raw, &x); err != nil {
		return err
	}
	for name, r := range x.Items {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var n int32
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("items.%s: %w", name, err)
		}
		b.Items = append(b.Items, ItemProto{Name: name, StackSize: n})
	}
	for name, r := range x.Launch {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var lp struct {
			Item   string `json:"item"`
			Amount int32  `json:"amount"`
		}
		if err := json.Unmarshal(r, &lp); err != nil {
			return fmt.Errorf("launch_products.%s: %w", name, err)
		}
		found := false
		for i := range b.Items {
			if b.Items[i].Name == name {
				b.Items[i].LaunchItem, b.Items[i].LaunchCount = lp.Item, lp.Amount
				found = true
			}
		}
		if !found {
			return fmt.Errorf("launch_products.%s: no such item", name)
		}
	}
	if err := addRecipes(b, x.Recipes); err != nil {
		return err
	}
	var sj struct {
		Name        string   `json:"name"`
		Tiles       [2]int32 `json:"tiles"`
		Speed       float64  `json:"crafting_speed"`
		Usage       string   `json:"energy_usage"`
		Active      string   `json:"active_energy_usage"`
		Parts       int32    `json:"rocket_parts_required"`
		Slots       int32    `json:"module_slots"`
		Recipe      string   `json:"fixed_recipe"`
		Categories  []string `json:"categories"`
		LaunchParts struct {
			Doors       float64 `json:"doors"`
			Rising      float64 `json:"rising"`
			Blinking    float64 `json:"blinking"`
			EngineStart float64 `json:"engine_start"`
		} `json:"launch_seconds"`
	}
	if err := json.Unmarshal(x.Silo, &sj); err != nil {
		return fmt.Errorf("rocket_silo: %w", err)
	}
	usage, err := parseEnergy(sj.Usage, "W")
	if err != nil {
		return fmt.Errorf("rocket_silo: %w", err)
	}
	active, err := parseEnergy(sj.Active, "W")
	if err != nil {
		return fmt.Errorf("rocket_silo: %w", err)
	}
	lt := sj.LaunchParts
	launch := int32(math.Round((lt.Doors + lt.Rising + lt.Blinking + lt.EngineStart) * TicksPerSecond))
	b.Entities = append(b.Entities, EntityProto{Name: sj.Name, Kind: KindRocketSilo, W: sj.Tiles[0], H: sj.Tiles[1],
		Speed: speed100(sj.Speed), EnergyUsage: usage, Drain: usage / 30, Categories: sj.Categories,
		FixedRecipe: sj.Recipe, RocketParts: sj.Parts, LaunchTicks: launch, ActiveUsage: active})
	for name, r := range x.Techs {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var tj struct {
			Count int64    `json:"count"`
			Time  float64  `json:"time"`
			Packs []string `json:"packs"`
		}
		if err := json.Unmarshal(r, &tj); err != nil {
			return fmt.Errorf("technologies.%s: %w", name, err)
		}
		tp := TechProto{Name: name, Count: tj.Count, Work: secondsToWork(tj.Time)}
		for _, p := range tj.Packs {
			tp.Ingredients = append(tp.Ingredients, ItemAmount{p, 1})
		}
		b.Techs = append(b.Techs, tp)
	}
	return nil
}

// siloState is what a rocket silo has beyond a crafting machine.
type siloState struct {
	parts  int32  // rocket parts built into the rocket
	cargo  ItemID // the satellite loaded, 0 none
	launch int32  // ticks left of a launch in progress, 0 none
	res    ItemID // launch products waiting in the result slot
	resN   int32
}

// siloAccepts: a silo takes one item that has launch products into its rocket.
func (s *Surface) siloAccepts(c *crafter, item ItemID) int32 {
	if c.x.silo.cargo == 0 && c.x.silo.launch == 0 && s.b.Items[item-1].LaunchCount > 0 {
		return 1
	}
	return 0
}

// updateSilo runs a silo's launch; it reports true when the silo is busy with
// the rocket (launching, or waiting for a satellite or for room for the
// products) and must not craft parts.
func (s *Surface) updateSilo(ci int32, c *crafter, p *EntityProto) bool {
	st := &c.x.silo
	if st.launch > 0 {
		if c.net >= 0 {
			s.nets[c.net].demand += p.ActiveUsage
		}
		st.launch--
		if st.launch > 0 {
			return true
		}
		it := &s.b.Items[st.cargo-1]
		prod, _ := s.b.ItemID(it.LaunchItem)
		st.res = prod
		st.resN += it.LaunchCount
		s.stats.produce(prod, int64(it.LaunchCount))
		s.stats.consume(st.cargo, 1)
		rp, _ := s.b.ItemID("rocket-part")
		s.stats.consume(rp, int64(p.RocketParts))
		st.parts -= p.RocketParts
		st.cargo = 0
		s.hash = (s.hash ^ uint64(c.ent)<<9) * 0x100000001b3
		s.changed(c.ent)
		return false
	}
	if st.parts < p.RocketParts {
		return false
	}
	if st.cargo == 0 {
		s.sleep(KindAssembler, ci) // woken when a satellite is put in
		return true
	}
	it := &s.b.Items[st.cargo-1]
	prod, _ := s.b.ItemID(it.LaunchItem)
	if st.resN > 0 && (st.res != prod || st.resN+it.LaunchCount > s.b.Items[prod-1].StackSize) {
		s.sleep(KindAssembler, ci) // woken when the products are taken
		return true
	}
	st.launch = p.LaunchTicks
	s.changed(c.ent)
	return true
}
