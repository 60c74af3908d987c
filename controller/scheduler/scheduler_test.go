package scheduler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func up(id string) Node { return Node{ID: id, Up: true, Cores: 1} }

func TestSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		state State
		want  []Change
		// errHas is a substring every change's PlacementError must contain.
		errHas string
		// errOf, if set, overrides errHas per surface.
		errOf map[string]string
	}{
		{
			name:  "new surface goes to the least loaded node",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Epoch: 5, TickCostUS: 5000}, {Name: "b", Replicas: 1}}},
			want:  []Change{{Surface: "b", Assign: true, Primary: "n2", Reason: "placed primary on n2"}},
		},
		{
			name: "an unhealthy node takes no new copy, and its primary without a synced standby moves to a healthy node",
			state: State{Nodes: []Node{up("n1"), {ID: "n2", Up: true, Unhealthy: "disk full"}, up("n3")}, Surfaces: []Surface{
				{Name: "a", Replicas: 1, Primary: "n2", Epoch: 4, TickCostUS: 100}, {Name: "b", Replicas: 2, Primary: "n1", Epoch: 5},
				{Name: "c", Replicas: 1, Primary: "n3", Epoch: 6, TickCostUS: 5000}}},
			want: []Change{
				{Surface: "a", ExpectedEpoch: 4, Migrate: "n1", Reason: "moving to n1 (disk full on n2)"},
				{Surface: "b", ExpectedEpoch: 5, Assign: true, Primary: "n1", Standbys: []string{"n3"}, Reason: "standbys [n3]"},
			},
		},
		{
			name: "a primary on an unhealthy node with a synced standby stays: if it fails, the standby is promoted",
			state: State{Nodes: []Node{up("n1"), {ID: "n2", Up: true, Unhealthy: "disk full"}}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Primary: "n2", Standbys: []string{"n1"}, Synced: []string{"n1"}, Epoch: 4}}},
		},
		{
			name: "a primary on an unhealthy node waits there when no healthy node can take it",
			state: State{Nodes: []Node{{ID: "n1", Up: true, Unhealthy: "disk full"}}, Surfaces: []Surface{
				{Name: "a", Replicas: 1, Primary: "n1", Epoch: 4}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 4}},
			errHas: "cannot move off n1 (disk full on n1): n1 already hosts a copy",
		},
		{
			name: "a surface that failed over from its pinned node does not move back while that node is unhealthy",
			state: State{Nodes: []Node{up("n1"), {ID: "n4", Up: true, Unhealthy: "disk full"}}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Pin: "n4", Primary: "n1", Standbys: []string{"n4"}, Epoch: 7}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 7}},
			errHas: "pinned to n4, which is unhealthy (disk full): staying on n1 until it is healthy",
		},
		{
			name: "a node whose standby was dropped is said held back, with when it is tried again",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Primary: "n1", Epoch: 5, Refused: map[string]string{"n2": "standby dropped: disconnected for 1s; tried again from 14:49:40Z"}}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 5}},
			errHas: "n2 is held back after its copy was dropped (disconnected for 1s; tried again from 14:49:40Z)",
		},
		{
			name: "a move to a node whose disk fills before the target caught up is given up",
			state: State{Nodes: []Node{up("n1"), up("n2"), {ID: "n4", Up: true, Unhealthy: "disk full"}}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Pin: "n4", Primary: "n1", Standbys: []string{"n2", "n4"}, Synced: []string{"n2"}, MigrationTarget: "n4", Epoch: 9}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 9, Assign: true, Primary: "n1", Standbys: []string{"n2"}, Reason: "standbys [n2]"}},
			errHas: "the move to n4 is given up: n4 is unhealthy (disk full)",
		},
		{
			name:   "no healthy node: placement says why",
			state:  State{Nodes: []Node{{ID: "n1", Up: true, Unhealthy: "disk full"}}, Surfaces: []Surface{{Name: "a", Replicas: 1}}},
			want:   []Change{{Surface: "a"}},
			errHas: "n1 is unhealthy: disk full",
		},
		{
			name:  "standby lands on another node than the primary",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 2}}},
			want:  []Change{{Surface: "a", Assign: true, Primary: "n1", Standbys: []string{"n2"}, Reason: "placed primary on n1; standbys [n2]"}},
		},
		{
			name: "down primary: the most up-to-date standby is promoted and a new standby placed",
			state: State{Nodes: []Node{{ID: "n1", Cores: 1}, up("n2"), up("n3"), up("n4")}, Surfaces: []Surface{{
				Name: "a", Replicas: 3, Primary: "n1", Standbys: []string{"n2", "n3"}, Epoch: 9, Synced: []string{"n2", "n3"},
				ConfirmedTicks: map[string]uint64{"n2": 100, "n3": 250},
			}}},
			want: []Change{{Surface: "a", ExpectedEpoch: 9, Assign: true, Primary: "n3", Standbys: []string{"n2", "n4"}, Reason: "promoted standby n3; standbys [n2 n4]"}},
		},
		{
			name: "down primary: a standby still catching up is not promoted, the surface waits",
			state: State{Nodes: []Node{{ID: "n1", Cores: 1}, up("n2"), up("n3")}, Surfaces: []Surface{{
				Name: "a", Replicas: 2, Primary: "n1", Standbys: []string{"n2"}, Epoch: 9,
				ConfirmedTicks: map[string]uint64{"n2": 900},
			}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 9}},
			errHas: "primary n1 is down and no standby holds every confirmed tick",
		},
		{
			name: "down primary without standbys waits instead of starting over elsewhere",
			state: State{Nodes: []Node{{ID: "n1", Cores: 1}, up("n2")}, Surfaces: []Surface{{
				Name: "a", Replicas: 1, Primary: "n1", Epoch: 4}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 4}},
			errHas: "resumes when n1 is back",
		},
		{
			name:  "cordoned node: its surface moves live",
			state: State{Nodes: []Node{{ID: "n1", Up: true, Cordoned: true}, up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Epoch: 3}}},
			want:  []Change{{Surface: "a", ExpectedEpoch: 3, Migrate: "n2", Reason: "moving to n2 (n1 is cordoned)"}},
		},
		{
			name: "cordoned node: a synced standby is the move's target, one surface at a time",
			state: State{Nodes: []Node{{ID: "n1", Up: true, Cordoned: true}, up("n2"), up("n3")}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Primary: "n1", Standbys: []string{"n3"}, Synced: []string{"n3"}, Epoch: 3},
				{Name: "b", Replicas: 2, Primary: "n1", Standbys: []string{"n2"}, Synced: []string{"n2"}, Epoch: 4},
			}},
			want: []Change{
				{Surface: "a", ExpectedEpoch: 3, Assign: true, Primary: "n1", Standbys: []string{"n3", "n2"}, Migrate: "n3", Reason: "moving to n3 (n1 is cordoned); standbys [n3 n2]"},
				{Surface: "b", ExpectedEpoch: 4},
			},
			errOf: map[string]string{"b": "waiting to move off n1 (n1 is cordoned) after the surface moving off it now"},
		},
		{
			name: "a move in progress keeps its target as an extra standby",
			state: State{Nodes: []Node{up("n1"), up("n2"), up("n3")}, Surfaces: []Surface{
				{Name: "a", Replicas: 2, Primary: "n1", Standbys: []string{"n2", "n3"}, Synced: []string{"n2"}, MigrationTarget: "n3", Epoch: 3},
			}},
		},
		{
			name:   "cordoned node keeps its surface when nowhere else can take it",
			state:  State{Nodes: []Node{{ID: "n1", Up: true, Cordoned: true}}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Epoch: 3}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 3}},
			errHas: "n1 is cordoned",
		},
		{
			name:  "pin is honoured over load",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "x", Replicas: 1, Primary: "n1", TickCostUS: 9000}, {Name: "a", Replicas: 1, Pin: "n1"}}},
			want:  []Change{{Surface: "a", Assign: true, Primary: "n1", Reason: "placed primary on n1"}},
		},
		{
			name:   "pinned to its cordoned node: it stays and says why",
			state:  State{Nodes: []Node{{ID: "n1", Up: true, Cordoned: true}, up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Pin: "n1", Primary: "n1", Epoch: 4}}},
			want:   []Change{{Surface: "a", ExpectedEpoch: 4}},
			errHas: "cannot move off n1 (n1 is cordoned): it is pinned to n1",
		},
		{
			name:  "pin moves a placed primary live",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Pin: "n2", Primary: "n1", Epoch: 4}}},
			want:  []Change{{Surface: "a", ExpectedEpoch: 4, Migrate: "n2", Reason: "moving to n2 (pinned to n2)"}},
		},
		{
			name:   "pinned to a down node: unplaced with the reason",
			state:  State{Nodes: []Node{{ID: "n1"}, up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Pin: "n1"}}},
			want:   []Change{{Surface: "a"}},
			errHas: "pinned node n1 cannot run it: n1 is down",
		},
		{
			name: "no node has the bundle",
			state: State{Nodes: []Node{{ID: "n1", Up: true, Bundles: []string{"aaaa"}, BundleNames: map[string]string{"aaaa": "vanilla", "bbbb": "space-age"}}},
				Surfaces: []Surface{{Name: "a", Replicas: 1, Bundle: "bbbb"}}},
			want:   []Change{{Surface: "a"}},
			errHas: "bundle mismatch: surface a needs bundle 'space-age' (bbbb), node n1 has 'vanilla' (aaaa)",
		},
		{
			name:  "bundle picks the node that has it",
			state: State{Nodes: []Node{up("n1"), {ID: "n2", Up: true, Bundles: []string{"bbbb"}}}, Surfaces: []Surface{{Name: "a", Replicas: 1, Bundle: "bbbb"}}},
			want:  []Change{{Surface: "a", Assign: true, Primary: "n2", Reason: "placed primary on n2"}},
		},
		{
			name:   "all nodes over capacity",
			state:  State{Nodes: []Node{{ID: "n1", Up: true, MaxSurfaces: 1}}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Epoch: 2}, {Name: "b", Replicas: 1}}},
			want:   []Change{{Surface: "b"}},
			errHas: "n1 is full (1/1 surfaces)",
		},
		{
			name:   "tick cost budget is respected",
			state:  State{Nodes: []Node{up("n1")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Epoch: 2, TickCostUS: 16000}, {Name: "b", Replicas: 1}}},
			want:   []Change{{Surface: "b"}},
			errHas: "over capacity",
		},
		{
			name:   "standby shortage keeps the primary and says so",
			state:  State{Nodes: []Node{up("n1")}, Surfaces: []Surface{{Name: "a", Replicas: 2}}},
			want:   []Change{{Surface: "a", Assign: true, Primary: "n1", Reason: "placed primary on n1"}},
			errHas: "placed 0 of 1 standbys: n1 already hosts a copy",
		},
		{
			name:  "settled surfaces get no change",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 2, Primary: "n1", Standbys: []string{"n2"}, Epoch: 7}}},
		},
		{
			name:   "no nodes at all",
			state:  State{Surfaces: []Surface{{Name: "a", Replicas: 1}}},
			want:   []Change{{Surface: "a"}},
			errHas: "no nodes are registered",
		},
		{
			name:  "replicas lowered drops a standby",
			state: State{Nodes: []Node{up("n1"), up("n2")}, Surfaces: []Surface{{Name: "a", Replicas: 1, Primary: "n1", Standbys: []string{"n2"}, Epoch: 7}}},
			want:  []Change{{Surface: "a", ExpectedEpoch: 7, Assign: true, Primary: "n1", Reason: "standbys []"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Schedule(tc.state).Changes
			for i := range got {
				errHas := tc.errHas
				if tc.errOf != nil {
					errHas = tc.errOf[got[i].Surface]
				}
				if errHas == "" && got[i].PlacementError != "" {
					t.Errorf("unexpected placement error %q", got[i].PlacementError)
				}
				if errHas != "" && !strings.Contains(got[i].PlacementError, errHas) {
					t.Errorf("placement error %q does not contain %q", got[i].PlacementError, errHas)
				}
				got[i].PlacementError = ""
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// Every assigning change passes the leader's re-check against the input.
			for _, c := range Schedule(tc.state).Changes {
				if err := Check(tc.state, c); err != nil {
					t.Errorf("Check rejects the scheduler's own change %+v: %v", c, err)
				}
			}
		})
	}
}

func TestScheduleSpreadsLoad(t *testing.T) {
	t.Parallel()
	s := State{Nodes: []Node{up("n1"), up("n2"), {ID: "n3", Up: true, Cores: 2}}}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		s.Surfaces = append(s.Surfaces, Surface{Name: name, Replicas: 1})
	}
	count := map[string]int{}
	for _, c := range Schedule(s).Changes {
		count[c.Primary]++
	}
	// n3 has twice the cores, so twice the surfaces.
	if diff := cmp.Diff(map[string]int{"n1": 2, "n2": 2, "n3": 4}, count); diff != "" {
		t.Errorf("spread (-want +got):\n%s", diff)
	}
}

// Surfaces created in a burst are placed before they report a cost: a new one is
// assumed to cost what its measured siblings cost, not DefaultTickCostUS, so the
// node holding the measured ones does not look nearly empty and take the burst.
func TestUnmeasuredSurfacesCostWhatTheirKindCosts(t *testing.T) {
	t.Parallel()
	s := State{Nodes: []Node{up("n1"), up("n2")}}
	for i := range 10 {
		s.Surfaces = append(s.Surfaces, Surface{Name: fmt.Sprintf("m%d", i), Kind: "outpost", Replicas: 1, Primary: "n1", Epoch: 1, TickCostUS: 20})
	}
	for i := range 2 {
		s.Surfaces = append(s.Surfaces, Surface{Name: fmt.Sprintf("u%d", i), Kind: "outpost", Replicas: 1, Primary: "n2", Epoch: 1})
	}
	s.Surfaces = append(s.Surfaces, Surface{Name: "new", Kind: "outpost", Replicas: 1})
	want := []Change{{Surface: "new", Assign: true, Primary: "n2", Reason: "placed primary on n2"}}
	if diff := cmp.Diff(want, Schedule(s).Changes, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	// A surface of another kind, never measured, still counts DefaultTickCostUS.
	s.Surfaces[len(s.Surfaces)-1].Kind = "megabase"
	s.Surfaces = append(s.Surfaces, Surface{Name: "mega2", Kind: "megabase", Replicas: 1, Primary: "n2", Epoch: 1})
	want = []Change{{Surface: "new", Assign: true, Primary: "n1", Reason: "placed primary on n1"}}
	if diff := cmp.Diff(want, Schedule(s).Changes, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("plan with an unmeasured kind (-want +got):\n%s", diff)
	}
}

// A burst of creations with two copies each spreads the primaries as evenly as
// the standbys: with equal costs, a fixed scan order put every primary on every
// other node, and losing one node lost twice its share of primaries.
func TestBurstSpreadsPrimaries(t *testing.T) {
	t.Parallel()
	s := State{}
	for i := range 10 {
		s.Nodes = append(s.Nodes, up(fmt.Sprintf("n%02d", i)))
	}
	for i := range 60 {
		s.Surfaces = append(s.Surfaces, Surface{Name: fmt.Sprintf("s%02d", i), Kind: "outpost", Replicas: 2})
	}
	primaries, standbys := map[string]int{}, map[string]int{}
	for _, c := range Schedule(s).Changes {
		primaries[c.Primary]++
		for _, sb := range c.Standbys {
			standbys[sb]++
		}
	}
	for _, n := range s.Nodes {
		if primaries[n.ID] != 6 || standbys[n.ID] != 6 {
			t.Errorf("node %s got %d primaries and %d standbys of 60 surfaces on 10 nodes, want 6 and 6", n.ID, primaries[n.ID], standbys[n.ID])
		}
	}
}

func TestCheckRejectsStalePlans(t *testing.T) {
	t.Parallel()
	s := State{Nodes: []Node{up("n1"), {ID: "n2"}, {ID: "n3", Up: true, Cordoned: true}}, Surfaces: []Surface{{Name: "a", Replicas: 2, Epoch: 10, Pin: "n1"}}}
	for _, tc := range []struct {
		c    Change
		want string
	}{
		{Change{Surface: "a", ExpectedEpoch: 9, Assign: true, Primary: "n1"}, "moved to epoch 10"},
		{Change{Surface: "zz", Assign: true}, "no longer exists"},
		{Change{Surface: "a", ExpectedEpoch: 10, Assign: true, Primary: "n1", Standbys: []string{"n2"}}, "n2 is down"},
		{Change{Surface: "a", ExpectedEpoch: 10, Assign: true, Primary: "n1", Standbys: []string{"n3"}}, "n3 is cordoned"},
		{Change{Surface: "a", ExpectedEpoch: 10, Assign: true, Primary: "n1", Standbys: []string{"n1"}}, "two copies"},
		{Change{Surface: "a", ExpectedEpoch: 10, Assign: true, Primary: "n9"}, "n9 does not exist"},
	} {
		err := Check(s, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want error containing %q", tc.c, err, tc.want)
		}
	}
	if err := Check(s, Change{Surface: "a", ExpectedEpoch: 10, Assign: true, Primary: "n1"}); err != nil {
		t.Errorf("valid change rejected: %v", err)
	}
}
