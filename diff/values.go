package diff

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// constant is one constant of a model: a dense or sparse initializer, or
// the output of a Constant node.
type constant struct {
	v    *graph.Value
	kind string // initializer, sparse, constant
}

// constants lists the constants of every graph of m, in graph order.
func constants(m *graph.Model) []constant {
	var out []constant
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			out = append(out, constant{v, "initializer"})
		}
		for _, v := range g.SparseInitializers {
			out = append(out, constant{v, "sparse"})
		}
		for _, n := range g.Nodes {
			if n.OpType() == "Constant" && n.Domain() == "" && n.Output(0) != nil && n.Output(0).Const() != nil {
				out = append(out, constant{n.Output(0), "constant"})
			}
		}
	})
	return out
}

// isConstant reports whether v holds a constant (dense, sparse or from a
// Constant node).
func isConstant(v *graph.Value) bool { return v != nil && (v.IsConstant() || v.Const() != nil) }

// dtypeOf returns a constant's element type.
func dtypeOf(v *graph.Value) int32 {
	if v.Sparse != nil {
		return v.Sparse.GetValues().GetDataType()
	}
	if t := v.Const(); t != nil {
		return t.DataType()
	}
	return v.ElemType()
}

// shapeOf returns a constant's shape.
func shapeOf(v *graph.Value) []int64 {
	if v.Sparse != nil {
		return v.Sparse.GetDims()
	}
	if t := v.Const(); t != nil {
		return t.Dims()
	}
	d, _ := v.Shape()
	return d
}

// floats returns the values of a float constant (float32, float16,
// bfloat16 or float64, decoded to float32; sparse ones made dense), or ok
// false for other types.
func floats(v *graph.Value) (vals []float32, ok bool, err error) {
	if v.Sparse != nil {
		if !onnx.IsFloatWeight(v.Sparse.GetValues().GetDataType()) {
			return nil, false, nil
		}
		d, err := densify(v.Sparse)
		if err != nil {
			return nil, false, fmt.Errorf("sparse tensor %q: %w", v.Name, err)
		}
		return d, true, nil
	}
	t := v.Const()
	if t == nil || !t.IsFloat() {
		return nil, false, nil
	}
	f, err := t.Floats()
	if err != nil {
		return nil, false, fmt.Errorf("tensor %q: %w", v.Name, err)
	}
	return f, true, nil
}

// densify expands a float sparse tensor: indices are either [NNZ] linear
// positions or [NNZ, rank] coordinates.
func densify(s *onnx.SparseTensorProto) ([]float32, error) {
	n, err := onnx.NumElements(s.GetDims())
	if err != nil {
		return nil, err
	}
	if n > 1<<31 {
		return nil, fmt.Errorf("shape %v is too large to compare", s.GetDims())
	}
	vals, err := graph.NewTensor(s.GetValues()).Floats()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	idx := s.GetIndices()
	if idx == nil {
		if int64(len(vals)) != n {
			return nil, fmt.Errorf("%d values without indices for shape %v", len(vals), s.GetDims())
		}
		copy(out, vals)
		return out, nil
	}
	pos, err := graph.NewTensor(idx).Int64s()
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	dims := s.GetDims()
	rank := 1
	if len(idx.GetDims()) == 2 {
		rank = int(idx.GetDims()[1])
		if rank != len(dims) {
			return nil, fmt.Errorf("indices of rank %d for a shape of rank %d", rank, len(dims))
		}
	}
	if len(pos) != rank*len(vals) {
		return nil, fmt.Errorf("%d indices for %d values", len(pos), len(vals))
	}
	for i, x := range vals {
		var p int64
		if rank == 1 && len(idx.GetDims()) != 2 {
			p = pos[i]
		} else {
			for k := 0; k < rank; k++ {
				c := pos[i*rank+k]
				if c < 0 || c >= dims[k] {
					return nil, fmt.Errorf("index %d out of range in dimension %d", c, k)
				}
				p = p*dims[k] + c
			}
		}
		if p < 0 || p >= n {
			return nil, fmt.Errorf("index %d out of range for %d elements", p, n)
		}
		out[p] = x
	}
	return out, nil
}

// sameData reports whether two constants hold the same type, shape and
// bytes.
func sameData(a, b *graph.Value) (bool, error) {
	if dtypeOf(a) != dtypeOf(b) || !slices.Equal(shapeOf(a), shapeOf(b)) || (a.Sparse == nil) != (b.Sparse == nil) {
		return false, nil
	}
	if a.Sparse != nil {
		for _, pair := range [][2]*onnx.TensorProto{{a.Sparse.GetValues(), b.Sparse.GetValues()}, {a.Sparse.GetIndices(), b.Sparse.GetIndices()}} {
			if (pair[0] == nil) != (pair[1] == nil) {
				return false, nil
			}
			if pair[0] == nil {
				continue
			}
			ra, err := onnx.RawBytes(pair[0], nil)
			if err != nil {
				return false, err
			}
			rb, err := onnx.RawBytes(pair[1], nil)
			if err != nil {
				return false, err
			}
			if string(ra) != string(rb) {
				return false, nil
			}
		}
		return true, nil
	}
	ta, tb := a.Const(), b.Const()
	if ta.DataType() == int32(onnx.TensorProto_STRING) {
		if len(ta.Proto.StringData) != len(tb.Proto.StringData) {
			return false, nil
		}
		for i := range ta.Proto.StringData {
			if string(ta.Proto.StringData[i]) != string(tb.Proto.StringData[i]) {
				return false, nil
			}
		}
		return true, nil
	}
	ra, err := ta.Raw()
	if err != nil {
		return false, err
	}
	rb, err := tb.Raw()
	if err != nil {
		return false, err
	}
	return string(ra) == string(rb), nil
}

// errorStats measures how far got is from want: the largest absolute
// difference and the relative L2 change ||got-want|| / ||want||.
func errorStats(want, got []float32) (maxAbs, rel float64) {
	var d2, w2 float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		if a := math.Abs(d); a > maxAbs || math.IsNaN(a) {
			maxAbs = a
		}
		d2 += d * d
		w2 += float64(want[i]) * float64(want[i])
	}
	switch {
	case w2 > 0:
		rel = math.Sqrt(d2 / w2)
	case d2 > 0:
		rel = math.Inf(1)
	}
	return maxAbs, rel
}
