package synthdata

import (
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Glyph cell of basicfont.Face7x13.
const (
	glyphW = 7
	glyphH = 13
)

// charset is what random text lines are made of.
const charset = "0123456789" +
	"abcdefghijklmnopqrstuvwxyz" +
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" +
	".,:;-/()%$#&'!?+=*"

// randomText returns a random string of n characters with an occasional
// space (never first or last), like a word sequence.
func randomText(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		if i > 0 && i < n-1 && b[i-1] != ' ' && rng.IntN(6) == 0 {
			b[i] = ' '
			continue
		}
		// Letters and digits are commoner than punctuation.
		if rng.IntN(8) == 0 {
			b[i] = charset[62+rng.IntN(len(charset)-62)]
		} else {
			b[i] = charset[rng.IntN(62)]
		}
	}
	return string(b)
}

// glyphMask renders s at basicfont's native size: coverage in [0, 1],
// len(s)*7 wide and 13 high.
type glyphMask struct {
	w, h int
	a    []float32
}

func renderMask(s string) glyphMask {
	w := len(s) * glyphW
	img := image.NewAlpha(image.Rect(0, 0, w, glyphH))
	d := font.Drawer{Dst: img, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)
	m := glyphMask{w: w, h: glyphH, a: make([]float32, w*glyphH)}
	for i, v := range img.Pix {
		m.a[i] = float32(v) / 255
	}
	return m
}

// at samples the mask bilinearly at (x, y) in glyph pixels (pixel centres
// at +0.5); outside the mask it is 0.
func (m glyphMask) at(x, y float64) float32 {
	x, y = x-0.5, y-0.5
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	get := func(i, j int) float32 {
		if i < 0 || j < 0 || i >= m.w || j >= m.h {
			return 0
		}
		return m.a[j*m.w+i]
	}
	top := get(x0, y0)*(1-fx) + get(x0+1, y0)*fx
	bot := get(x0, y0+1)*(1-fx) + get(x0+1, y0+1)*fx
	return top*(1-fy) + bot*fy
}

// canvas is an image as three planes of values in [0, 255], in the B, G,
// R order PaddleOCR's OpenCV decoding gives.
type canvas struct {
	w, h int
	px   []float32 // 3*h*w, plane-major
}

func newCanvas(w, h int) *canvas { return &canvas{w: w, h: h, px: make([]float32, 3*w*h)} }

// colour is an RGB triple in [0, 255].
type colour [3]float32

// set blends c into pixel (x, y) with weight a.
func (cv *canvas) blend(x, y int, c colour, a float32) {
	if x < 0 || y < 0 || x >= cv.w || y >= cv.h || a <= 0 {
		return
	}
	n := cv.w * cv.h
	i := y*cv.w + x
	for ch := range 3 {
		p := &cv.px[ch*n+i]
		*p = *p*(1-a) + c[2-ch]*a // plane 0 is blue
	}
}

// background fills the canvas with a linear gradient from c0 to c1 along a
// random direction.
func (cv *canvas) background(rng *rand.Rand, c0, c1 colour) {
	ang := rng.Float64() * 2 * math.Pi
	dx, dy := math.Cos(ang), math.Sin(ang)
	span := math.Abs(dx)*float64(cv.w) + math.Abs(dy)*float64(cv.h)
	n := cv.w * cv.h
	for y := range cv.h {
		for x := range cv.w {
			t := float32((float64(x)*dx + float64(y)*dy) / span)
			if dx < 0 {
				t += float32(math.Abs(dx) * float64(cv.w) / span)
			}
			if dy < 0 {
				t += float32(math.Abs(dy) * float64(cv.h) / span)
			}
			for ch := range 3 {
				cv.px[ch*n+y*cv.w+x] = c0[2-ch]*(1-t) + c1[2-ch]*t
			}
		}
	}
}

// text draws s with its top-left glyph corner at (x0, y0), each glyph
// pixel sx by sy canvas pixels.
func (cv *canvas) text(s string, x0, y0, sx, sy float64, c colour) {
	m := renderMask(s)
	xe, ye := x0+float64(m.w)*sx, y0+float64(m.h)*sy
	for y := max(0, int(y0)); y < min(cv.h, int(math.Ceil(ye))); y++ {
		for x := max(0, int(x0)); x < min(cv.w, int(math.Ceil(xe))); x++ {
			a := m.at((float64(x)+0.5-x0)/sx, (float64(y)+0.5-y0)/sy)
			cv.blend(x, y, c, a)
		}
	}
}

// noise adds Gaussian noise of standard deviation sigma and clamps to
// [0, 255].
func (cv *canvas) noise(rng *rand.Rand, sigma float64) {
	for i, v := range cv.px {
		v += float32(rng.NormFloat64() * sigma)
		cv.px[i] = min(255, max(0, v))
	}
}

// rotate180 turns the canvas upside down.
func (cv *canvas) rotate180() {
	n := cv.w * cv.h
	for ch := range 3 {
		p := cv.px[ch*n : (ch+1)*n]
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
	}
}

// palette draws a background pair and a text colour that contrasts with
// it: dark on light mostly, light on dark sometimes.
func palette(rng *rand.Rand) (bg0, bg1, fg colour) {
	light := rng.IntN(4) != 0
	for ch := range 3 {
		base := 170 + 85*rng.Float64()
		tint := 20 * (rng.Float64() - 0.5)
		ink := 90 * rng.Float64()
		if !light {
			base, ink = 255-base, 255-ink
		}
		bg0[ch] = clamp255(base + tint)
		bg1[ch] = clamp255(base + tint + 40*(rng.Float64()-0.5))
		fg[ch] = clamp255(ink + 15*(rng.Float64()-0.5))
	}
	// Mostly grey-ish ink and paper; colour casts are mild.
	return bg0, bg1, fg
}

func clamp255(v float64) float32 { return float32(min(255, max(0, v))) }
