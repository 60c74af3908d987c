package module

import "testing"

func TestTransmissionTruncatesOnceAndIgnoresOrder(t *testing.T) {
	profile := []int32{10000, 7071, 5773, 5000}
	speed3x2 := Effect{Speed: 100, Consumption: 140, Quality: -50}
	eff1 := Effect{Consumption: -50}
	var a, b Transmission
	a.Add(speed3x2, 150)
	a.Add(eff1, 150)
	b.Add(eff1, 150)
	b.Add(speed3x2, 150)
	want := Effect{Speed: 106, Consumption: 95} // 150 × 0.7071 = 106.07; (210 - 75) × 0.7071 = 95.46
	if a.Effect(profile) != want || b.Effect(profile) != want {
		t.Errorf("got %+v and %+v, want %+v", a.Effect(profile), b.Effect(profile), want)
	}
	// More beacons than the profile lists use its last entry.
	var c Transmission
	for i := 0; i < 6; i++ {
		c.Add(Effect{Speed: 100}, 150)
	}
	if got := c.Effect(profile).Speed; got != 450 { // 6 × 150 × 0.5
		t.Errorf("6 beacons on a 4-entry profile: %d, want 450", got)
	}
}

func TestLimitsAndAllowed(t *testing.T) {
	l := Limits{MinSpeed: -80, MinConsumption: -80, MinPollution: -80, MinProductivity: 0, MaxProductivity: 300}
	got := l.Clamp(Effect{Speed: -90, Consumption: -150, Pollution: -81, Productivity: -5})
	if got != (Effect{Speed: -80, Consumption: -80, Pollution: -80}) {
		t.Errorf("clamp low: %+v", got)
	}
	if got := l.Clamp(Effect{Productivity: 400}); got.Productivity != 300 {
		t.Errorf("clamp productivity: %d", got.Productivity)
	}
	beacon, _ := ParseAllowed([]string{"consumption", "speed", "pollution"})
	if beacon.Accepts(Effect{Productivity: 10, Consumption: 80, Speed: -15}) {
		t.Error("a beacon accepts a productivity module")
	}
	if !beacon.Accepts(Effect{Speed: 50, Consumption: 70, Quality: -25}) {
		t.Error("a beacon refuses a speed module (its quality penalty is not simulated)")
	}
	if _, err := ParseAllowed([]string{"teleport"}); err == nil {
		t.Error("unknown effect accepted")
	}
	if Scale(375_000, 913) != 3_798_750 || Scale(150_000, -80) != 30_000 {
		t.Error("Scale")
	}
}
