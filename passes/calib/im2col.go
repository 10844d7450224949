package calib

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// Conv is the geometry of a 1-D or 2-D convolution, as Im2Col needs it. A
// 1-D convolution has KH = 1, stride, dilation 1 and no padding on H.
type Conv struct {
	Group                int
	KH, KW               int
	StrideH, StrideW     int
	DilationH, DilationW int
	// Pads: top, left, bottom, right. Ignored when AutoPad is SAME_UPPER
	// or SAME_LOWER (computed from the input size) or VALID (zero).
	Pads    [4]int
	AutoPad string // "", NOTSET, VALID, SAME_UPPER, SAME_LOWER
}

// ConvOf reads a Conv node's geometry from its attributes, and the kernel
// size from kernel_shape or else the weight's shape [M, C/group, kh, kw].
func ConvOf(n *graph.Node) (Conv, error) {
	if n.OpType() != "Conv" {
		return Conv{}, fmt.Errorf("%s is %s, not Conv", n, n.OpType())
	}
	k := n.AttrInts("kernel_shape")
	if k == nil {
		if w := n.Input(1); w != nil {
			if dims, ok := w.Shape(); ok && len(dims) > 2 {
				k = dims[2:]
			}
		}
	}
	if len(k) != 1 && len(k) != 2 {
		return Conv{}, fmt.Errorf("%s: only 1-D and 2-D convolutions with a known kernel size are supported (kernel %v)", n, k)
	}
	d := len(k)
	get := func(name string, def int64) ([]int64, error) {
		v := n.AttrInts(name)
		if v == nil {
			v = make([]int64, d)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != d && !(name == "pads" && len(v) == 2*d) {
			return nil, fmt.Errorf("%s: %s has %d values for a %d-D convolution", n, name, len(v), d)
		}
		return v, nil
	}
	strides, err := get("strides", 1)
	if err != nil {
		return Conv{}, err
	}
	dil, err := get("dilations", 1)
	if err != nil {
		return Conv{}, err
	}
	pads := n.AttrInts("pads")
	if pads == nil {
		pads = make([]int64, 2*d)
	}
	if len(pads) != 2*d {
		return Conv{}, fmt.Errorf("%s: pads has %d values for a %d-D convolution", n, len(pads), d)
	}
	c := Conv{Group: int(n.AttrInt("group", 1)), KH: 1, KW: int(k[d-1]), StrideH: 1, StrideW: int(strides[d-1]),
		DilationH: 1, DilationW: int(dil[d-1]), AutoPad: n.AttrString("auto_pad", "NOTSET")}
	if d == 2 {
		c.KH, c.StrideH, c.DilationH = int(k[0]), int(strides[0]), int(dil[0])
		c.Pads = [4]int{int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])}
	} else {
		c.Pads = [4]int{0, int(pads[0]), 0, int(pads[1])}
	}
	return c, c.check()
}

func (c Conv) check() error {
	if c.Group < 1 || c.KH < 1 || c.KW < 1 || c.StrideH < 1 || c.StrideW < 1 || c.DilationH < 1 || c.DilationW < 1 {
		return fmt.Errorf("convolution geometry %+v has a size below 1", c)
	}
	for _, p := range c.Pads {
		if p < 0 {
			return fmt.Errorf("convolution pads %v are negative", c.Pads)
		}
	}
	switch c.AutoPad {
	case "", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
		return nil
	}
	return fmt.Errorf("convolution auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", c.AutoPad)
}

// samePads splits the padding SAME_* needs along one axis.
func samePads(in, k, s, d int, upper bool) (lo, hi int) {
	out := (in + s - 1) / s
	total := max(0, (out-1)*s+(k-1)*d+1-in)
	if upper {
		return total / 2, total - total/2
	}
	return total - total/2, total / 2
}

// Im2Col unfolds a float32 Conv input x ([N, C, H, W], or [N, C, W] for a
// 1-D convolution) into one Matrix per group: rows are N·outH·outW output
// positions (row (n·outH + y)·outW + x), features are the C/group·KH·KW
// input elements under the kernel there (feature (c·KH + i)·KW + j, c
// counted within the group), zero where the kernel hangs over the
// padding. Feature order matches the weight [M, C/group, KH, KW] flattened
// per output channel, so a Conv is, per group, Matrix × Wᵀ.
func Im2Col(x *ort.Tensor, c Conv) ([]Matrix, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	src, err := Floats(x) // float16 activations are decoded once
	if err != nil {
		return nil, fmt.Errorf("im2col: %w", err)
	}
	var n, ch, h, w int
	switch len(x.Shape) {
	case 4:
		n, ch, h, w = int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	case 3:
		if c.KH != 1 {
			return nil, fmt.Errorf("im2col: input %v is 1-D but the kernel is %dx%d", x.Shape, c.KH, c.KW)
		}
		n, ch, h, w = int(x.Shape[0]), int(x.Shape[1]), 1, int(x.Shape[2])
	default:
		return nil, fmt.Errorf("im2col: input shape %v, want [N, C, H, W] or [N, C, W]", x.Shape)
	}
	if ch%c.Group != 0 {
		return nil, fmt.Errorf("im2col: %d channels do not split into %d groups", ch, c.Group)
	}
	pt, pl, pb, pr := c.Pads[0], c.Pads[1], c.Pads[2], c.Pads[3]
	switch c.AutoPad {
	case "VALID":
		pt, pl, pb, pr = 0, 0, 0, 0
	case "SAME_UPPER", "SAME_LOWER":
		up := c.AutoPad == "SAME_UPPER"
		pt, pb = samePads(h, c.KH, c.StrideH, c.DilationH, up)
		pl, pr = samePads(w, c.KW, c.StrideW, c.DilationW, up)
		if len(x.Shape) == 3 {
			pt, pb = 0, 0
		}
	}
	oh := (h+pt+pb-c.DilationH*(c.KH-1)-1)/c.StrideH + 1
	ow := (w+pl+pr-c.DilationW*(c.KW-1)-1)/c.StrideW + 1
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("im2col: a %dx%d kernel does not fit input %v with pads %v", c.KH, c.KW, x.Shape, [4]int{pt, pl, pb, pr})
	}
	cg := ch / c.Group
	feats := cg * c.KH * c.KW
	rows := n * oh * ow
	if 4*int64(rows)*int64(feats)*int64(c.Group) > onnx.MaxTensorBytes {
		return nil, fmt.Errorf("im2col: %d rows × %d features × %d groups is too large", rows, feats, c.Group)
	}
	out := make([]Matrix, c.Group)
	for g := range out {
		m := Matrix{Rows: rows, Cols: feats, Data: make([]float32, rows*feats)}
		for b := 0; b < n; b++ {
			for y := 0; y < oh; y++ {
				for xo := 0; xo < ow; xo++ {
					row := m.Row((b*oh+y)*ow + xo)
					for cc := 0; cc < cg; cc++ {
						plane := src[((b*ch)+g*cg+cc)*h*w:]
						for i := 0; i < c.KH; i++ {
							iy := y*c.StrideH - pt + i*c.DilationH
							if iy < 0 || iy >= h {
								continue
							}
							for j := 0; j < c.KW; j++ {
								ix := xo*c.StrideW - pl + j*c.DilationW
								if ix >= 0 && ix < w {
									row[(cc*c.KH+i)*c.KW+j] = plane[iy*w+ix]
								}
							}
						}
					}
				}
			}
		}
		out[g] = m
	}
	return out, nil
}

// TapMajor returns, for a kernel of taps positions over features input
// channels (per group), the Im2Col column (channel outer, tap inner) of
// every column of the weight's passes.Matrix view (tap outer, channel
// inner): perm[tap*features+f] = f*taps+tap. It is nil when the orders
// agree (one tap or one channel). Matrix.Columns(perm) reorders an Im2Col
// matrix to the weight's column order.
func TapMajor(features, taps int) []int {
	if features == 1 || taps == 1 {
		return nil
	}
	perm := make([]int, features*taps)
	for t := range taps {
		for f := range features {
			perm[t*features+f] = f*taps + t
		}
	}
	return perm
}
