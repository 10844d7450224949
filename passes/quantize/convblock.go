package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// A 4-bit Conv weight [M, C/group, kh, kw] (or [M, C/group, kw]) is
// stored as int4 or uint4 behind an opset-21 DequantizeLinear with
// axis=1 and block_size: each block holds up to `block` consecutive input
// channels at one kernel tap, so the scales are [M, ceil(C/group/block),
// kh, kw]. Seen as the weight's passes.Matrix (a row per output channel,
// columns tap-major, channel inner), a block is a run of consecutive
// columns inside one tap. The quantizers (quantizeBlocked, GPTQ) want
// blocks of exactly `block` columns, so every tap's run of channels is
// padded with zeros to a multiple of the block: padded columns hold zero
// weights (which leave a block's range alone, ranges include zero) and,
// for GPTQ, zero activations (never active, so GPTQ leaves them at zero).

// convBlocks is the blocked view of one Conv's weight.
type convBlocks struct {
	conv     calib.Conv
	dims     []int64
	mat      passes.Matrix // rows output channels, columns tap-major
	taps     int
	features int // input channels per group
	nb       int // blocks per tap: ceil(features/block)
	block    int
	// wcol[k] is the Matrix column of padded column k; xcol[k] its Im2Col
	// column (calib.Im2Col orders channel outer, tap inner); -1 for
	// padding.
	wcol, xcol []int
}

// cols is the number of padded columns: taps · nb · block.
func (c *convBlocks) cols() int { return len(c.wcol) }

// groups is the number of conv groups (rows per group: mat.Rows/groups).
func (c *convBlocks) groups() int { return c.mat.Groups }

// convBlocksOf describes n's weight in blocks of `block` input channels,
// or says why n's weight cannot be quantized that way.
func convBlocksOf(n *graph.Node, block int) (*convBlocks, string, error) {
	wv := n.Input(1)
	if wv == nil {
		return nil, "has no weight input", nil
	}
	t := wv.Const()
	switch {
	case t == nil:
		return nil, "weight " + wv.Name + " is computed at run time, not a constant", nil
	case wv.IsInput():
		return nil, "weight " + wv.Name + " is also a graph input (a caller may replace it at run time)", nil
	case !t.IsFloat():
		return nil, fmt.Sprintf("weight %s is %s, not a float type", wv.Name, onnx.DataTypeName(t.DataType())), nil
	case n.Input(0) == nil || n.Input(0).IsConstant():
		return nil, "data input is not an activation", nil
	}
	dims := t.Dims()
	if len(dims) != 3 && len(dims) != 4 {
		return nil, fmt.Sprintf("weight %s has shape %v: 4-bit blocks cover 1-D and 2-D convolutions", wv.Name, dims), nil
	}
	axes, why := weightAxes(n, dims)
	if why != "" {
		return nil, why, nil
	}
	conv, err := calib.ConvOf(n)
	if err != nil {
		return nil, err.Error(), nil
	}
	mat := axes.Matrix(dims)
	if mat.Features == 1 {
		return nil, "one input channel per group (depthwise): a block along the input channels would hold one weight and its own scale; stays float", nil
	}
	if mat.Rows%mat.Groups != 0 {
		return nil, fmt.Sprintf("%d output channels do not split into %d groups", mat.Rows, mat.Groups), nil
	}
	c := &convBlocks{conv: conv, dims: dims, mat: mat, taps: mat.Cols / mat.Features, features: mat.Features, block: block}
	if c.taps != conv.KH*conv.KW {
		return nil, fmt.Sprintf("kernel %dx%d does not match weight %v", conv.KH, conv.KW, dims), nil
	}
	c.nb = (c.features + block - 1) / block
	width := c.nb * block
	c.wcol, c.xcol = make([]int, c.taps*width), make([]int, c.taps*width)
	for tap := range c.taps {
		for j := range width {
			k := tap*width + j
			c.wcol[k], c.xcol[k] = -1, -1
			if j < c.features {
				c.wcol[k], c.xcol[k] = tap*c.features+j, j*c.taps+tap
			}
		}
	}
	return c, "", nil
}

// add accumulates one calibration sample x (the Conv's input) into the
// per-group Hessians hs, in padded column order, and with xref (the same
// input in the original model) the cross products of the two into cs.
func (c *convBlocks) add(hs []*obs.Hessian, cs []*obs.Cross, x, xref *ort.Tensor) error {
	mats, err := c.columns(x, len(hs))
	if err != nil {
		return err
	}
	var refs []calib.Matrix
	if xref != nil {
		if refs, err = c.columns(xref, len(hs)); err != nil {
			return fmt.Errorf("original model: %w", err)
		}
	}
	for g, a := range mats {
		if err := hs[g].Add(a.Data); err != nil {
			return err
		}
		if refs != nil {
			if err := cs[g].Add(a.Data, refs[g].Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// columns unfolds x, the Conv's input, into one matrix per conv group in
// padded column order.
func (c *convBlocks) columns(x *ort.Tensor, groups int) ([]calib.Matrix, error) {
	mats, err := calib.Im2Col(x, c.conv)
	if err != nil {
		return nil, err
	}
	if len(mats) != groups {
		return nil, fmt.Errorf("%d conv groups, the weight has %d", len(mats), groups)
	}
	for g, a := range mats {
		if a.Cols != c.features*c.taps {
			return nil, fmt.Errorf("im2col has %d features, the weight %d", a.Cols, c.features*c.taps)
		}
		mats[g] = a.Columns(c.xcol)
	}
	return mats, nil
}

// blockedConv stores Conv n's weight in 4 bits behind a blocked
// DequantizeLinear (format=qdq), fitted by GPTQ on the Conv's im2col
// Hessians when the stage captured them (method=gptq), else rounded to
// nearest.
func (q *quantizer) blockedConv(n *graph.Node) (string, error) {
	if q.cfg.format != "qdq" {
		return "4-bit Conv weights need format=qdq (a blocked DequantizeLinear before the Conv); MatMulNBits has no Conv", nil
	}
	c, why, err := convBlocksOf(n, q.cfg.block)
	if c == nil {
		return why, err
	}
	if err := q.needOpset(21, "blocked DequantizeLinear (block_size) with INT4/UINT4 weights"); err != nil {
		return "", err
	}
	wv := n.Input(1)
	key := cacheKey{wv, fmt.Sprintf("qdq4conv/%s/%d/%v", q.cfg.typ.name, q.cfg.block, q.cfg.symmetric)}
	deq := q.cache[key]
	if deq == nil {
		if deq, err = q.convDequantized(n, c); err != nil {
			return "", fmt.Errorf("weight %s: %w", wv.Name, err)
		}
		q.cache[key] = deq
	}
	n.SetInput(1, deq)
	return "", cleanup(wv)
}

// convDequantized quantizes n's weight in c's blocks, group by group, and
// returns the DequantizeLinear that gives it back.
func (q *quantizer) convDequantized(n *graph.Node, c *convBlocks) (*graph.Value, error) {
	wv := n.Input(1)
	t := wv.Const()
	w, err := t.Floats()
	if err != nil {
		return nil, err
	}
	rows, err := c.mat.ToRows(w)
	if err != nil {
		return nil, err
	}
	padded := calib.Matrix{Rows: c.mat.Rows, Cols: c.mat.Cols, Data: rows}.Columns(c.wcol)
	dt := t.DataType()
	st := q.scaleType(dt)
	per, k, nbt := c.mat.Rows/c.groups(), c.cols(), c.taps*c.nb
	codes, zps := make([]int32, len(w)), make([]int32, c.mat.Rows*nbt)
	scales := make([]float32, c.mat.Rows*nbt)
	hs := q.convHess[n]
	how := "rtn"
	for g := range c.groups() {
		var h *obs.Hessian
		if hs != nil {
			h = hs[g]
		}
		b, m, err := q.blockedWith(h, padded.Data[g*per*k:(g+1)*per*k], k, per, false, st)
		if err != nil {
			return nil, err
		}
		if g > 0 && m != how {
			m = "gptq, damp cross-validated per conv group (see the notes)"
		}
		how = m
		for r := range per {
			o := g*per + r
			base := c.mat.RowIndex(o)
			for kk, col := range c.wcol {
				if col >= 0 {
					codes[base+c.mat.ColIndex(col)] = b.q[kk*per+r]
				}
			}
			// Scales [M, nb, taps...]: block bi of the padded row is tap
			// bi/nb, channel block bi%nb.
			for bi := range nbt {
				i := (o*c.nb+bi%c.nb)*c.taps + bi/c.nb
				scales[i], zps[i] = b.scale[bi*per+r], b.zp[bi*per+r]
			}
		}
	}
	g := wv.Graph()
	base := wv.Name
	sdims := append([]int64{c.dims[0], int64(c.nb)}, c.dims[2:]...)
	wq := newInit(g, base+"_q4", q.cfg.typ.onnx, c.dims, qformat.Pack(codes, 4))
	after := wq.Tensor.Bytes()
	var zv *graph.Value
	if !allZero(zps) {
		zv = newInit(g, base+"_zero_points", q.cfg.typ.onnx, sdims, qformat.Pack(zps, 4))
		after += zv.Tensor.Bytes()
	}
	deq, sv := q.dequantize(g, base, wq, zv, scales, sdims, st, dt, attrInt("axis", 1), attrInt("block_size", int64(q.cfg.block)))
	after += sv.Tensor.Bytes()
	q.report(wv, after, fmt.Sprintf("%s block %d (input channels) %s -> DequantizeLinear", q.cfg.typ.name, q.cfg.block, how))
	return deq, nil
}
