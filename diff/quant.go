package diff

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
)

// Quantized describes a float weight of the first model that the second
// replaced by integers with scales, and how well they reconstruct it.
type Quantized struct {
	// Scheme names the form: "DequantizeLinear", "DynamicQuantizeMatMul"
	// or "MatMulNBits".
	Scheme string `json:"scheme"`
	Node   string `json:"node"`   // the dequantizing or consuming node
	DType  string `json:"dtype"`  // the integer type (int8, int4, uint4, ...)
	Bits   int    `json:"bits"`   // bits per weight
	Scale  string `json:"scale"`  // the scale tensor
	Zero   string `json:"zero"`   // the zero-point tensor, if any
	Blocks int64  `json:"blocks"` // block size, 0 for per-tensor or per-axis
	// MaxAbsErr and RelErr compare the dequantized weight with the
	// original: largest absolute difference, and ||deq-w|| / ||w||.
	MaxAbsErr float64  `json:"max_abs_err"`
	RelErr    *float64 `json:"rel_err"`
}

// dequantized is the float weight a quantized form stands for.
type dequantized struct {
	info  Quantized
	value *graph.Value // the integer weight
	dims  []int64      // shape of the reconstructed weight
	data  []float32
}

// recognizeQuantized looks at vb, the counterpart in the second model of a
// float weight, and reconstructs the weight when vb is a quantized form of
// it. It returns nil when vb is not one it knows.
func recognizeQuantized(vb *graph.Value) (*dequantized, error) {
	if p, _ := vb.Producer(); p != nil && p.OpType() == "DequantizeLinear" {
		if isConstant(p.Input(0)) && isConstant(p.Input(1)) {
			return dequantizeLinear(p)
		}
		return nil, nil
	}
	if !isConstant(vb) {
		return nil, nil
	}
	for _, u := range vb.Uses() {
		if u.Index != 1 {
			continue
		}
		switch u.Node.OpType() {
		case "MatMulNBits":
			return matMulNBits(u.Node)
		case "DynamicQuantizeMatMul":
			return dynamicQuantizeMatMul(u.Node)
		}
	}
	return nil, nil
}

// ints reads an integer constant as int64 values (packed 4-bit and 2-bit
// types unpacked, low bits first).
func ints(v *graph.Value) ([]int64, error) {
	if t := v.Const(); t != nil {
		return t.Int64s()
	}
	return nil, notDense(v)
}

// scales reads a float32 scale constant.
func scales(v *graph.Value, node *graph.Node) ([]float32, error) {
	s, ok, err := floats(v)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: scale %q is %s; only float32 scales are reconstructed", node, v.Name, onnx.DataTypeName(dtypeOf(v)))
	}
	return s, nil
}

// dequantizeLinear reconstructs y = (x - zero) * scale, per tensor, per
// axis or per block.
func dequantizeLinear(p *graph.Node) (*dequantized, error) {
	xv, sv, zv := p.Input(0), p.Input(1), p.Input(2)
	q, err := ints(xv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s, err := scales(sv, p)
	if err != nil {
		return nil, err
	}
	var zero []int64
	if zv != nil {
		if zero, err = ints(zv); err != nil {
			return nil, fmt.Errorf("%s: zero point: %w", p, err)
		}
	}
	dims := shapeOf(xv)
	axis := int(p.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(dims)
	}
	block := p.AttrInt("block_size", 0)
	d := &dequantized{value: xv, dims: dims, data: make([]float32, len(q))}
	d.info = Quantized{Scheme: "DequantizeLinear", Node: nodeLabel(p), DType: onnx.DataTypeName(dtypeOf(xv)),
		Bits: onnx.ElemBits(dtypeOf(xv)), Scale: sv.Name, Blocks: block}
	if zv != nil {
		d.info.Zero = zv.Name
	}
	// index maps element i of x to its scale.
	var index func(i int) int
	switch {
	case len(s) == 1:
		index = func(int) int { return 0 }
	case axis < 0 || axis >= len(dims):
		return nil, fmt.Errorf("%s: axis %d out of range for shape %v", p, axis, dims)
	default:
		inner := 1
		for _, x := range dims[axis+1:] {
			inner *= int(x)
		}
		n := int(dims[axis])
		if block <= 0 {
			if len(s) != n {
				return nil, fmt.Errorf("%s: %d scales for axis %d of shape %v", p, len(s), axis, dims)
			}
			index = func(i int) int { return (i / inner) % n }
		} else {
			nb := (n + int(block) - 1) / int(block)
			if len(s) != len(q)/n*nb {
				return nil, fmt.Errorf("%s: %d scales for shape %v with block size %d on axis %d", p, len(s), dims, block, axis)
			}
			index = func(i int) int {
				outer, c, in := i/(inner*n), (i/inner)%n, i%inner
				return (outer*nb+c/int(block))*inner + in
			}
		}
	}
	if err := dequantizeInto(d.data, q, s, zero, index); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return d, nil
}

// dequantizeInto writes (q[i] - zero[k]) * scale[k] for k = index(i) (zero
// may be nil: all zero points are 0).
func dequantizeInto(out []float32, q []int64, scale []float32, zero []int64, index func(int) int) error {
	if zero != nil && len(zero) != len(scale) {
		return fmt.Errorf("%d zero points for %d scales", len(zero), len(scale))
	}
	for i, x := range q {
		k := index(i)
		z := int64(0)
		if zero != nil {
			z = zero[k]
		}
		out[i] = float32(x-z) * scale[k]
	}
	return nil
}

// dynamicQuantizeMatMul reconstructs com.microsoft DynamicQuantizeMatMul's
// B [K, N] from its scale and zero point (one, or one per column).
func dynamicQuantizeMatMul(p *graph.Node) (*dequantized, error) {
	bv, sv, zv := p.Input(1), p.Input(2), p.Input(3)
	if !isConstant(sv) {
		return nil, nil
	}
	q, err := ints(bv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s, err := scales(sv, p)
	if err != nil {
		return nil, err
	}
	var zero []int64
	if isConstant(zv) {
		if zero, err = ints(zv); err != nil {
			return nil, fmt.Errorf("%s: zero point: %w", p, err)
		}
	}
	dims := shapeOf(bv)
	if len(dims) != 2 {
		return nil, fmt.Errorf("%s: B has shape %v, want [K, N]", p, dims)
	}
	n := int(dims[1])
	if len(s) != 1 && len(s) != n {
		return nil, fmt.Errorf("%s: %d scales for %d columns", p, len(s), n)
	}
	d := &dequantized{value: bv, dims: dims, data: make([]float32, len(q))}
	d.info = Quantized{Scheme: "DynamicQuantizeMatMul", Node: nodeLabel(p), DType: onnx.DataTypeName(dtypeOf(bv)),
		Bits: onnx.ElemBits(dtypeOf(bv)), Scale: sv.Name}
	if zero != nil {
		d.info.Zero = zv.Name
	}
	column := func(i int) int {
		if len(s) > 1 {
			return i % n
		}
		return 0
	}
	if err := dequantizeInto(d.data, q, s, zero, column); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return d, nil
}

// matMulNBits reconstructs com.microsoft MatMulNBits' weight as [K, N]:
// B is uint8 [N, K/block, block*bits/8], low bits first; scales are
// [N*K/block]; zero points are packed uint8 (default 2^(bits-1)).
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
	s, err := scales(sv, p)
	if err != nil {
		return nil, err
	}
	nb := f.Blocks()
	var zeroAt func(n, blk int) float32 // nil: the default zero point
	var zname string
	if isConstant(zv) {
		zname = zv.Name
		if dtypeOf(zv) == int32(onnx.TensorProto_UINT8) {
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
				return nil, fmt.Errorf("%s: zero points %q are not packed uint8 nor %d float32 values", p, zv.Name, f.N*nb)
			}
			zeroAt = func(n, blk int) float32 { return zf[n*nb+blk] }
		}
	}
	w, err := f.Decode(raw, s, zeroAt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	d := &dequantized{value: bv, dims: []int64{int64(f.K), int64(f.N)}, data: w}
	d.info = Quantized{Scheme: "MatMulNBits", Node: nodeLabel(p), DType: fmt.Sprintf("uint%d", f.Bits), Bits: f.Bits,
		Scale: sv.Name, Zero: zname, Blocks: int64(f.Block)}
	return d, nil
}

func rawOf(v *graph.Value) ([]byte, error) {
	if t := v.Const(); t != nil {
		return t.Raw()
	}
	return nil, notDense(v)
}

func notDense(v *graph.Value) error { return fmt.Errorf("%q is not a dense constant", v.Name) }

func nodeLabel(n *graph.Node) string {
	if n.Name() != "" {
		return n.Name()
	}
	if v := n.Output(0); v != nil {
		return opKey(n) + " → " + v.Name
	}
	return opKey(n)
}
