// Package module is the arithmetic of Factorio's modules and beacons: module
// effects, what an entity allows, the 2.0 beacon transmission rule and the
// limits on the sums. It is integer-only and knows nothing of surfaces; the
// simulation calls it when a module or beacon changes, never per tick.
package module

import "fmt"

// Effect is a sum of module effects in hundredths (percent), the precision
// the game keeps (it ignores effect digits beyond two decimals).
type Effect struct {
	Speed        int32 `json:"speed,omitempty"`
	Productivity int32 `json:"productivity,omitempty"`
	Consumption  int32 `json:"consumption,omitempty"`
	Pollution    int32 `json:"pollution,omitempty"`
	Quality      int32 `json:"quality,omitempty"`
}

// Add returns e + o.
func (e Effect) Add(o Effect) Effect {
	return Effect{e.Speed + o.Speed, e.Productivity + o.Productivity, e.Consumption + o.Consumption,
		e.Pollution + o.Pollution, e.Quality + o.Quality}
}

// IsZero reports whether the effect changes nothing.
func (e Effect) IsZero() bool { return e == Effect{} }

// Allowed is a set of effect kinds an entity accepts.
type Allowed uint8

// Effect kinds, as allowed_effects names them.
const (
	AllowSpeed Allowed = 1 << iota
	AllowProductivity
	AllowConsumption
	AllowPollution
	AllowQuality
)

// ParseAllowed reads allowed_effects names.
func ParseAllowed(names []string) (Allowed, error) {
	var a Allowed
	for _, n := range names {
		switch n {
		case "speed":
			a |= AllowSpeed
		case "productivity":
			a |= AllowProductivity
		case "consumption":
			a |= AllowConsumption
		case "pollution":
			a |= AllowPollution
		case "quality":
			a |= AllowQuality
		default:
			return 0, fmt.Errorf("unknown effect %q", n)
		}
	}
	return a, nil
}

// Accepts reports whether every non-zero part of e is allowed: the game
// refuses a module with any effect its receiver does not allow (a
// productivity module in a beacon, a speed module in a burner drill).
func (a Allowed) Accepts(e Effect) bool {
	return (e.Speed == 0 || a&AllowSpeed != 0) &&
		(e.Productivity == 0 || a&AllowProductivity != 0) &&
		(e.Consumption == 0 || a&AllowConsumption != 0) &&
		(e.Pollution == 0 || a&AllowPollution != 0)
	// Quality is not simulated: a module's quality penalty (speed modules) is
	// ignored, and quality modules are refused by name before this.
}

// Keep returns e without the parts a receiver does not allow.
func (a Allowed) Keep(e Effect) Effect {
	if a&AllowSpeed == 0 {
		e.Speed = 0
	}
	if a&AllowProductivity == 0 {
		e.Productivity = 0
	}
	if a&AllowConsumption == 0 {
		e.Consumption = 0
	}
	if a&AllowPollution == 0 {
		e.Pollution = 0
	}
	e.Quality = 0
	return e
}

// Limits bound the summed effect of one receiver, in percent.
type Limits struct {
	MinSpeed, MinConsumption, MinPollution int32
	MinProductivity, MaxProductivity       int32
}

// Clamp applies the limits.
func (l Limits) Clamp(e Effect) Effect {
	e.Speed = max(e.Speed, l.MinSpeed)
	e.Consumption = max(e.Consumption, l.MinConsumption)
	e.Pollution = max(e.Pollution, l.MinPollution)
	e.Productivity = min(max(e.Productivity, l.MinProductivity), l.MaxProductivity)
	return e
}

// Beacon is a beacon prototype's transmission numbers.
type Beacon struct {
	// Distribution is distribution_effectivity in percent (150 = 1.5).
	Distribution int32
	// Profile is the 2.0 profile in ten-thousandths: with n beacons of this
	// type reaching a machine, each transmits Profile[n-1] of its effect
	// (the last entry for more beacons than the profile lists).
	Profile []int32
}

// Transmission accumulates the beacons reaching one receiver: Add each
// beacon's module sum, then Effect gives the total. Keeping the sum exact and
// rounding once at the end makes the order of beacons irrelevant.
type Transmission struct {
	n   int32
	sum [4]int64 // speed, productivity, consumption, pollution: percent × distribution percent
}

// Add counts one beacon whose modules sum to e (already limited to what the
// beacon allows) with distribution d percent.
func (t *Transmission) Add(e Effect, d int32) {
	t.n++
	t.sum[0] += int64(e.Speed) * int64(d)
	t.sum[1] += int64(e.Productivity) * int64(d)
	t.sum[2] += int64(e.Consumption) * int64(d)
	t.sum[3] += int64(e.Pollution) * int64(d)
}

// Count is the number of beacons added.
func (t *Transmission) Count() int32 { return t.n }

// Effect returns what the beacons give: the sum of their effects times
// distribution effectivity times profile(n), truncated to whole percent
// toward zero as the game drops digits beyond two decimals.
func (t *Transmission) Effect(profile []int32) Effect {
	if t.n == 0 || len(profile) == 0 {
		return Effect{}
	}
	p := int64(profile[min(int(t.n), len(profile))-1])
	const scale = 100 * 10000 // distribution percent × profile ten-thousandths
	f := func(v int64) int32 { return int32(v * p / scale) }
	return Effect{Speed: f(t.sum[0]), Productivity: f(t.sum[1]), Consumption: f(t.sum[2]), Pollution: f(t.sum[3])}
}

// Scale returns base × (100 + percent) / 100, the value of a base quantity
// (crafting speed, energy usage) under an effect, truncated.
func Scale(base int64, percent int32) int64 { return base * int64(100+percent) / 100 }
