package channels

import (
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
)

// transpose ties the channel axis to where perm moves it.
func transpose(a *analyzer, d int, n *graph.Node, _ int, out bool) {
	k := a.dims[d]
	perm, err := nd.Perm(n.AttrInts("perm"), a.shapes.rank(n.Input(0)))
	if err != nil {
		a.block(d, "%s: %v", n, err)
		return
	}
	for j, p := range perm {
		if out && j == k.axis {
			a.tie(d, n.Input(0), int(p))
			return
		}
		if !out && int(p) == k.axis {
			a.tie(d, n.Output(0), j)
			return
		}
	}
	a.block(d, "%s: bad perm", n)
}

// concat: off the concatenation axis every input and the output hold the
// same channels; on it, each input's channels sit at an offset of the
// output.
func concat(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	y := n.Output(0)
	r := a.shapes.rank(y)
	ax := int(n.AttrInt("axis", 0))
	if ax < 0 {
		ax += r
	}
	if k.axis != ax {
		for _, x := range n.Inputs() {
			a.tie(d, x, k.axis)
		}
		a.tie(d, y, k.axis)
		return
	}
	var off int64
	for i, x := range n.Inputs() {
		s := a.size(x, ax)
		if s < 0 {
			a.block(d, "%s: size of input %s along the axis is unknown", n, x.Name)
			return
		}
		if out || i == port {
			a.derive(a.get(x, ax), y, ax, off, 1)
		}
		off += s
	}
}

// flatten follows channels into the flattened axis, each channel becoming
// a block of what followed it.
func flatten(a *analyzer, d int, n *graph.Node, _ int, out bool) {
	k := a.dims[d]
	x := a.shapes.get(n.Input(0))
	f := int(n.AttrInt("axis", 1))
	if f < 0 {
		f += len(x)
	}
	if f < 0 || f > len(x) || k.axis >= len(x) && !out {
		a.block(d, "%s: axis %d out of range for rank %d", n, f, len(x))
		return
	}
	if out {
		if k.axis == 0 && f == 1 {
			a.tie(d, n.Input(0), 0)
			return
		}
		// Reached from below: only a one-to-one mapping is followed.
		want := a.size(k.v, k.axis)
		for ax := f; ax < len(x) && k.axis == 1; ax++ {
			if x[ax] == want && prod(x[f:]) == want {
				a.tie(d, n.Input(0), ax)
				return
			}
		}
		if len(a.segs[d]) == 0 {
			a.block(d, "%s: cannot follow Flatten backwards", n)
		}
		return
	}
	if k.axis < f {
		if k.axis == 0 && f == 1 {
			a.tie(d, n.Output(0), 0)
			return
		}
		a.block(d, "%s: channels merge with other leading dimensions", n)
		return
	}
	if prod(x[f:k.axis]) != 1 || prod(x[k.axis+1:]) < 1 {
		a.block(d, "%s: channels are not the outer dimension of what is flattened", n)
		return
	}
	block := prod(x[k.axis+1:])
	if block == 1 {
		a.tie(d, n.Output(0), 1)
		return
	}
	a.derive(d, n.Output(0), 1, 0, block)
}

// reshape follows a Reshape with a constant shape that keeps the channels
// as the outer part of one output dimension.
func reshape(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	if port != 0 {
		a.block(d, "%s: channels reach the shape input", n)
		return
	}
	c := n.Input(1).Const()
	if c == nil {
		a.block(d, "%s: the target shape is computed at run time", n)
		return
	}
	shape, err := c.Int64s()
	if err != nil {
		a.block(d, "%s: %v", n, err)
		return
	}
	x := a.shapes.get(n.Input(0))
	y := a.shapes.get(n.Output(0))
	if x == nil || y == nil {
		a.block(d, "%s: shapes unknown", n)
		return
	}
	if out {
		if len(a.segs[d]) == 0 {
			// Reached from below: follow one-to-one mappings only.
			if k.axis < len(x) && x[k.axis] == y[k.axis] && prod(x[k.axis:]) == prod(y[k.axis:]) && prod(x[k.axis:]) > 0 && equalPrefix(x, y, k.axis) {
				a.tie(d, n.Input(0), k.axis)
				return
			}
			a.block(d, "%s: cannot follow Reshape backwards", n)
		}
		return
	}
	// Find the output axis whose outer part is the channel axis: the
	// dimensions before it match exactly, and the channel dimension times
	// what follows it in the input fills it.
	ax := k.axis
	if !equalPrefix(x, y, ax) || ax >= len(y) {
		a.block(d, "%s: the dimensions before the channels change", n)
		return
	}
	inner := prod(x[ax+1:])
	after := prod(y[ax+1:])
	if inner < 1 || after < 1 || inner%after != 0 || y[ax] != x[ax]*(inner/after) {
		a.block(d, "%s: the channels are not the outer part of one output dimension", n)
		return
	}
	block := inner / after
	if shape[ax] > 0 {
		a.rs[d] = append(a.rs[d], reshapeEntry{Node: n, Index: ax, Slice: Slice{Axis: ax, Block: block}})
	} else if shape[ax] == 0 && block != 1 {
		a.block(d, "%s: shape entry 0 copies a size that changes", n)
		return
	}
	if block == 1 {
		a.tie(d, n.Output(0), ax)
		return
	}
	a.derive(d, n.Output(0), ax, 0, block)
}

// equalPrefix reports whether x and y agree on their first k dimensions
// (unknown sizes agree with each other only at axis 0, the batch).
func equalPrefix(x, y []int64, k int) bool {
	if k > len(x) || k > len(y) {
		return false
	}
	for i := 0; i < k; i++ {
		if x[i] != y[i] || x[i] < 0 && i > 0 {
			return false
		}
	}
	return true
}
