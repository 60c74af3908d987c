package render

import (
	"image/color"

	"github.com/starlane/starlane/sim"
)

// The game's map colours, from Factorio 2.0.77's prototype data (wube/factorio-data,
// tag 2.0.77), converted as the game does: components up to 1 are fractions of 255,
// larger ones are bytes already; fractions are rounded to the nearest byte.
//
//   - entities: core/prototypes/utility-constants.lua, chart.default_friendly_color_by_type
//     (transport-belt, underground-belt, splitter, solar-panel, accumulator), and
//     chart.default_friendly_color {0, 0.38, 0.57} for every other player entity (the
//     vanilla assemblers, furnaces, inserters, drills, labs and chests set no map colour
//     of their own); electric poles: chart.electric_power_pole_color; wires between poles:
//     chart.copper_wire_color.
//   - resources: base/prototypes/entity/resources.lua, map_color of each ore.
//   - ground: each planet's most common flat tile's map_color: grass-1
//     (base/prototypes/tile/tiles.lua) on nauvis, volcanic-ash-flats on vulcanus,
//     fulgoran-sand on fulgora, natural-yumako-soil on gleba, snow-flat on aquilo
//     (space-age/prototypes/tile/tiles-*.lua); out-of-map beyond the map's edge.
//
// Items have no map colour in the game. Items on belts are drawn in Starlane's own
// colours (itemColors): ores and their plates in the ore's map colour, anything else
// light grey.

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

var (
	// chart.default_friendly_color {0, 0.38, 0.57}.
	friendlyColor = rgb(0, 97, 145)
	// chart.electric_power_pole_color {0, 158, 163, 255}.
	poleColor = rgb(0, 158, 163)
	// chart.copper_wire_color {0, 212, 255, 255}.
	wireColor = rgb(0, 212, 255)
	// out-of-map tile map_color {0, 0, 0}.
	outOfMapColor = rgb(0, 0, 0)
	// Items on belts other than ores and plates (Starlane's own).
	otherItemColor = rgb(220, 220, 220)
)

// kindColors: chart.default_friendly_color_by_type for the kinds it names.
var kindColors = map[sim.Kind]color.RGBA{
	sim.KindBelt:        rgb(204, 161, 71),  // transport-belt {0.8, 0.63, 0.28}
	sim.KindUnderground: rgb(112, 92, 0),    // underground-belt {0.44, 0.36, 0}
	sim.KindSplitter:    rgb(255, 209, 0),   // splitter {1, 0.82, 0}
	sim.KindSolar:       rgb(31, 33, 36),    // solar-panel {0.12, 0.13, 0.14}
	sim.KindAccumulator: rgb(122, 122, 122), // accumulator {0.48, 0.48, 0.48}
	sim.KindPole:        poleColor,
}

// resourceColors: map_color of each resource prototype (resources.lua).
var resourceColors = map[string]color.RGBA{
	"iron-ore":    rgb(106, 134, 148), // {0.415, 0.525, 0.580}
	"copper-ore":  rgb(205, 99, 55),   // {0.803, 0.388, 0.215}
	"coal":        rgb(0, 0, 0),       // {0, 0, 0}
	"stone":       rgb(176, 156, 109), // {0.690, 0.611, 0.427}
	"uranium-ore": rgb(0, 179, 0),     // {0, 0.7, 0}
}

// groundColors: map_color of each planet's ground tile.
var groundColors = map[string]color.RGBA{
	"nauvis":   rgb(55, 53, 11),    // grass-1 {55, 53, 11}
	"vulcanus": rgb(53, 53, 53),    // volcanic-ash-flats {28+25, 28+25, 28+25}
	"fulgora":  rgb(118, 68, 56),   // fulgoran-sand {118, 68, 56}
	"gleba":    rgb(185, 166, 5),   // natural-yumako-soil {185, 166, 5}
	"aquilo":   rgb(190, 194, 197), // snow-flat {190, 194, 197}
}

// itemOre maps plates to the ore they are smelted from, for their colour on belts.
var itemOre = map[string]string{
	"iron-plate": "iron-ore", "copper-plate": "copper-ore", "steel-plate": "iron-ore", "stone-brick": "stone",
}

// EntityColor returns the map colour of an entity kind.
func EntityColor(k sim.Kind) color.RGBA {
	if c, ok := kindColors[k]; ok {
		return c
	}
	return friendlyColor
}

// ResourceColor returns the map colour of a resource, and whether it has one.
func ResourceColor(name string) (color.RGBA, bool) {
	c, ok := resourceColors[name]
	return c, ok
}

// GroundColor returns the map colour of a planet's ground (grass-1 for unknown planets).
func GroundColor(planet string) color.RGBA {
	if c, ok := groundColors[planet]; ok {
		return c
	}
	return groundColors["nauvis"]
}

// ItemColor returns the colour an item is drawn in on a belt.
func ItemColor(name string) color.RGBA {
	if ore, ok := itemOre[name]; ok {
		name = ore
	}
	if c, ok := resourceColors[name]; ok {
		if c == (color.RGBA{0, 0, 0, 255}) {
			return rgb(40, 40, 40) // coal: black on a dark belt shadow would vanish
		}
		return c
	}
	return otherItemColor
}
