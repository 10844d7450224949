package channels

import (
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
)

// shapes holds the statically known shape of each value of a graph: a size
// per axis, -1 where unknown. A value missing from the map has no known
// rank.
type shapes map[*graph.Value][]int64

// inferShapes computes shapes for g's values from its inputs, constants
// and value_info, propagated through the ops the analysis understands.
func inferShapes(g *graph.Graph, order []*graph.Node) shapes {
	s := shapes{}
	for _, v := range g.Inputs {
		if d, ok := v.Shape(); ok {
			s[v] = d
		}
	}
	for _, v := range g.Initializers {
		s[v] = v.Tensor.Dims()
	}
	for _, n := range order {
		for _, o := range n.Outputs() {
			if o == nil {
				continue
			}
			if d, ok := o.Shape(); ok {
				s[o] = d
			}
		}
		out := n.Output(0)
		if out == nil {
			continue
		}
		if d := inferNode(n, s); d != nil {
			if old, ok := s[out]; ok && len(old) == len(d) {
				// Keep what value_info knows where inference does not.
				for i := range d {
					if d[i] < 0 {
						d[i] = old[i]
					}
				}
			}
			s[out] = d
		}
	}
	return s
}

func (s shapes) get(v *graph.Value) []int64 {
	if v == nil {
		return nil
	}
	if d, ok := s[v]; ok {
		return d
	}
	if c := v.Const(); c != nil {
		return c.Dims()
	}
	return nil
}

func (s shapes) rank(v *graph.Value) int {
	d := s.get(v)
	if d == nil {
		if _, ok := s[v]; !ok && v.Const() == nil {
			return -1
		}
	}
	return len(d)
}

func inferNode(n *graph.Node, s shapes) []int64 {
	in := func(i int) []int64 { return s.get(n.Input(i)) }
	known := func(i int) bool {
		v := n.Input(i)
		if v == nil {
			return false
		}
		_, ok := s[v]
		return ok || v.Const() != nil
	}
	op := n.OpType()
	if n.Domain() != "" {
		return nil
	}
	switch {
	case op == "Constant":
		if c := n.Output(0).Const(); c != nil {
			return clone(c.Dims())
		}
	case unaryOps[op] || op == "BatchNormalization" || op == "Softmax" || op == "LogSoftmax" || op == "LayerNormalization":
		if known(0) {
			return clone(in(0))
		}
	case binaryOps[op]:
		if known(0) && known(1) {
			// Sizes that cannot broadcast leave the shape unknown.
			d, _ := nd.Broadcast(in(0), in(1))
			return d
		}
	case op == "MatMul":
		if known(0) && known(1) && len(in(0)) >= 1 && len(in(1)) == 2 {
			d := clone(in(0))
			d[len(d)-1] = in(1)[1]
			return d
		}
	case op == "Gemm":
		if known(0) && known(1) && len(in(0)) == 2 && len(in(1)) == 2 {
			a, b := in(0), in(1)
			m := a[0]
			if n.AttrInt("transA", 0) != 0 {
				m = a[1]
			}
			k := b[1]
			if n.AttrInt("transB", 0) != 0 {
				k = b[0]
			}
			return []int64{m, k}
		}
	case op == "Conv" || op == "MaxPool" || op == "AveragePool":
		return inferConvPool(n, s)
	case op == "GlobalAveragePool" || op == "GlobalMaxPool":
		if known(0) && len(in(0)) >= 2 {
			d := clone(in(0))
			for i := 2; i < len(d); i++ {
				d[i] = 1
			}
			return d
		}
	case op == "Flatten":
		if known(0) {
			x := in(0)
			ax := int(n.AttrInt("axis", 1))
			if ax < 0 {
				ax += len(x)
			}
			if ax < 0 || ax > len(x) {
				return nil
			}
			return []int64{prod(x[:ax]), prod(x[ax:])}
		}
	case op == "Reshape":
		if known(0) {
			return reshapeTarget(n, in(0))
		}
	case op == "Transpose":
		if known(0) {
			x := in(0)
			perm, err := nd.Perm(n.AttrInts("perm"), len(x))
			if err != nil {
				return nil
			}
			d := make([]int64, len(x))
			for i, p := range perm {
				d[i] = x[p]
			}
			return d
		}
	case op == "Concat":
		ax := int(n.AttrInt("axis", 0))
		var d []int64
		for i := range n.Inputs() {
			if !known(i) {
				return nil
			}
			x := in(i)
			a := ax
			if a < 0 {
				a += len(x)
			}
			if a < 0 || a >= len(x) {
				return nil
			}
			if d == nil {
				d = clone(x)
				continue
			}
			if len(x) != len(d) {
				return nil
			}
			if d[a] < 0 || x[a] < 0 {
				d[a] = -1
			} else {
				d[a] += x[a]
			}
		}
		return d
	}
	return nil
}

func inferConvPool(n *graph.Node, s shapes) []int64 {
	x := s.get(n.Input(0))
	if x == nil || len(x) < 3 {
		return nil
	}
	sp := len(x) - 2
	d := make([]int64, len(x))
	d[0], d[1] = x[0], x[1]
	kernel := n.AttrInts("kernel_shape")
	if n.OpType() == "Conv" {
		w := s.get(n.Input(1))
		if len(w) != len(x) {
			return nil
		}
		d[1] = w[0]
		if kernel == nil {
			kernel = w[2:]
		}
	}
	if len(kernel) != sp || n.AttrString("auto_pad", "NOTSET") != "NOTSET" {
		for i := 2; i < len(d); i++ {
			d[i] = -1
		}
		return d
	}
	pads := n.AttrInts("pads")
	strides := n.AttrInts("strides")
	dil := n.AttrInts("dilations")
	ceil := n.AttrInt("ceil_mode", 0) != 0
	for i := 0; i < sp; i++ {
		if x[i+2] < 0 {
			d[i+2] = -1
			continue
		}
		p := int64(0)
		if len(pads) == 2*sp {
			p = pads[i] + pads[i+sp]
		}
		st, dl := int64(1), int64(1)
		if len(strides) == sp {
			st = strides[i]
		}
		if len(dil) == sp {
			dl = dil[i]
		}
		if st <= 0 {
			return nil
		}
		span := x[i+2] + p - dl*(kernel[i]-1) - 1
		if ceil {
			d[i+2] = (span+st-1)/st + 1
		} else {
			d[i+2] = span/st + 1
		}
	}
	return d
}

// reshapeTarget returns the output shape of a Reshape whose shape input is
// a constant, or nil.
func reshapeTarget(n *graph.Node, x []int64) []int64 {
	c := n.Input(1).Const()
	if c == nil {
		return nil
	}
	shape, err := c.Int64s()
	if err != nil {
		return nil
	}
	d := make([]int64, len(shape))
	infer := -1
	for i, v := range shape {
		switch {
		case v == 0 && n.AttrInt("allowzero", 0) == 0:
			if i >= len(x) {
				return nil
			}
			d[i] = x[i]
		case v == -1:
			if infer >= 0 {
				return nil
			}
			infer = i
		default:
			d[i] = v
		}
	}
	if infer >= 0 {
		total, rest := prod(x), prod(d[:infer])*prod(d[infer+1:])
		switch {
		case total < 0 || rest <= 0:
			d[infer] = -1
			// The batch dimension is the common unknown: if it is the only
			// unknown of x and is copied to d[0], the rest is exact.
			if infer != 0 && len(x) > 0 && x[0] < 0 && prod(x[1:]) > 0 && d[0] == x[0] && prod(d[1:infer])*prod(d[infer+1:]) > 0 {
				d[infer] = prod(x[1:]) / (prod(d[1:infer]) * prod(d[infer+1:]))
			}
		case total%rest != 0:
			return nil
		default:
			d[infer] = total / rest
		}
	}
	return d
}

// prod multiplies sizes; it returns -1 when one is unknown.
func prod(d []int64) int64 {
	p := int64(1)
	for _, x := range d {
		if x < 0 {
			return -1
		}
		p *= x
	}
	return p
}

func clone(d []int64) []int64 { return append([]int64{}, d...) }
