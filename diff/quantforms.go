package diff

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
)

// dequantizeLinear reconstructs y = (x - zero) * scale, per tensor, per
// axis or per block.
func dequantizeLinear(p *graph.Node) (*dequantized, error) {
	xv, sv, zv := p.Input(0), p.Input(1), p.Input(2)
	q, err := ints(xv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s, zero, err := scaleZero(p, sv, zv)
	if err != nil {
		return nil, err
	}
	dims := shapeOf(xv)
	axis := int(p.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(dims)
	}
	block := p.AttrInt("block_size", 0)
	index, err := scaleIndex(dims, axis, block, len(s))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	d := newDequantized("DequantizeLinear", p, xv, sv, zv, dims, make([]float32, len(q)))
	d.info.Blocks = block
	if err := dequantizeInto(d.data, q, s, zero, index); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return d, nil
}

// dynamicQuantizeMatMul reconstructs com.microsoft DynamicQuantizeMatMul's
// B [K, N] from its scale and zero point (one, or one per column).
func dynamicQuantizeMatMul(p *graph.Node) (*dequantized, error) {
	bv, sv, zv := p.Input(1), p.Input(2), p.Input(3)
	if !isConstant(sv) {
		return nil, nil
	}
	if dims := shapeOf(bv); len(dims) != 2 {
		return nil, fmt.Errorf("%s: B has shape %v, want [K, N]", p, dims)
	}
	return perAxis("DynamicQuantizeMatMul", p, bv, sv, zv, 1)
}

// convInteger reconstructs the weight [M, C/group, k...] of a ConvInteger
// as quantize's dynamic-conv writes it: uint8 or int8 codes, one weight
// zero point (input 3, or none), and the weight scales (one, or one per
// output channel shaped [1, M, 1, ...]) multiplied into the rescale that
// follows: Cast(ConvInteger) * (x_scale * w_scale).
func convInteger(p *graph.Node) (*dequantized, error) {
	wv, zv := p.Input(1), p.Input(3)
	sv := convIntegerScale(p)
	if sv == nil {
		return nil, nil
	}
	if dims := shapeOf(wv); len(dims) < 3 {
		return nil, fmt.Errorf("%s: weight has shape %v, want [M, C/group, k...]", p, dims)
	}
	return perAxis("ConvInteger", p, wv, sv, zv, 0)
}

// perAxis reconstructs the integer weight qv read by p with one scale,
// or one per index of axis, and a zero point for each or for all.
func perAxis(scheme string, p *graph.Node, qv, sv, zv *graph.Value, axis int) (*dequantized, error) {
	q, err := ints(qv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s, zero, err := scaleZero(p, sv, zv)
	if err != nil {
		return nil, err
	}
	index, err := scaleIndex(shapeOf(qv), axis, 0, len(s))
	if err != nil {
		return nil, fmt.Errorf("%s: scales %q: %w", p, sv.Name, err)
	}
	if !isConstant(zv) {
		zv = nil
	}
	d := newDequantized(scheme, p, qv, sv, zv, shapeOf(qv), make([]float32, len(q)))
	if err := dequantizeInto(d.data, q, s, zero, index); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return d, nil
}

// convIntegerScale finds the constant weight scale of ConvInteger p in the
// rescale Mul(Cast(p), Mul(x_scale, w_scale)), or nil.
func convIntegerScale(p *graph.Node) *graph.Value {
	for _, u := range p.Output(0).Uses() {
		if u.Node.OpType() != "Cast" || u.Node.Output(0) == nil {
			continue
		}
		for _, m := range u.Node.Output(0).Uses() {
			if m.Node.OpType() != "Mul" || m.Index > 1 {
				continue
			}
			other := m.Node.Input(1 - m.Index)
			if other == nil {
				continue
			}
			if isConstant(other) {
				return other
			}
			if sm, _ := other.Producer(); sm != nil && sm.OpType() == "Mul" {
				for _, in := range sm.Inputs() {
					if isConstant(in) {
						return in
					}
				}
			}
		}
	}
	return nil
}

// matMulNBits reconstructs com.microsoft MatMulNBits' weight as [K, N]:
// B is uint8 [N, K/block, block*bits/8], low bits first; scales are
// [N, K/block] (or flat) of a float type; zero points are packed uint8
// [N, ceil(K/block*bits/8)] (default 2^(bits-1)) or float like the scales.
func matMulNBits(p *graph.Node) (*dequantized, error) {
	bv, sv, zv := p.Input(1), p.Input(2), p.Input(3)
	if !isConstant(sv) {
		return nil, nil
	}
	f := qformat.MatMulNBits{K: int(p.AttrInt("K", 0)), N: int(p.AttrInt("N", 0)), Bits: int(p.AttrInt("bits", 4)), Block: int(p.AttrInt("block_size", 0))}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	raw, err := rawOf(bv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s, _, err := scaleZero(p, sv, nil)
	if err != nil {
		return nil, err
	}
	nb := f.Blocks()
	var zeroAt func(n, blk int) float32 // nil: the default zero point
	if !isConstant(zv) {
		zv = nil
	} else if dtypeOf(zv) == int32(onnx.TensorProto_UINT8) {
		zr, err := rawOf(zv)
		if err != nil {
			return nil, fmt.Errorf("%s: zero points: %w", p, err)
		}
		if len(zr) != f.N*f.ZeroRowBytes() {
			return nil, fmt.Errorf("%s: %d zero-point bytes, want %d", p, len(zr), f.N*f.ZeroRowBytes())
		}
		zeroAt = func(n, blk int) float32 { return float32(f.PackedZero(zr, n, blk)) }
	} else {
		zf, ok, err := floats(zv)
		if err != nil || !ok || len(zf) != f.N*nb {
			return nil, fmt.Errorf("%s: zero points %q are not packed uint8 nor %d float values", p, zv.Name, f.N*nb)
		}
		zeroAt = func(n, blk int) float32 { return zf[n*nb+blk] }
	}
	w, err := f.Decode(raw, s, zeroAt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	d := newDequantized("MatMulNBits", p, bv, sv, zv, []int64{int64(f.K), int64(f.N)}, w)
	d.info.DType, d.info.Bits, d.info.Blocks = fmt.Sprintf("uint%d", f.Bits), f.Bits, int64(f.Block)
	if a := p.Attr("accuracy_level"); a != nil {
		level := a.GetI()
		d.info.AccuracyLevel = &level
	}
	d.info.SharedWith = otherReaders(bv, p)
	return d, nil
}

// gatherBlockQuantized reconstructs the table of a com.microsoft
// GatherBlockQuantized: data is int4/uint4, or uint8 with bits-bit codes
// packed along the last axis (MatMulNBits' convention: default zero point
// 2^(bits-1), zero points packed like the data); blocks of block_size
// run along quantize_axis; scales have data's shape with that axis
// divided by the block. reshape, when not nil, is the Reshape through
// which a packed MatMulNBits B is read as the 2-D data.
func gatherBlockQuantized(p, reshape *graph.Node) (*dequantized, error) {
	dv, sv, zv := p.Input(0), p.Input(2), p.Input(3)
	if !isConstant(sv) {
		return nil, nil
	}
	stored := dv
	dims := shapeOf(dv)
	if reshape != nil {
		stored = reshape.Input(0)
		var err error
		if dims, err = reshapeDims(shapeOf(stored), reshape.Input(1)); err != nil {
			return nil, fmt.Errorf("%s: %w", reshape, err)
		}
	}
	if len(dims) == 0 {
		return nil, fmt.Errorf("%s: data is a scalar", p)
	}
	s, _, err := scaleZero(p, sv, nil)
	if err != nil {
		return nil, err
	}
	bits := int(p.AttrInt("bits", 4))
	packed := dtypeOf(stored) == int32(onnx.TensorProto_UINT8)
	var codes, zero []int64
	if packed {
		if bits != 4 && bits != 8 && bits != 2 {
			return nil, fmt.Errorf("%s: bits=%d", p, bits)
		}
		raw, err := rawOf(stored)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		dims = append(append([]int64{}, dims[:len(dims)-1]...), dims[len(dims)-1]*int64(8/bits))
		last := int(dims[len(dims)-1])
		if codes, err = unpackRows(raw, len(raw)*8/bits/max(last, 1), last, bits); err != nil {
			return nil, fmt.Errorf("%s: data: %w", p, err)
		}
	} else if codes, err = ints(stored); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	axis := int(p.AttrInt("quantize_axis", 1))
	if axis < 0 {
		axis += len(dims)
	}
	block := p.AttrInt("block_size", 128)
	index, err := scaleIndex(dims, axis, block, len(s))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	sdims := shapeOf(sv)
	switch {
	case !isConstant(zv):
		zv = nil
		if packed {
			zero = []int64{1 << (bits - 1)}
		}
	case packed && len(sdims) > 0:
		zr, err := rawOf(zv)
		if err != nil {
			return nil, fmt.Errorf("%s: zero points: %w", p, err)
		}
		last := int(sdims[len(sdims)-1])
		if zero, err = unpackRows(zr, len(s)/max(last, 1), last, bits); err != nil {
			return nil, fmt.Errorf("%s: zero points: %w", p, err)
		}
	default:
		if zero, err = ints(zv); err != nil {
			return nil, fmt.Errorf("%s: zero points: %w", p, err)
		}
	}
	d := newDequantized("GatherBlockQuantized", p, stored, sv, zv, dims, make([]float32, len(codes)))
	d.info.Bits, d.info.Blocks = bits, block
	if packed {
		d.info.DType = fmt.Sprintf("uint%d", bits)
	}
	if reshape != nil {
		d.parts = append(d.parts, reshape.Input(1))
	}
	if err := dequantizeInto(d.data, codes, s, zero, index); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	d.info.SharedWith = otherReaders(stored, p)
	return d, nil
}

// reshapeDims returns the shape a Reshape with constant shape input sv
// gives a tensor of shape in (0 copies a dimension, -1 is inferred).
func reshapeDims(in []int64, sv *graph.Value) ([]int64, error) {
	shape, err := ints(sv)
	if err != nil {
		return nil, err
	}
	total, known, infer := int64(1), int64(1), -1
	for _, x := range in {
		total *= x
	}
	out := append([]int64{}, shape...)
	for i, x := range out {
		switch {
		case x == 0 && i < len(in):
			out[i] = in[i]
		case x == -1 && infer < 0:
			infer = i
			continue
		case x < 0:
			return nil, fmt.Errorf("shape %v", shape)
		}
		known *= out[i]
	}
	if infer >= 0 && known > 0 {
		out[infer] = total / known
		known *= out[infer]
	}
	if known != total {
		return nil, fmt.Errorf("shape %v does not fit %v", shape, in)
	}
	return out, nil
}

// otherReaders labels the nodes other than p that read the integer weight
// v, directly or through a Reshape.
func otherReaders(v *graph.Value, p *graph.Node) []string {
	var out []string
	for _, u := range v.Uses() {
		n := u.Node
		if n.OpType() == "Reshape" && u.Index == 0 && n.Output(0) != nil {
			for _, w := range n.Output(0).Uses() {
				if w.Node != p {
					out = append(out, nodeLabel(w.Node)+" ("+opKey(w.Node)+")")
				}
			}
			continue
		}
		if n != p {
			out = append(out, nodeLabel(n)+" ("+opKey(n)+")")
		}
	}
	return out
}
