package synthdata

import (
	"image"
	"math"
	"math/rand/v2"
)

// textLine draws one cropped text line as PP-OCR's cls and rec models get
// it: the crop resized to height h keeping its aspect (squeezed to maxW
// when wider), turned by 180° when turn is set, padded right with zeros
// after (x/255-0.5)/0.5. It returns the values and the string drawn.
func textLine(rng *rand.Rand, h, maxW int, turn bool) ([]float32, string) {
	s := randomText(rng, 2+rng.IntN(24))
	// The crop around the glyphs, in glyph pixels: detector boxes are
	// loose by a few pixels and vary.
	padY := glyphH * (0.05 + 0.35*rng.Float64())
	padX := glyphW * (0.2 + 1.2*rng.Float64())
	cropH := glyphH + 2*padY
	cropW := float64(len(s)*glyphW) + 2*padX
	r := float64(h) / cropH
	w := min(maxW, int(math.Ceil(cropW*r)))
	sx := float64(w) / cropW // horizontal canvas pixels per glyph pixel
	cv := newCanvas(w, h)
	bg0, bg1, fg := palette(rng)
	cv.background(rng, bg0, bg1)
	jx, jy := glyphW*0.3*(rng.Float64()-0.5), padY*0.5*(rng.Float64()-0.5)
	cv.text(s, (padX+jx)*sx, (padY+jy)*r, sx, r, fg)
	cv.noise(rng, 12*rng.Float64())
	if turn {
		cv.rotate180()
	}
	out := make([]float32, 3*h*maxW)
	for ch := range 3 {
		for y := range h {
			for x := range w {
				out[(ch*h+y)*maxW+x] = (cv.px[(ch*h+y)*w+x]/255 - 0.5) / 0.5
			}
		}
	}
	return out, s
}

func clsSample(rng *rand.Rand, shape []int64) Sample {
	turn := rng.IntN(2) == 1
	v, s := textLine(rng, int(shape[2]), int(shape[3]), turn)
	label := 0
	if turn {
		label = 1
	}
	return Sample{Input: v, Label: label, Text: s}
}

func recSample(rng *rand.Rand, shape []int64) Sample {
	v, s := textLine(rng, int(shape[2]), int(shape[3]), false)
	return Sample{Input: v, Label: -1, Text: s}
}

// imagenet mean and std per plane (PaddleOCR applies them to the B, G, R
// planes in this order).
var (
	detMean = [3]float32{0.485, 0.456, 0.406}
	detStd  = [3]float32{0.229, 0.224, 0.225}
)

// detSample draws a page: lines of text at mixed sizes stacked down the
// image, some indented, on a gradient background.
func detSample(rng *rand.Rand, shape []int64) Sample {
	h, w := int(shape[2]), int(shape[3])
	cv := newCanvas(w, h)
	bg0, bg1, fg := palette(rng)
	cv.background(rng, bg0, bg1)
	var boxes []image.Rectangle
	y := 4 + rng.Float64()*float64(h)/10
	for {
		scale := 1 + 2*rng.Float64()
		lineH := glyphH * scale
		if y+lineH > float64(h)-2 {
			break
		}
		x := 4 + rng.Float64()*float64(w)/3
		room := int((float64(w) - 4 - x) / (glyphW * scale))
		if room >= 3 {
			n := 3 + rng.IntN(room-2)
			s := randomText(rng, n)
			cv.text(s, x, y, scale, scale, fg)
			boxes = append(boxes, image.Rect(int(x), int(y), int(x+float64(n*glyphW)*scale), int(y+lineH)))
		}
		y += lineH + 3 + rng.Float64()*2.5*lineH
	}
	cv.noise(rng, 10*rng.Float64())
	n := w * h
	out := make([]float32, 3*n)
	for ch := range 3 {
		for i := range n {
			out[ch*n+i] = (cv.px[ch*n+i]/255 - detMean[ch]) / detStd[ch]
		}
	}
	return Sample{Input: out, Label: -1, Boxes: boxes}
}
