// Package render draws a surface as a map image in the game's map colours: ground
// tiles, resources, entities by kind, the items on belts and the electric network's
// poles and wires. It only reads a surface (a copy loaded from a save taken at a
// confirmed tick, see ctlclient.FetchState), never changes it, so the dashboard and
// `starlane surface map` draw exactly what the cluster confirmed.
package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"strings"

	"github.com/starlane/starlane/sim"
)

// Area is a rectangle of tiles; both corners are included.
type Area struct{ X0, Y0, X1, Y1 int32 }

// W and H are the area's size in tiles.
func (a Area) W() int32 { return a.X1 - a.X0 + 1 }
func (a Area) H() int32 { return a.Y1 - a.Y0 + 1 }

func (a Area) String() string { return fmt.Sprintf("%d,%d,%d,%d", a.X0, a.Y0, a.X1, a.Y1) }

// MaxPixels bounds an image (16 megapixels, 64 MiB of RGBA).
const MaxPixels = 4096 * 4096

// MaxScale is the largest number of pixels per tile.
const MaxScale = 32

// ParseArea reads "X1,Y1,X2,Y2" (tile coordinates, corners included, in any order).
func ParseArea(s string) (Area, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Area{}, fmt.Errorf("area %q: want X1,Y1,X2,Y2 (four tile coordinates, e.g. -64,-64,63,63)", s)
	}
	var v [4]int32
	for i, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return Area{}, fmt.Errorf("area %q: %q is not a whole tile coordinate", s, p)
		}
		if n < -sim.MapRadius || n >= sim.MapRadius {
			return Area{}, fmt.Errorf("area %q: %d lies beyond the map's edge (±%d)", s, n, sim.MapRadius)
		}
		v[i] = int32(n)
	}
	return Area{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}, nil
}

// Options choose what a map shows.
type Options struct {
	// Scale is pixels per tile, 1 to MaxScale.
	Scale int
	// Power draws the electric network overlay: wires between connected poles.
	Power bool
	// Items draws the items lying on belts (at 4 pixels per tile and more).
	Items bool
}

// FitScale returns the largest scale, up to max, at which the area fits in px pixels
// on its longer side (at least 1).
func FitScale(a Area, px, maxScale int) int {
	long := int(max(a.W(), a.H()))
	return max(1, min(maxScale, px/long))
}

// Check reports whether an area can be drawn at a scale.
func Check(a Area, scale int) error {
	if scale < 1 || scale > MaxScale {
		return fmt.Errorf("scale %d: use 1 to %d pixels per tile", scale, MaxScale)
	}
	if a.W() <= 0 || a.H() <= 0 {
		return errors.New("the area is empty")
	}
	if px := int64(a.W()) * int64(a.H()) * int64(scale) * int64(scale); px > MaxPixels {
		return fmt.Errorf("area %s at %d px/tile is %d×%d pixels, more than %d megapixels; draw a smaller area or a lower scale",
			a, scale, int64(a.W())*int64(scale), int64(a.H())*int64(scale), MaxPixels>>20)
	}
	return nil
}

// Draw renders area a of surface s.
func Draw(s *sim.Surface, a Area, o Options) (*image.RGBA, error) {
	if err := Check(a, o.Scale); err != nil {
		return nil, err
	}
	sc := int32(o.Scale)
	img := image.NewRGBA(image.Rect(0, 0, int(a.W()*sc), int(a.H()*sc)))
	d := &drawer{img: img, a: a, sc: sc}
	d.ground(s)
	d.entities(s)
	if o.Items && sc >= 4 {
		d.beltItems(s)
	}
	if o.Power {
		d.power(s)
	}
	return img, nil
}

// EncodePNG writes img as a PNG, favouring speed over size (maps are served live).
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

type drawer struct {
	img *image.RGBA
	a   Area
	sc  int32
}

// fill paints tiles [x0,x1)×[y0,y1) (clipped to the area) in c, inset by in pixels.
func (d *drawer) fill(x0, y0, x1, y1 int32, c color.RGBA, in int32) {
	px0, py0 := (x0-d.a.X0)*d.sc+in, (y0-d.a.Y0)*d.sc+in
	px1, py1 := (x1-d.a.X0)*d.sc-in, (y1-d.a.Y0)*d.sc-in
	d.fillPx(px0, py0, px1, py1, c)
}

// fillPx paints pixels [x0,x1)×[y0,y1), clipped to the image.
func (d *drawer) fillPx(x0, y0, x1, y1 int32, c color.RGBA) {
	b := d.img.Rect
	x0, y0 = max(x0, int32(b.Min.X)), max(y0, int32(b.Min.Y))
	x1, y1 = min(x1, int32(b.Max.X)), min(y1, int32(b.Max.Y))
	if x0 >= x1 || y0 >= y1 {
		return
	}
	pix, stride := d.img.Pix, d.img.Stride
	first := pix[int(y0)*stride+int(x0)*4 : int(y0)*stride+int(x1)*4]
	for i := 0; i+3 < len(first); i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = c.R, c.G, c.B, c.A
	}
	for y := y0 + 1; y < y1; y++ {
		copy(pix[int(y)*stride+int(x0)*4:], first)
	}
}

func (d *drawer) set(x, y int32, c color.RGBA) {
	if x < 0 || y < 0 || int(x) >= d.img.Rect.Max.X || int(y) >= d.img.Rect.Max.Y {
		return
	}
	i := int(y)*d.img.Stride + int(x)*4
	d.img.Pix[i], d.img.Pix[i+1], d.img.Pix[i+2], d.img.Pix[i+3] = c.R, c.G, c.B, c.A
}

// ground paints every tile in its resource's colour or the planet's ground colour.
func (d *drawer) ground(s *sim.Surface) {
	b := s.Bundle()
	res := make([]color.RGBA, len(b.Items)+1)
	has := make([]bool, len(b.Items)+1)
	for i := range b.Items {
		res[i+1], has[i+1] = ResourceColor(b.Items[i].Name)
	}
	g := GroundColor(s.Planet())
	a := d.a
	// Beyond the map's edge: out-of-map.
	in := Area{max(a.X0, -sim.MapRadius), max(a.Y0, -sim.MapRadius), min(a.X1, sim.MapRadius-1), min(a.Y1, sim.MapRadius-1)}
	if in != a {
		d.fill(a.X0, a.Y0, a.X1+1, a.Y1+1, outOfMapColor, 0)
	}
	if in.X0 > in.X1 || in.Y0 > in.Y1 {
		return
	}
	d.fill(in.X0, in.Y0, in.X1+1, in.Y1+1, g, 0)
	s.TilesIn(in.X0, in.Y0, in.X1, in.Y1, func(x, y int32, _ sim.EntityID, r sim.ItemID, amount uint32) {
		if r != 0 && amount > 0 && int(r) < len(res) && has[r] {
			d.fill(x, y, x+1, y+1, res[r], 0)
		}
	})
}

// entities paints every entity that overlaps the area as a box in its kind's colour,
// with a darker outline where a tile is big enough to show one.
func (d *drawer) entities(s *sim.Surface) {
	a := d.a
	s.EntitiesIn(a.X0, a.Y0, a.X1, a.Y1, func(e sim.EntityInfo) bool {
		c := EntityColor(e.Kind)
		if d.sc >= 4 && (e.W > 1 || e.H > 1) {
			d.fill(e.X, e.Y, e.X+e.W, e.Y+e.H, darker(c), 0)
			d.fill(e.X, e.Y, e.X+e.W, e.Y+e.H, c, max(1, d.sc/8))
			return true
		}
		d.fill(e.X, e.Y, e.X+e.W, e.Y+e.H, c, 0)
		return true
	})
}

func darker(c color.RGBA) color.RGBA {
	return color.RGBA{c.R * 3 / 4, c.G * 3 / 4, c.B * 3 / 4, 255}
}

// beltItems paints each belt lane that carries an item as a strip along the lane's
// half of the tile, in the item's colour.
func (d *drawer) beltItems(s *sim.Surface) {
	b := s.Bundle()
	colors := make([]color.RGBA, len(b.Items)+1)
	for i := range b.Items {
		colors[i+1] = ItemColor(b.Items[i].Name)
	}
	a, sc := d.a, d.sc
	half, m := sc/2, max(1, sc/8)
	s.BeltItems(func(it sim.BeltItem) bool {
		if it.X < a.X0 || it.X > a.X1 || it.Y < a.Y0 || it.Y > a.Y1 || int(it.Item) >= len(colors) {
			return true
		}
		px, py := (it.X-a.X0)*sc, (it.Y-a.Y0)*sc
		// The lane's half: left of the travel direction is lane 0.
		var x0, y0, x1, y1 int32
		left := it.Lane == 0
		switch it.Dir {
		case sim.North: // travelling up: left is west
			x0, x1 = px+m, px+half
			if !left {
				x0, x1 = px+half, px+sc-m
			}
			y0, y1 = py+m, py+sc-m
		case sim.South: // left is east
			x0, x1 = px+half, px+sc-m
			if !left {
				x0, x1 = px+m, px+half
			}
			y0, y1 = py+m, py+sc-m
		case sim.East: // left is north
			y0, y1 = py+m, py+half
			if !left {
				y0, y1 = py+half, py+sc-m
			}
			x0, x1 = px+m, px+sc-m
		default: // west: left is south
			y0, y1 = py+half, py+sc-m
			if !left {
				y0, y1 = py+m, py+half
			}
			x0, x1 = px+m, px+sc-m
		}
		d.fillPx(x0, y0, x1, y1, colors[it.Item])
		return true
	})
}

// power draws the wires between connected poles: two poles of one network whose
// distance is within both reaches, as the simulation connects them.
func (d *drawer) power(s *sim.Surface) {
	const cell = 32 * sim.TileUnits
	var maxReach int32
	var poles []sim.PoleInfo
	s.PowerPoles(func(p sim.PoleInfo) bool {
		maxReach = max(maxReach, p.Reach)
		poles = append(poles, p)
		return true
	})
	// Only poles near the area can have a wire crossing it.
	lo := sim.Vec{X: d.a.X0*sim.TileUnits - maxReach, Y: d.a.Y0*sim.TileUnits - maxReach}
	hi := sim.Vec{X: (d.a.X1+1)*sim.TileUnits + maxReach, Y: (d.a.Y1+1)*sim.TileUnits + maxReach}
	grid := map[[2]int32][]int{}
	var near []int
	for i, p := range poles {
		if p.CX < lo.X || p.CY < lo.Y || p.CX > hi.X || p.CY > hi.Y || p.Network < 0 {
			continue
		}
		k := [2]int32{floorDiv(p.CX, cell), floorDiv(p.CY, cell)}
		grid[k] = append(grid[k], i)
		near = append(near, i)
	}
	span := maxReach/cell + 1
	for _, i := range near {
		p := poles[i]
		kx, ky := floorDiv(p.CX, cell), floorDiv(p.CY, cell)
		for gy := ky - span; gy <= ky+span; gy++ {
			for gx := kx - span; gx <= kx+span; gx++ {
				for _, j := range grid[[2]int32{gx, gy}] {
					q := poles[j]
					if j <= i || q.Network != p.Network {
						continue
					}
					r := int64(min(p.Reach, q.Reach))
					dx, dy := int64(p.CX-q.CX), int64(p.CY-q.CY)
					if dx*dx+dy*dy <= r*r {
						d.line(p.CX, p.CY, q.CX, q.CY, wireColor)
					}
				}
			}
		}
	}
	// Poles on top of their wires.
	for _, i := range near {
		p := poles[i]
		x, y := d.px(p.CX), d.py(p.CY)
		r := max(1, d.sc/4)
		d.fillPx(x-r, y-r, x+r, y+r, poleColor)
	}
}

// px and py convert a position (1/256 tile) to a pixel coordinate.
func (d *drawer) px(p int32) int32 {
	return int32((int64(p) - int64(d.a.X0)*sim.TileUnits) * int64(d.sc) / sim.TileUnits)
}
func (d *drawer) py(p int32) int32 {
	return int32((int64(p) - int64(d.a.Y0)*sim.TileUnits) * int64(d.sc) / sim.TileUnits)
}

// line draws a one-pixel line between two positions (Bresenham).
func (d *drawer) line(ax, ay, bx, by int32, c color.RGBA) {
	x0, y0, x1, y1 := d.px(ax), d.py(ay), d.px(bx), d.py(by)
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := int32(1), int32(1)
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		d.set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

func floorDiv(a, b int32) int32 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
