package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/sim"
	_ "github.com/starlane/starlane/sim/megabase" // registers megabase-10k
)

func starter(t testing.TB, ticks int) *sim.Surface {
	t.Helper()
	s, err := sim.NewMap(sim.DefaultBundle(), "starter", 1, "nauvis")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(ticks)
	return s
}

func at(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

// The starter factory's plate belt runs east along y = 0 from x = 0; its gear assembler
// stands at 10,2 (3×3); the map's ground is nauvis grass.
func TestDrawShowsEntitiesInTheGamesMapColours(t *testing.T) {
	s := starter(t, 0)
	a := Area{-5, -5, 24, 10}
	img, err := Draw(s, a, Options{Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != (image.Point{30, 16}) {
		t.Fatalf("image is %v, want 30×16 pixels for 30×16 tiles at scale 1", got)
	}
	px := func(x, y int32) color.RGBA { return at(img, int(x-a.X0), int(y-a.Y0)) }
	if got, want := px(5, 0), (color.RGBA{204, 161, 71, 255}); got != want {
		t.Errorf("belt tile 5,0 is %v, want transport-belt's map colour %v", got, want)
	}
	if got, want := px(11, 3), (color.RGBA{0, 97, 145, 255}); got != want {
		t.Errorf("assembler tile 11,3 is %v, want the default friendly map colour %v", got, want)
	}
	if got, want := px(-5, -5), GroundColor("nauvis"); got != want {
		t.Errorf("empty tile -5,-5 is %v, want grass-1's map colour %v", got, want)
	}
}

func TestDrawShowsResourcesAndItemsOnBelts(t *testing.T) {
	s := starter(t, 1200)
	// The starter map's ore patches lie under its drills; procedural patches start
	// beyond the spawn area. Find a free ore tile and draw around it.
	var ox, oy int32
	var ore string
	for y := int32(-400); y < 400 && ore == ""; y += 3 {
		for x := int32(-400); x < 400 && ore == ""; x += 3 {
			if r, n := s.ResourceAt(x, y); n > 0 && s.EntityAt(x, y) == 0 {
				ox, oy, ore = x, y, s.Bundle().ItemName(r)
			}
		}
	}
	if ore == "" {
		t.Fatal("no ore tile within 400 tiles of spawn")
	}
	oreImg, err := Draw(s, Area{ox, oy, ox, oy}, Options{Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := ResourceColor(ore); at(oreImg, 0, 0) != want {
		t.Errorf("%s tile %d,%d is %v, want %s's map colour %v", ore, ox, oy, at(oreImg, 0, 0), ore, want)
	}
	a := Area{-20, -20, 39, 19}
	img, err := Draw(s, a, Options{Scale: 8, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	// After 20 s of game time plates lie on the plate belt: some belt tile shows the
	// colour of iron or copper plates inside its outline.
	plates := 0
	for x := int32(0); x < 20; x++ {
		for dy := 1; dy < 7; dy++ {
			for dx := 1; dx < 7; dx++ {
				c := at(img, int(x-a.X0)*8+dx, int(0-a.Y0)*8+dy)
				if c == ItemColor("iron-plate") || c == ItemColor("copper-plate") {
					plates++
				}
			}
		}
	}
	if plates == 0 {
		t.Error("no plate drawn on the plate belt after 1200 ticks")
	}
	// Without items the same belt is plain belt colour.
	plain, _ := Draw(s, a, Options{Scale: 8})
	if bytes.Equal(plain.Pix, img.Pix) {
		t.Error("drawing items changed nothing")
	}
}

func TestDrawPowerOverlayDrawsWires(t *testing.T) {
	s := starter(t, 0)
	poles := 0
	s.PowerPoles(func(sim.PoleInfo) bool { poles++; return true })
	if poles < 2 {
		t.Fatalf("starter map has %d poles; the test needs a wired network", poles)
	}
	a := Area{-30, -30, 49, 29}
	without, _ := Draw(s, a, Options{Scale: 4})
	with, err := Draw(s, a, Options{Scale: 4, Power: true})
	if err != nil {
		t.Fatal(err)
	}
	wire := 0
	for i := 0; i < len(with.Pix); i += 4 {
		c := color.RGBA{with.Pix[i], with.Pix[i+1], with.Pix[i+2], 255}
		if c == wireColor && !bytes.Equal(with.Pix[i:i+4], without.Pix[i:i+4]) {
			wire++
		}
	}
	if wire < 10 {
		t.Errorf("power overlay drew %d wire pixels, want a visible wire between the poles", wire)
	}
}

func TestParseAreaAndLimits(t *testing.T) {
	a, err := ParseArea("10,-3,-2,5")
	if err != nil || a != (Area{-2, -3, 10, 5}) {
		t.Fatalf("ParseArea = %v, %v; want corners sorted to -2,-3,10,5", a, err)
	}
	for _, bad := range []string{"1,2,3", "a,0,1,1", "0,0,1,2000000"} {
		if _, err := ParseArea(bad); err == nil {
			t.Errorf("ParseArea(%q) accepted", bad)
		}
	}
	if err := Check(Area{0, 0, 9999, 9999}, 1); err == nil || !strings.Contains(err.Error(), "smaller area") {
		t.Errorf("Check of a 10000×10000 area = %v, want a too-large error saying what to do", err)
	}
	if err := Check(Area{0, 0, 1, 1}, 0); err == nil {
		t.Error("scale 0 accepted")
	}
	if got := FitScale(Area{0, 0, 99, 49}, 800, 16); got != 8 {
		t.Errorf("FitScale = %d, want 8", got)
	}
}

func TestEncodePNGRoundTrips(t *testing.T) {
	s := starter(t, 0)
	img, _ := Draw(s, Area{0, 0, 19, 4}, Options{Scale: 2})
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := back.At(10, 0).RGBA()
	if got := (color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}); got != img.RGBAAt(10, 0) {
		t.Errorf("decoded pixel %v, drew %v", got, img.RGBAAt(10, 0))
	}
}

var (
	megaOnce sync.Once
	mega     *sim.Surface
	megaErr  error
)

// megabase returns megabase-10k after a short warm-up, built once per test binary.
func megabase(b *testing.B) *sim.Surface {
	megaOnce.Do(func() {
		mega, megaErr = sim.NewMap(sim.DefaultBundle(), "megabase-10k", 1, "")
		if megaErr == nil {
			mega.Run(300)
		}
	})
	if megaErr != nil {
		b.Fatal(megaErr)
	}
	return mega
}

// BenchmarkRenderMegabase512 draws and encodes a 512×512-tile map of megabase-10k
// (its densest corner: smelting, machine rows and labs) at 1 and 2 pixels per tile,
// with belts' items and the power overlay, as the dashboard does. The target is
// ≤ 200 ms per map (docs/benchmarks.md).
//
//	go test ./render -run '^$' -bench RenderMegabase512 -benchtime 20x
func BenchmarkRenderMegabase512(b *testing.B) {
	s := megabase(b)
	var x0, y0 int32 = 1 << 30, 1 << 30
	s.Entities(func(e sim.EntityInfo) bool {
		x0, y0 = min(x0, e.X), min(y0, e.Y)
		return true
	})
	a := Area{x0, y0, x0 + 511, y0 + 511}
	inside := 0
	s.Entities(func(e sim.EntityInfo) bool {
		if e.X <= a.X1 && e.Y <= a.Y1 && e.X+e.W > a.X0 && e.Y+e.H > a.Y0 {
			inside++
		}
		return true
	})
	for _, scale := range []int{1, 2} {
		b.Run(map[int]string{1: "1px", 2: "2px"}[scale], func(b *testing.B) {
			var buf bytes.Buffer
			cpu0 := proctest.CPUTime()
			for b.Loop() {
				img, err := Draw(s, a, Options{Scale: scale, Items: true, Power: true})
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := EncodePNG(&buf, img); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per map: on a machine shared with other work, wall time
			// measures the neighbours as much as the renderer.
			b.ReportMetric(float64((proctest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(buf.Len()), "png-bytes")
			b.ReportMetric(float64(inside), "entities")
		})
	}
}
