package foldconstants

import (
	"encoding/binary"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
	"github.com/onnxopt/onnxopt/onnx"
)

// opFunc evaluates one node on constant inputs (nil for omitted optional
// ones) and returns its outputs.
type opFunc func(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error)

// ops are the operators the pass folds (default domain).
var ops = map[string]opFunc{
	"Identity":        opIdentity,
	"Cast":            opCast,
	"Reshape":         opReshape,
	"Transpose":       opTranspose,
	"Squeeze":         opSqueeze,
	"Unsqueeze":       opUnsqueeze,
	"Concat":          opConcat,
	"Gather":          opGather,
	"Add":             opArith('+'),
	"Sub":             opArith('-'),
	"Mul":             opArith('*'),
	"Div":             opArith('/'),
	"Slice":           opSlice,
	"ConstantOfShape": opConstantOfShape,
	"Range":           opRange,
}

func need(in []*tensor, k int) (*tensor, error) {
	if k >= len(in) || in[k] == nil {
		return nil, skipf("input %d is missing", k)
	}
	return in[k], nil
}

func opIdentity(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	return []*tensor{x}, nil
}

func opCast(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	to := int32(n.AttrInt("to", 0))
	if to == x.dt {
		return []*tensor{x}, nil
	}
	out, err := e.alloc(to, x.dims)
	if err != nil {
		return nil, err
	}
	for k := int64(0); k < x.len(); k++ {
		v, ok := x.numberAt(k)
		if !ok {
			return nil, skipf("cast from %s is not handled", onnx.DataTypeName(x.dt))
		}
		if err := castOne(out, k, v); err != nil {
			return nil, err
		}
	}
	return []*tensor{out}, nil
}

// castOne stores v into element k of out when the conversion is exact (or,
// float to integer, a truncation within range).
func castOne(out *tensor, k int64, v number) error {
	dt := out.dt
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_DOUBLE:
		var f float64
		switch v.kind {
		case 'f':
			f = v.f
		case 'i':
			f = float64(v.i)
			if int64(f) != v.i || f == math.Exp2(63) {
				return skipf("%d has no exact float value", v.i)
			}
		case 'u':
			f = float64(v.u)
			if f >= math.Exp2(64) || uint64(f) != v.u {
				return skipf("%d has no exact float value", v.u)
			}
		}
		if dt == int32(onnx.TensorProto_FLOAT) {
			f32 := float32(f)
			if v.kind != 'f' && float64(f32) != f {
				return skipf("%v has no exact float32 value", f)
			}
			binary.LittleEndian.PutUint32(out.raw[4*k:], math.Float32bits(f32))
		} else {
			binary.LittleEndian.PutUint64(out.raw[8*k:], math.Float64bits(f))
		}
		return nil
	case onnx.TensorProto_BOOL:
		nz := v.i != 0 || v.u != 0 || v.f != 0 || v.isNaN
		if nz {
			out.raw[k] = 1
		}
		return nil
	}
	lo, hi, ok := intRange(dt)
	if !ok {
		return skipf("cast to %s is not handled", onnx.DataTypeName(dt))
	}
	switch v.kind {
	case 'f':
		if v.isNaN || math.IsInf(v.f, 0) {
			return skipf("cannot cast %v to %s exactly", v.f, onnx.DataTypeName(dt))
		}
		t := math.Trunc(v.f)
		if t < float64(lo) || t > float64(hi) || t >= math.Exp2(63) && lo < 0 || t >= math.Exp2(64) {
			return skipf("%v is out of range of %s", v.f, onnx.DataTypeName(dt))
		}
		if t < 0 {
			putInt(out.raw, dt, k, uint64(int64(t)))
		} else {
			putInt(out.raw, dt, k, uint64(t))
		}
	case 'i':
		if v.i < lo || (v.i > 0 && uint64(v.i) > hi) {
			return skipf("%d is out of range of %s", v.i, onnx.DataTypeName(dt))
		}
		putInt(out.raw, dt, k, uint64(v.i))
	case 'u':
		if v.u > hi {
			return skipf("%d is out of range of %s", v.u, onnx.DataTypeName(dt))
		}
		putInt(out.raw, dt, k, v.u)
	}
	return nil
}

// broadcastSteps returns an operand's steps over the output dims (0 along
// broadcast dimensions).
func broadcastSteps(dims, out []int64) []int64 {
	st := strides(dims)
	steps := make([]int64, len(out))
	off := len(out) - len(dims)
	for i := range dims {
		if dims[i] != 1 {
			steps[off+i] = st[i]
		}
	}
	return steps
}

func opArith(op byte) opFunc {
	return func(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
		a, err := need(in, 0)
		if err != nil {
			return nil, err
		}
		b, err := need(in, 1)
		if err != nil {
			return nil, err
		}
		if a.dt != b.dt {
			return nil, skipf("inputs are %s and %s", onnx.DataTypeName(a.dt), onnx.DataTypeName(b.dt))
		}
		dims, err := nd.Broadcast(a.dims, b.dims)
		if err != nil {
			return nil, skipf("%v", err)
		}
		out, err := e.alloc(a.dt, dims)
		if err != nil {
			return nil, err
		}
		steps := [][]int64{broadcastSteps(a.dims, dims), broadcastSteps(b.dims, dims)}
		k := int64(0)
		switch onnx.TensorProto_DataType(a.dt) {
		case onnx.TensorProto_FLOAT:
			walk(dims, []int64{0, 0}, steps, func(o []int64) {
				x := math.Float32frombits(binary.LittleEndian.Uint32(a.raw[4*o[0]:]))
				y := math.Float32frombits(binary.LittleEndian.Uint32(b.raw[4*o[1]:]))
				binary.LittleEndian.PutUint32(out.raw[4*k:], math.Float32bits(arith(op, x, y)))
				k++
			})
		case onnx.TensorProto_DOUBLE:
			walk(dims, []int64{0, 0}, steps, func(o []int64) {
				x := math.Float64frombits(binary.LittleEndian.Uint64(a.raw[8*o[0]:]))
				y := math.Float64frombits(binary.LittleEndian.Uint64(b.raw[8*o[1]:]))
				binary.LittleEndian.PutUint64(out.raw[8*k:], math.Float64bits(arith(op, x, y)))
				k++
			})
		case onnx.TensorProto_INT64, onnx.TensorProto_INT32:
			var divZero bool
			wide := a.dt == int32(onnx.TensorProto_INT64)
			walk(dims, []int64{0, 0}, steps, func(o []int64) {
				x, _ := a.intAt(o[0])
				y, _ := b.intAt(o[1])
				var z int64
				if op == '/' && y == 0 {
					divZero = true
				} else {
					z = arith(op, x, y)
				}
				if wide {
					binary.LittleEndian.PutUint64(out.raw[8*k:], uint64(z))
				} else {
					binary.LittleEndian.PutUint32(out.raw[4*k:], uint32(int32(z)))
				}
				k++
			})
			if divZero {
				return nil, skipf("integer division by zero")
			}
		default:
			return nil, skipf("arithmetic on %s is not handled", onnx.DataTypeName(a.dt))
		}
		return []*tensor{out}, nil
	}
}

// arith applies a binary arithmetic op. Integers compute in int64 (int32
// results wrap when stored, as in ONNX Runtime's two's complement kernels)
// and divide truncating toward zero, as C++ does.
func arith[T int64 | float32 | float64](op byte, x, y T) T {
	switch op {
	case '+':
		return x + y
	case '-':
		return x - y
	case '*':
		return x * y
	}
	return x / y
}

func opConstantOfShape(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	s, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	dims, err := s.ints()
	if err != nil {
		return nil, err
	}
	dt := int32(onnx.TensorProto_FLOAT)
	fill := []byte{0, 0, 0, 0}
	if a := n.Attr("value"); a != nil && a.GetT() != nil {
		v := graph.NewTensor(a.GetT())
		raw, err := v.Raw()
		if err != nil {
			return nil, skipf("value: %v", err)
		}
		if n, _ := v.Elements(); n != 1 || width(v.DataType()) == 0 {
			return nil, skipf("value must be one number")
		}
		dt, fill = v.DataType(), raw
	}
	out, err := e.alloc(dt, dims)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(out.raw); i += len(fill) {
		copy(out.raw[i:], fill)
	}
	return []*tensor{out}, nil
}

func opRange(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	var v [3]int64
	for k := range v {
		t, err := need(in, k)
		if err != nil {
			return nil, err
		}
		if _, _, isInt := intRange(t.dt); !isInt || t.dt != in[0].dt {
			return nil, skipf("Range is folded for integers only, got %s", onnx.DataTypeName(t.dt))
		}
		if v[k], err = t.scalarInt(); err != nil {
			return nil, err
		}
	}
	start, limit, delta := v[0], v[1], v[2]
	if delta == 0 {
		return nil, skipf("delta is 0")
	}
	cnt := int64(0)
	if delta > 0 && limit > start {
		cnt = (limit - start + delta - 1) / delta
	} else if delta < 0 && start > limit {
		cnt = (start - limit - delta - 1) / -delta
	}
	out, err := e.alloc(in[0].dt, []int64{cnt})
	if err != nil {
		return nil, err
	}
	for i := int64(0); i < cnt; i++ {
		putInt(out.raw, out.dt, i, uint64(start+i*delta))
	}
	return []*tensor{out}, nil
}

// shapeOf folds Shape when the input's shape is fully known.
func shapeOf(n *graph.Node) (*tensor, error) {
	x := n.Input(0)
	if x == nil {
		return nil, skipf("input 0 is missing")
	}
	dims, ok := x.Shape()
	if !ok {
		return nil, skipf("shape of %q is unknown", x.Name)
	}
	for _, d := range dims {
		if d < 0 {
			return nil, skipf("shape of %q is not static", x.Name)
		}
	}
	r := int64(len(dims))
	start, end := n.AttrInt("start", 0), n.AttrInt("end", r)
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = clamp(start, 0, r), clamp(end, 0, r)
	if end < start {
		end = start
	}
	sel := append([]int64{}, dims[start:end]...)
	return int64Tensor([]int64{int64(len(sel))}, sel), nil
}
