package foldconstants

// The ops that move or select elements without arithmetic: Reshape,
// Transpose, Squeeze, Unsqueeze, Concat, Gather and Slice.

import (
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
	"github.com/onnxopt/onnxopt/onnx"
)

func opReshape(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	var shape []int64
	if e.opset < 5 {
		shape = n.AttrInts("shape")
	} else {
		s, err := need(in, 1)
		if err != nil {
			return nil, err
		}
		if shape, err = s.ints(); err != nil {
			return nil, err
		}
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	dims := make([]int64, len(shape))
	infer := -1
	known := int64(1)
	for i, d := range shape {
		switch {
		case d == 0 && !allowZero:
			if i >= len(x.dims) {
				return nil, skipf("shape %v copies dimension %d of a rank-%d input", shape, i, len(x.dims))
			}
			dims[i] = x.dims[i]
		case d == -1:
			if infer >= 0 {
				return nil, skipf("shape %v has two -1", shape)
			}
			infer = i
			continue
		case d < 0:
			return nil, skipf("shape %v has a negative dimension", shape)
		default:
			dims[i] = d
		}
		known *= dims[i]
	}
	total := x.len()
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, skipf("cannot infer -1 in shape %v for %d elements", shape, total)
		}
		dims[infer] = total / known
	}
	if c, err := onnx.NumElements(dims); err != nil || c != total {
		return nil, skipf("shape %v does not hold %d elements", shape, total)
	}
	return []*tensor{{dt: x.dt, dims: dims, raw: x.raw}}, nil
}

func opTranspose(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	r := len(x.dims)
	perm, err := nd.Perm(n.AttrInts("perm"), r)
	if err != nil {
		return nil, skipf("%v", err)
	}
	dims := make([]int64, r)
	st := strides(x.dims)
	step := make([]int64, r)
	for i, p := range perm {
		dims[i] = x.dims[p]
		step[i] = st[p]
	}
	out, err := e.alloc(x.dt, dims)
	if err != nil {
		return nil, err
	}
	w := int64(width(x.dt))
	k := int64(0)
	walk(dims, []int64{0}, [][]int64{step}, func(offs []int64) {
		copy(out.raw[k*w:(k+1)*w], x.raw[offs[0]*w:])
		k++
	})
	return []*tensor{out}, nil
}

// axesOf returns the axes of Squeeze/Unsqueeze: the attribute before opset
// 13, the optional second input from 13 on.
func axesOf(e *evaluator, n *graph.Node, in []*tensor) ([]int64, bool, error) {
	if e.opset < 13 {
		a := n.Attr("axes")
		return n.AttrInts("axes"), a != nil, nil
	}
	if len(in) < 2 || in[1] == nil {
		return nil, false, nil
	}
	v, err := in[1].ints()
	return v, true, err
}

func opSqueeze(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	axes, given, err := axesOf(e, n, in)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(x.dims))
	if !given {
		for i, d := range x.dims {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		a, err := normAxis(a, len(x.dims))
		if err != nil {
			return nil, err
		}
		if x.dims[a] != 1 {
			return nil, skipf("cannot squeeze axis %d of shape %v", a, x.dims)
		}
		drop[a] = true
	}
	dims := []int64{}
	for i, d := range x.dims {
		if !drop[i] {
			dims = append(dims, d)
		}
	}
	return []*tensor{{dt: x.dt, dims: dims, raw: x.raw}}, nil
}

func opUnsqueeze(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	axes, given, err := axesOf(e, n, in)
	if err != nil {
		return nil, err
	}
	if !given {
		return nil, skipf("Unsqueeze has no axes")
	}
	r := len(x.dims) + len(axes)
	norm, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	ins := make([]bool, r)
	for _, a := range norm {
		ins[a] = true
	}
	dims := make([]int64, 0, r)
	k := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			dims = append(dims, 1)
		} else {
			dims = append(dims, x.dims[k])
			k++
		}
	}
	return []*tensor{{dt: x.dt, dims: dims, raw: x.raw}}, nil
}

func opConcat(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	if len(in) == 0 {
		return nil, skipf("no inputs")
	}
	first, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	r := len(first.dims)
	axis, err := normAxis(n.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	dims := append([]int64{}, first.dims...)
	dims[axis] = 0
	for k, t := range in {
		if t == nil || t.dt != first.dt || len(t.dims) != r {
			return nil, skipf("input %d does not match input 0", k)
		}
		for d := range t.dims {
			if d != int(axis) && t.dims[d] != first.dims[d] {
				return nil, skipf("input %d has shape %v, input 0 %v", k, t.dims, first.dims)
			}
		}
		dims[axis] += t.dims[axis]
	}
	out, err := e.alloc(first.dt, dims)
	if err != nil {
		return nil, err
	}
	outer := int64(1)
	for _, d := range dims[:axis] {
		outer *= d
	}
	w := int64(width(first.dt))
	pos := int64(0)
	for o := int64(0); o < outer; o++ {
		for _, t := range in {
			chunk := t.len() / max(outer, 1) * w
			if outer == 0 {
				chunk = 0
			}
			copy(out.raw[pos:pos+chunk], t.raw[o*chunk:(o+1)*chunk])
			pos += chunk
		}
	}
	return []*tensor{out}, nil
}

func opGather(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	ix, err := need(in, 1)
	if err != nil {
		return nil, err
	}
	if ix.dt != int32(onnx.TensorProto_INT64) && ix.dt != int32(onnx.TensorProto_INT32) {
		return nil, skipf("indices are %s", onnx.DataTypeName(ix.dt))
	}
	if len(x.dims) == 0 {
		return nil, skipf("Gather on a scalar")
	}
	axis, err := normAxis(n.AttrInt("axis", 0), len(x.dims))
	if err != nil {
		return nil, err
	}
	idx, err := ix.ints()
	if err != nil {
		return nil, err
	}
	dim := x.dims[axis]
	for i, v := range idx {
		if v < -dim || v >= dim {
			return nil, skipf("index %d out of range [%d, %d)", v, -dim, dim)
		}
		if v < 0 {
			idx[i] = v + dim
		}
	}
	dims := append(append(append([]int64{}, x.dims[:axis]...), ix.dims...), x.dims[axis+1:]...)
	out, err := e.alloc(x.dt, dims)
	if err != nil {
		return nil, err
	}
	outer := int64(1)
	for _, d := range x.dims[:axis] {
		outer *= d
	}
	inner := int64(width(x.dt))
	for _, d := range x.dims[axis+1:] {
		inner *= d
	}
	pos := int64(0)
	for o := int64(0); o < outer; o++ {
		for _, v := range idx {
			src := (o*dim + v) * inner
			copy(out.raw[pos:pos+inner], x.raw[src:src+inner])
			pos += inner
		}
	}
	return []*tensor{out}, nil
}

func opSlice(e *evaluator, n *graph.Node, in []*tensor) ([]*tensor, error) {
	x, err := need(in, 0)
	if err != nil {
		return nil, err
	}
	var starts, ends, axes, steps []int64
	if e.opset < 10 {
		starts, ends, axes = n.AttrInts("starts"), n.AttrInts("ends"), n.AttrInts("axes")
	} else {
		lists := make([][]int64, 4)
		for k := 0; k < 4; k++ {
			if k+1 < len(in) && in[k+1] != nil {
				if lists[k], err = in[k+1].ints(); err != nil {
					return nil, err
				}
			}
		}
		starts, ends, axes, steps = lists[0], lists[1], lists[2], lists[3]
		if starts == nil || ends == nil {
			return nil, skipf("starts or ends missing")
		}
	}
	r := len(x.dims)
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, skipf("starts, ends, axes and steps differ in length")
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	begin := make([]int64, r)
	step := make([]int64, r)
	dims := append([]int64{}, x.dims...)
	for i := range step {
		step[i] = 1
	}
	norm, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	for i, a := range norm {
		s := int64(1)
		if steps != nil {
			s = steps[i]
		}
		if s == 0 {
			return nil, skipf("step 0")
		}
		d := x.dims[a]
		st, en := starts[i], ends[i]
		if st < 0 {
			st += d
		}
		if en < 0 {
			en += d
		}
		if s > 0 {
			st = clamp(st, 0, d)
			en = clamp(en, 0, d)
		} else {
			st = clamp(st, 0, d-1)
			en = clamp(en, -1, d-1)
		}
		cnt := int64(0)
		if s > 0 && en > st {
			cnt = (en - st + s - 1) / s
		} else if s < 0 && st > en {
			cnt = (st - en + (-s) - 1) / (-s)
		}
		begin[a], step[a], dims[a] = st, s, cnt
	}
	out, err := e.alloc(x.dt, dims)
	if err != nil {
		return nil, err
	}
	st := strides(x.dims)
	base := int64(0)
	ws := make([]int64, r)
	for i := range st {
		base += begin[i] * st[i]
		ws[i] = step[i] * st[i]
	}
	w := int64(width(x.dt))
	k := int64(0)
	walk(dims, []int64{base}, [][]int64{ws}, func(o []int64) {
		copy(out.raw[k*w:(k+1)*w], x.raw[o[0]*w:])
		k++
	})
	return []*tensor{out}, nil
}

func clamp(v, lo, hi int64) int64 {
	return min(max(v, lo), hi)
}
