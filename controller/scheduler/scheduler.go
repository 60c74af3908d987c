// Package scheduler decides where surfaces run: it takes the cluster's nodes and
// surfaces and returns a plan of assignments. It is pure — no Raft, gRPC or clock —
// so the controller leader can run it on a copy of its state, re-check the plan
// against the state it is about to change, and commit it.
package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// TickBudgetUS is one core's time per tick at 60 UPS, in microseconds.
const TickBudgetUS = 16_666

// DefaultTickCostUS is the cost assumed for a surface that has not reported one
// and has no surface of its kind that has (Surface.Kind).
const DefaultTickCostUS = 1_000

// Node is a worker as the scheduler sees it.
type Node struct {
	ID       string
	Up       bool
	Cordoned bool
	// MaxSurfaces caps the shards (primaries and standbys) on the node; 0 = no cap.
	MaxSurfaces int
	// Cores gives the node Cores*TickBudgetUS of tick time; 0 counts as 1.
	Cores int
	// Bundles are the prototype bundle hashes the node has or can fetch.
	Bundles []string
	// BundleNames names bundle hashes for messages (read-only, may be shared).
	BundleNames map[string]string
	// Unhealthy says why the node should take no new copies (its disk is full);
	// "" = healthy. A primary there with a synced standby stays (if it fails, the
	// standby takes over through promotion); one without moves live to a healthy
	// node (a failed primary keeps serving its state for that), or stays until the
	// node has room again when no node can take it.
	Unhealthy string
}

// Surface is a surface with its current assignment and measured cost.
type Surface struct {
	Name string
	// Bundle is the prototype bundle hash the surface needs; "" = any node.
	Bundle string
	// Replicas is the number of copies: primary plus Replicas-1 standbys (min 1).
	Replicas int
	// Pin, if set, is the only node allowed to run the primary.
	Pin      string
	Primary  string
	Standbys []string
	Epoch    uint64
	// TickCostUS is the measured mean tick cost; 0 = unknown: the mean of the
	// surfaces of the same Kind that reported one, else DefaultTickCostUS.
	TickCostUS uint64
	// Kind groups surfaces that run the same thing (the same map or save, with the
	// same bundle); "" = a kind of its own. Surfaces created in a burst are placed
	// before any reports a cost: assuming DefaultTickCostUS for them while the ones
	// already measured cost a few µs made every new one look a thousand times
	// dearer than its measured siblings, and the nodes holding those siblings took
	// most of the burst (one of 100 nodes got 91 primaries of 3,000).
	Kind string
	// ConfirmedTicks holds the last confirmed tick reported per node, used to promote
	// the most up-to-date standby.
	ConfirmedTicks map[string]uint64
	// Synced are the standbys that hold every confirmed tick; only they may be
	// promoted.
	Synced []string
	// MigrationTarget is the node a live move in progress goes to ("" = none).
	MigrationTarget string
	// PlacementError is the reason recorded by the last plan, if any.
	PlacementError string
	// Refused maps nodes that refused to run the surface to their reason; no copy
	// goes there.
	Refused map[string]string
}

// State is the scheduler's input.
type State struct {
	Nodes    []Node
	Surfaces []Surface
}

// Change is a new assignment or placement error for one surface.
type Change struct {
	Surface string
	// ExpectedEpoch is the epoch the change was planned against (compare-and-swap).
	ExpectedEpoch uint64
	// Assign is set when Primary/Standbys replace the current assignment.
	Assign   bool
	Primary  string
	Standbys []string
	// PlacementError says what could not be done ("" = placed as asked).
	PlacementError string
	// Reason explains the change for the event log.
	Reason string
	// Migrate, if set, starts a live move of the primary to this node: the primary
	// stays until the target has caught up as a standby and taken over.
	Migrate string
}

// Plan is the scheduler's output: changes ordered by surface name.
type Plan struct {
	Changes []Change
}

type nodeLoad struct {
	node    *Node
	slots   int
	costUS  uint64
	bundles map[string]bool
	// primaries and standbys count the node's copies by role: among nodes
	// equally loaded, a new primary goes to the one with the fewest primaries
	// (and a standby to the one with the fewest standbys). Without it, equal
	// costs and a fixed scan order put every primary of a burst of creations on
	// every other node and every standby on the rest, so losing one node lost
	// twice its share of primaries (60 of 3,000 on one of 100 nodes).
	primaries, standbys int
}

func (l *nodeLoad) budget() uint64 {
	c := l.node.Cores
	if c <= 0 {
		c = 1
	}
	return uint64(c) * TickBudgetUS
}

func cost(s *Surface) uint64 {
	if s.TickCostUS == 0 {
		return DefaultTickCostUS
	}
	return s.TickCostUS
}

// Schedule computes the plan for s (s is only read; its order does not matter): places unassigned surfaces, moves primaries and
// standbys off down or cordoned nodes (promoting the most up-to-date standby),
// honours pins and bundles, keeps standbys off their primary's node, and balances
// by measured tick cost. Surfaces that already are as they should be get no change.
func Schedule(s State) Plan {
	s = withEstimates(s)
	loads, order := buildLoads(s)
	surfaces := s.Surfaces
	slices.SortFunc(surfaces, func(a, b Surface) int { return strings.Compare(a.Name, b.Name) })
	moving := map[string]int{} // moves in progress by source node
	for i := range surfaces {
		if sf := &surfaces[i]; sf.MigrationTarget != "" {
			moving[sf.Primary]++
		}
	}
	var plan Plan
	for i := range surfaces {
		sf := &surfaces[i]
		if c, ok := placeOne(sf, loads, order, moving); ok {
			plan.Changes = append(plan.Changes, c)
		}
	}
	return plan
}

// withEstimates returns s with its own copy of the surfaces, each that has not
// reported a tick cost given the mean cost of the surfaces of its kind that have
// (s is only read).
func withEstimates(s State) State {
	s.Surfaces = slices.Clone(s.Surfaces)
	estimateCosts(s.Surfaces)
	return s
}

// estimateCosts gives each surface that has not reported a tick cost the mean
// cost of the surfaces of its kind that have.
func estimateCosts(ss []Surface) {
	type mean struct{ sum, n uint64 }
	known := map[string]*mean{}
	for i := range ss {
		if s := &ss[i]; s.TickCostUS > 0 && s.Kind != "" {
			m := known[s.Kind]
			if m == nil {
				m = &mean{}
				known[s.Kind] = m
			}
			m.sum += s.TickCostUS
			m.n++
		}
	}
	for i := range ss {
		if s := &ss[i]; s.TickCostUS == 0 && s.Kind != "" {
			if m := known[s.Kind]; m != nil {
				s.TickCostUS = max(1, m.sum/m.n)
			}
		}
	}
}

// buildLoads indexes the nodes and counts every surface's copies on them.
func buildLoads(s State) (map[string]*nodeLoad, []string) {
	loads := map[string]*nodeLoad{}
	var order []string
	for i := range s.Nodes {
		n := &s.Nodes[i]
		l := &nodeLoad{node: n, bundles: map[string]bool{}}
		for _, b := range n.Bundles {
			l.bundles[b] = true
		}
		loads[n.ID] = l
		order = append(order, n.ID)
	}
	sort.Strings(order)
	for i := range s.Surfaces {
		sf := &s.Surfaces[i]
		for _, id := range copies(sf) {
			if loads[id] != nil {
				add(loads, id, sf, id == sf.Primary)
			}
		}
	}
	return loads, order
}

func copies(s *Surface) []string {
	var out []string
	if s.Primary != "" {
		out = append(out, s.Primary)
	}
	return append(out, s.Standbys...)
}

// exclusion says why a node cannot take a copy of s, or "" if it can.
func exclusion(l *nodeLoad, s *Surface, taken []string) string {
	n := l.node
	switch {
	case !n.Up:
		return n.ID + " is down"
	case n.Cordoned:
		return n.ID + " is cordoned"
	case s.Bundle != "" && !l.bundles[s.Bundle]:
		return BundleMismatch(s.Name, s.Bundle, n)
	case slices.Contains(taken, n.ID):
		return n.ID + " already hosts a copy"
	case strings.HasPrefix(s.Refused[n.ID], "standby dropped"):
		// Not the node's refusal: the controller dropped its copy and holds it
		// back for a while.
		return n.ID + " is held back after its copy was dropped (" + strings.TrimPrefix(s.Refused[n.ID], "standby dropped: ") + ")"
	case s.Refused[n.ID] != "":
		return n.ID + " refused it: " + s.Refused[n.ID]
	}
	return ""
}

func fits(l *nodeLoad, s *Surface) string {
	if l.node.MaxSurfaces > 0 && l.slots+1 > l.node.MaxSurfaces {
		return fmt.Sprintf("%s is full (%d/%d surfaces)", l.node.ID, l.slots, l.node.MaxSurfaces)
	}
	if l.costUS+cost(s) > l.budget() {
		return fmt.Sprintf("%s is over capacity (tick cost %d+%d us > %d us)", l.node.ID, l.costUS, cost(s), l.budget())
	}
	return ""
}

// usable reports whether an existing copy on id may stay there.
func usable(loads map[string]*nodeLoad, s *Surface, id string) bool {
	l := loads[id]
	return l != nil && exclusion(l, s, nil) == ""
}

// pick returns the least loaded node that can take a new copy of s, or the reasons
// why none can.
func pick(s *Surface, loads map[string]*nodeLoad, order []string, taken []string, only string, primary bool) (string, []string) {
	var best *nodeLoad
	var why []string
	for _, id := range order {
		if only != "" && id != only {
			continue
		}
		l := loads[id]
		if r := exclusion(l, s, taken); r != "" {
			why = append(why, r)
			continue
		}
		if l.node.Unhealthy != "" {
			why = append(why, id+" is unhealthy: "+l.node.Unhealthy)
			continue
		}
		if r := fits(l, s); r != "" {
			why = append(why, r)
			continue
		}
		if best == nil || less(l, best, cost(s), primary) {
			best = l
		}
	}
	if best == nil {
		if only != "" && len(why) == 0 {
			why = append(why, "node "+only+" is not registered")
		}
		if len(why) == 0 {
			why = append(why, "no nodes are registered")
		}
		return "", why
	}
	return best.node.ID, nil
}

// less orders candidates by the load fraction they would have after taking c,
// then by the copies they hold of the role asked for (primary or standby), then
// by slots used, then by ID (the caller iterates IDs in order).
func less(a, b *nodeLoad, c uint64, primary bool) bool {
	fa := (a.costUS + c) * b.budget()
	fb := (b.costUS + c) * a.budget()
	if fa != fb {
		return fa < fb
	}
	ra, rb := a.standbys, b.standbys
	if primary {
		ra, rb = a.primaries, b.primaries
	}
	if ra != rb {
		return ra < rb
	}
	return a.slots < b.slots
}

func placeOne(s *Surface, loads map[string]*nodeLoad, order []string, moving map[string]int) (Change, bool) {
	want := s.Replicas
	if want < 1 {
		want = 1
	}
	var problems []string
	var reasons []string
	migrate := ""

	up := func(id string) bool { l := loads[id]; return l != nil && l.node.Up }
	primary := ""
	switch cur := s.Primary; {
	case cur == "":
		// Nothing holds the surface's state: place it fresh.
		id, why := pick(s, loads, order, nil, s.Pin, true)
		if id == "" {
			if s.Pin != "" {
				problems = append(problems, fmt.Sprintf("pinned node %s cannot run it: %s", s.Pin, strings.Join(why, "; ")))
			} else {
				problems = append(problems, "no node can run the primary: "+strings.Join(why, "; "))
			}
		} else {
			primary = id
			add(loads, id, s, true)
		}
	case !up(cur):
		// Failover: only a standby holding every confirmed tick may take over.
		var best string
		var bestTick uint64
		for _, id := range s.Synced {
			if id == cur || !slices.Contains(s.Standbys, id) || !usable(loads, s, id) {
				continue
			}
			t := s.ConfirmedTicks[id]
			if best == "" || t > bestTick || t == bestTick && id < best {
				best, bestTick = id, t
			}
		}
		if best != "" {
			primary = best
			reasons = append(reasons, fmt.Sprintf("promoted standby %s", best))
		} else {
			primary = cur // keep the assignment: the state is only there
			problems = append(problems, fmt.Sprintf("primary %s is down and no standby holds every confirmed tick; the surface resumes when %s is back", cur, cur))
		}
	default:
		primary = cur
		// A primary on a node it should leave (cordoned, or pinned elsewhere) moves
		// live: the target catches up as a standby, then takes over.
		leave := ""
		if r := exclusion(loads[cur], s, nil); r != "" {
			leave = r
		} else if u := unhealthy(loads, cur); u != "" && !syncedUp(s, loads) {
			// Its disk is full: the primary has failed or soon will, and no synced
			// standby can be promoted. A failed primary keeps serving its state,
			// so a copy on a healthy node catches up from it and takes over.
			leave = u + " on " + cur
		} else if s.Pin != "" && s.Pin != cur {
			if u := unhealthy(loads, s.Pin); u != "" {
				// Back to its pin once the pin can hold it, not onto a full disk.
				problems = append(problems, fmt.Sprintf("pinned to %s, which is unhealthy (%s): staying on %s until it is healthy", s.Pin, u, cur))
			} else {
				leave = "pinned to " + s.Pin
			}
		}
		switch {
		case leave == "" || s.MigrationTarget != "":
		case moving[cur] > 0:
			problems = append(problems, fmt.Sprintf("waiting to move off %s (%s) after the surface moving off it now", cur, leave))
		default:
			target, why := moveTarget(s, loads, order)
			if target == "" {
				problems = append(problems, fmt.Sprintf("cannot move off %s (%s): %s", cur, leave, strings.Join(why, "; ")))
			} else {
				migrate = target
				moving[cur]++
				reasons = append(reasons, fmt.Sprintf("moving to %s (%s)", target, leave))
			}
		}
	}

	// Standbys: keep the move's target and usable ones (synced first), fill the rest.
	// While the surface waits for its down primary, its standbys stay as they are.
	var standbys []string
	if primary != "" && !up(primary) {
		standbys = s.Standbys
	} else if primary != "" {
		target := s.MigrationTarget
		giveUp := ""
		if target != "" && target != primary && !slices.Contains(s.Synced, target) {
			// A move whose target's disk filled before it caught up is given up:
			// its copy is dropped, and the surface stays until the target is
			// healthy (or moves elsewhere, if it must leave).
			if u := unhealthy(loads, target); u != "" {
				problems = append(problems, fmt.Sprintf("the move to %s is given up: %s is unhealthy (%s)", target, target, u))
				giveUp, target = target, ""
			}
		}
		if target == "" {
			target = migrate
		}
		extra := 0
		if target != "" && target != primary {
			standbys = append(standbys, target)
			extra = 1
			if !slices.Contains(s.Standbys, target) {
				add(loads, target, s, false)
			}
		}
		for _, synced := range []bool{true, false} {
			for _, id := range s.Standbys {
				if id != primary && id != giveUp && !slices.Contains(standbys, id) && slices.Contains(s.Synced, id) == synced &&
					len(standbys) < want-1+extra && usable(loads, s, id) {
					standbys = append(standbys, id)
				}
			}
		}
		want += extra
		for len(standbys) < want-1 {
			taken := append([]string{primary}, standbys...)
			id, why := pick(s, loads, order, taken, "", false)
			if id == "" {
				problems = append(problems, fmt.Sprintf("placed %d of %d standbys: %s", len(standbys), want-1, strings.Join(why, "; ")))
				break
			}
			standbys = append(standbys, id)
			add(loads, id, s, false)
		}
	}
	// Free the load of copies that were dropped.
	for _, id := range copies(s) {
		if id != primary && !slices.Contains(standbys, id) {
			if l := loads[id]; l != nil {
				l.slots--
				l.costUS -= cost(s)
			}
		}
	}

	errText := strings.Join(problems, "; ")
	// A move adds its target as a standby itself; the plan only asks for it.
	if migrate != "" && !slices.Contains(s.Standbys, migrate) {
		standbys = slices.DeleteFunc(standbys, func(id string) bool { return id == migrate })
	}
	changed := primary != s.Primary || !sameSet(standbys, s.Standbys)
	if !changed && errText == s.PlacementError && migrate == "" {
		return Change{}, false
	}
	if !changed {
		standbys = s.Standbys
	}
	c := Change{Surface: s.Name, ExpectedEpoch: s.Epoch, PlacementError: errText, Migrate: migrate}
	if changed {
		c.Assign = true
		c.Primary = primary
		c.Standbys = standbys
		if primary != s.Primary && len(reasons) == 0 {
			switch {
			case s.Primary == "":
				reasons = append(reasons, "placed primary on "+primary)
			case primary == "":
				reasons = append(reasons, "primary "+s.Primary+" can no longer run it")
			default:
				reasons = append(reasons, fmt.Sprintf("moved primary from %s to %s", s.Primary, primary))
			}
		}
		if !sameSet(standbys, s.Standbys) {
			reasons = append(reasons, fmt.Sprintf("standbys [%s]", strings.Join(standbys, " ")))
		}
	}
	c.Reason = strings.Join(reasons, "; ")
	return c, true
}

// unhealthy is why node id should take no copies ("disk full"), or "".
func unhealthy(loads map[string]*nodeLoad, id string) string {
	if l := loads[id]; l != nil {
		return l.node.Unhealthy
	}
	return ""
}

// syncedUp reports whether s has a synced standby on an up node, which a
// failed primary's surface is promoted to instead of moving.
func syncedUp(s *Surface, loads map[string]*nodeLoad) bool {
	for _, id := range s.Synced {
		if id != s.Primary && slices.Contains(s.Standbys, id) {
			if l := loads[id]; l != nil && l.node.Up {
				return true
			}
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// moveTarget picks where a live move goes: the pin if set, else a standby that may
// run it (synced first, then the most up-to-date), else the least loaded node that
// can take a new copy.
func moveTarget(s *Surface, loads map[string]*nodeLoad, order []string) (string, []string) {
	if s.Pin != "" {
		if s.Pin == s.Primary {
			return "", []string{"it is pinned to " + s.Pin}
		}
		if u := unhealthy(loads, s.Pin); u != "" {
			return "", []string{"it is pinned to " + s.Pin + ", which is unhealthy: " + u}
		}
		if l := loads[s.Pin]; l != nil && exclusion(l, s, nil) == "" {
			return s.Pin, nil
		}
		return pick(s, loads, order, []string{s.Primary}, s.Pin, true)
	}
	// A standby already holding a copy catches up fastest: synced first, then the
	// most up-to-date.
	var best string
	var bestTick uint64
	bestSynced := false
	for _, id := range s.Standbys {
		if id == s.Primary || !usable(loads, s, id) {
			continue
		}
		synced, t := slices.Contains(s.Synced, id), s.ConfirmedTicks[id]
		if best == "" || synced && !bestSynced || synced == bestSynced && t > bestTick {
			best, bestTick, bestSynced = id, t, synced
		}
	}
	if best != "" {
		return best, nil
	}
	return pick(s, loads, order, append([]string{s.Primary}, s.Standbys...), "", true)
}

// MoveTarget is where the controller moves a surface when the operator names no
// node: see moveTarget. It returns "" and the reasons if nowhere fits.
func MoveTarget(st State, surface string) (string, string) {
	st = withEstimates(st)
	loads, order := buildLoads(st)
	for i := range st.Surfaces {
		if s := &st.Surfaces[i]; s.Name == surface {
			id, why := moveTarget(s, loads, order)
			return id, strings.Join(why, "; ")
		}
	}
	return "", "surface " + surface + " not found"
}

func add(loads map[string]*nodeLoad, id string, s *Surface, primary bool) {
	l := loads[id]
	l.slots++
	l.costUS += cost(s)
	if primary {
		l.primaries++
	} else {
		l.standbys++
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// Check re-validates c against s, the state it is about to be committed to: the
// epoch must not have moved, every named node must exist, be up (cordoned nodes may
// keep a running primary), carry the bundle, and standbys must differ from the
// primary and from each other, and a pin must be honoured.
func Check(s State, c Change) error {
	return NewChecker(s).Check(c)
}

// Checker re-validates many changes against one state (see Check).
type Checker struct {
	surfaces map[string]*Surface
	nodes    map[string]*Node
}

// NewChecker indexes s for Check calls.
func NewChecker(s State) *Checker {
	k := &Checker{surfaces: make(map[string]*Surface, len(s.Surfaces)), nodes: make(map[string]*Node, len(s.Nodes))}
	for i := range s.Surfaces {
		k.surfaces[s.Surfaces[i].Name] = &s.Surfaces[i]
	}
	for i := range s.Nodes {
		k.nodes[s.Nodes[i].ID] = &s.Nodes[i]
	}
	return k
}

// Check re-validates one change; see the package function Check.
func (k *Checker) Check(c Change) error {
	sf := k.surfaces[c.Surface]
	if sf == nil {
		return fmt.Errorf("surface %s no longer exists", c.Surface)
	}
	if sf.Epoch != c.ExpectedEpoch {
		return fmt.Errorf("surface %s moved to epoch %d since the plan (epoch %d)", c.Surface, sf.Epoch, c.ExpectedEpoch)
	}
	if !c.Assign {
		return nil
	}
	ok := func(id string, allowCordoned bool) error {
		n := k.nodes[id]
		switch {
		case n == nil:
			return fmt.Errorf("node %s does not exist", id)
		case !n.Up:
			return fmt.Errorf("node %s is down", id)
		case n.Cordoned && !allowCordoned:
			return fmt.Errorf("node %s is cordoned", id)
		case sf.Bundle != "" && !slices.Contains(n.Bundles, sf.Bundle):
			return errors.New(BundleMismatch(sf.Name, sf.Bundle, n))
		case sf.Refused[id] != "":
			return fmt.Errorf("node %s refused surface %s: %s", id, sf.Name, sf.Refused[id])
		}
		return nil
	}
	if c.Primary != "" {
		if c.Primary == sf.Primary {
			// A primary that stays may be cordoned, pinned elsewhere or down (its
			// surface waits for it).
		} else if err := ok(c.Primary, false); err != nil {
			return err
		}
		if sf.Primary != "" && c.Primary != sf.Primary && !slices.Contains(sf.Synced, c.Primary) {
			return fmt.Errorf("surface %s: %s does not hold every confirmed tick; only a synced standby may take over from %s", sf.Name, c.Primary, sf.Primary)
		}
		if sf.Pin != "" && c.Primary != sf.Pin && sf.Primary == "" {
			return fmt.Errorf("surface %s is pinned to %s, plan puts it on %s", sf.Name, sf.Pin, c.Primary)
		}
	} else if len(c.Standbys) > 0 {
		return fmt.Errorf("surface %s: standbys without a primary", sf.Name)
	}
	seen := map[string]bool{c.Primary: true}
	for _, id := range c.Standbys {
		if seen[id] {
			return fmt.Errorf("surface %s: node %s would host two copies", sf.Name, id)
		}
		seen[id] = true
		if err := ok(id, false); err != nil {
			return err
		}
	}
	return nil
}

// BundleMismatch is the game-style message for a node that cannot run a
// surface's prototype bundle; it names both sides ("bundle mismatch: surface
// nauvis needs bundle 'space-age' (3f2a…), node n2 has 'vanilla' (9c1d…)").
func BundleMismatch(surface, need string, n *Node) string {
	label := func(h string) string {
		if name := n.BundleNames[h]; name != "" {
			return "'" + name + "' (" + short(h) + ")"
		}
		return "(" + short(h) + ")"
	}
	has := "no bundle"
	if len(n.Bundles) > 0 {
		var hs []string
		for _, h := range n.Bundles {
			hs = append(hs, label(h))
		}
		has = strings.Join(hs, ", ")
	}
	return fmt.Sprintf("bundle mismatch: surface %s needs bundle %s, node %s has %s", surface, label(need), n.ID, has)
}
