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
	// Scheme names the form: "DequantizeLinear", "DynamicQuantizeMatMul",
	// "MatMulNBits", "GatherBlockQuantized" or "ConvInteger".
	Scheme     string `json:"scheme"`
	Node       string `json:"node"`                  // the dequantizing or consuming node
	DType      string `json:"dtype"`                 // the integer type (int8, int4, uint4, ...)
	Bits       int    `json:"bits"`                  // bits per weight
	Scale      string `json:"scale"`                 // the scale tensor
	ScaleDType string `json:"scale_dtype,omitempty"` // float32, float16, ...
	Zero       string `json:"zero"`                  // the zero-point tensor, if any
	Blocks     int64  `json:"blocks"`                // block size, 0 for per-tensor or per-axis
	// AccuracyLevel is MatMulNBits' accuracy_level attribute, when set.
	AccuracyLevel *int64 `json:"accuracy_level,omitempty"`
	// SharedWith names the other nodes reading the same integer weight
	// (a tied embedding table and LM head).
	SharedWith []string `json:"shared_with,omitempty"`
	// Reference says what the reconstruction was compared with when it is
	// not the original weight as stored: "weight with BatchNormalization
	// NAME folded in" when the pass folded it.
	Reference string `json:"reference,omitempty"`
	// MaxAbsErr and RelErr compare the dequantized weight with the
	// original: largest absolute difference, and ||deq-w|| / ||w||.
	MaxAbsErr float64  `json:"max_abs_err"`
	RelErr    *float64 `json:"rel_err"`
}

// dequantized is the float weight a quantized form stands for.
type dequantized struct {
	info  Quantized
	value *graph.Value   // the integer weight
	parts []*graph.Value // its scales, zero points and other constants
	dims  []int64        // shape of the reconstructed weight
	data  []float32
}

// recognizeQuantized looks at vb, the counterpart in the second model of a
// float weight, and reconstructs the weight when vb is a quantized form of
// it. It returns nil when vb is not one it knows.
func recognizeQuantized(vb *graph.Value) (*dequantized, error) {
	if p, _ := vb.Producer(); p != nil {
		switch {
		case p.OpType() == "DequantizeLinear" && isConstant(p.Input(0)) && isConstant(p.Input(1)):
			return dequantizeLinear(p)
		case p.OpType() == "Reshape" && isConstant(p.Input(0)) && isConstant(p.Input(1)):
			// A packed table viewed as GatherBlockQuantized's 2-D data.
			for _, u := range vb.Uses() {
				if u.Index == 0 && u.Node.OpType() == "GatherBlockQuantized" {
					return gatherBlockQuantized(u.Node, p)
				}
			}
		}
		return nil, nil
	}
	if !isConstant(vb) {
		return nil, nil
	}
	// A table read by GatherBlockQuantized (directly, or through a
	// Reshape) is reported as the embedding even when a tied MatMulNBits
	// head reads it too (SharedWith names the head).
	for _, u := range vb.Uses() {
		switch {
		case u.Index == 0 && u.Node.OpType() == "GatherBlockQuantized":
			return gatherBlockQuantized(u.Node, nil)
		case u.Index == 0 && u.Node.OpType() == "Reshape" && u.Node.Output(0) != nil && isConstant(u.Node.Input(1)):
			for _, w := range u.Node.Output(0).Uses() {
				if w.Index == 0 && w.Node.OpType() == "GatherBlockQuantized" {
					return gatherBlockQuantized(w.Node, u.Node)
				}
			}
		}
	}
	for _, u := range vb.Uses() {
		switch {
		case u.Index == 1 && u.Node.OpType() == "MatMulNBits":
			return matMulNBits(u.Node)
		case u.Index == 1 && u.Node.OpType() == "DynamicQuantizeMatMul":
			return dynamicQuantizeMatMul(u.Node)
		case u.Index == 1 && u.Node.OpType() == "ConvInteger":
			return convInteger(u.Node)
		}
	}
	return nil, nil
}

// newDequantized starts the description of the integer weight q read by
// node, with scale s and zero point z (z may be nil).
func newDequantized(scheme string, node *graph.Node, q, s, z *graph.Value, dims []int64, data []float32) *dequantized {
	d := &dequantized{value: q, dims: dims, data: data, parts: []*graph.Value{s}}
	d.info = Quantized{Scheme: scheme, Node: nodeLabel(node), DType: onnx.DataTypeName(dtypeOf(q)), Bits: onnx.ElemBits(dtypeOf(q)),
		Scale: s.Name, ScaleDType: onnx.DataTypeName(dtypeOf(s))}
	if z != nil {
		d.info.Zero = z.Name
		d.parts = append(d.parts, z)
	}
	return d
}

// scaleZero reads the scales (any float type) and, when zv is a
// constant, the integer zero points of a quantizing node.
func scaleZero(node *graph.Node, sv, zv *graph.Value) (s []float32, zero []int64, err error) {
	s, ok, err := floats(sv)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", node, err)
	}
	if !ok {
		return nil, nil, fmt.Errorf("%s: scale %q is %s, not a float type", node, sv.Name, onnx.DataTypeName(dtypeOf(sv)))
	}
	if isConstant(zv) {
		if zero, err = ints(zv); err != nil {
			return nil, nil, fmt.Errorf("%s: zero point: %w", node, err)
		}
	}
	return s, zero, nil
}

// dequantizeInto writes (q[i] - zero[k]) * scale[k] for k = index(i) (zero
// may be nil: all zero points are 0; one zero point serves every scale).
func dequantizeInto(out []float32, q []int64, scale []float32, zero []int64, index func(int) int) error {
	if zero != nil && len(zero) != len(scale) && len(zero) != 1 {
		return fmt.Errorf("%d zero points for %d scales", len(zero), len(scale))
	}
	for i, x := range q {
		k := index(i)
		z := int64(0)
		switch {
		case len(zero) == 1:
			z = zero[0]
		case zero != nil:
			z = zero[k]
		}
		out[i] = float32(x-z) * scale[k]
	}
	return nil
}

// scaleIndex maps element i of a tensor of shape dims to its scale: one
// scale (nScales 1), one per index of axis (block 0), or one per block of
// block elements along axis (the scales shaped like dims with that axis
// divided by block, rounded up).
func scaleIndex(dims []int64, axis int, block int64, nScales int) (func(int) int, error) {
	if nScales == 1 {
		return func(int) int { return 0 }, nil
	}
	if axis < 0 || axis >= len(dims) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, dims)
	}
	inner, total := 1, 1
	for i, x := range dims {
		total *= int(x)
		if i > axis {
			inner *= int(x)
		}
	}
	n := int(dims[axis])
	if block <= 0 {
		if nScales != n {
			return nil, fmt.Errorf("%d scales for axis %d of shape %v", nScales, axis, dims)
		}
		return func(i int) int { return (i / inner) % n }, nil
	}
	nb := (n + int(block) - 1) / int(block)
	if n == 0 || nScales != total/n*nb {
		return nil, fmt.Errorf("%d scales for shape %v with block size %d on axis %d", nScales, dims, block, axis)
	}
	return func(i int) int {
		outer, c, in := i/(inner*n), (i/inner)%n, i%inner
		return (outer*nb+c/int(block))*inner + in
	}, nil
}

// unpackRows reads rows*cols codes of bits bits packed along each row
// (every row starts on a byte), unsigned.
func unpackRows(raw []byte, rows, cols, bits int) ([]int64, error) {
	rb := (cols*bits + 7) / 8
	if len(raw) != rows*rb {
		return nil, fmt.Errorf("%d bytes for %d rows of %d %d-bit codes, want %d", len(raw), rows, cols, bits, rows*rb)
	}
	out := make([]int64, 0, rows*cols)
	for r := 0; r < rows; r++ {
		out = append(out, qformat.Unpack(raw[r*rb:(r+1)*rb], cols, bits, false)...)
	}
	return out, nil
}

// ints reads an integer constant as int64 values (packed 4-bit and 2-bit
// types unpacked, low bits first).
func ints(v *graph.Value) ([]int64, error) {
	if t := v.Const(); t != nil {
		return t.Int64s()
	}
	return nil, notDense(v)
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
