package channels

import (
	"github.com/onnxopt/onnxopt/graph"
)

// ruleFunc relates dimension d, met at input port of n (or at n's output
// 0, when out is set), to n's other dimensions and constants: it ties the
// dimensions that hold the same channels, records the constants that
// shrink with them, or blocks d with the reason.
type ruleFunc func(a *analyzer, d int, n *graph.Node, port int, out bool)

// rules are the operators (default domain) the analysis follows channels
// through, one rule each; every other operator leaves the group alone.
// The elementwise ops of unaryOps and binaryOps, and the layers with a
// constant weight of layerOps (layers.go), are added by init.
var rules = map[string]ruleFunc{
	"Dropout":            dropout,
	"BatchNormalization": batchNorm,
	"MaxPool":            pool,
	"AveragePool":        pool,
	"LpPool":             pool,
	"GlobalAveragePool":  pool,
	"GlobalMaxPool":      pool,
	// Ops that move elements around (layout.go).
	"Transpose": transpose,
	"Concat":    concat,
	"Flatten":   flatten,
	"Reshape":   reshape,
}

// unaryOps map each element to one element of the same place.
var unaryOps = map[string]bool{
	"Relu": true, "Clip": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"Tanh": true, "LeakyRelu": true, "Elu": true, "Selu": true, "Softplus": true, "Softsign": true,
	"Identity": true, "Dropout": true, "Neg": true, "Abs": true, "Exp": true, "Sqrt": true,
	"Erf": true, "Gelu": true, "Mish": true, "Reciprocal": true, "Floor": true, "Ceil": true,
	"ThresholdedRelu": true, "Celu": true, "Cast": true,
}

// binaryOps are broadcasting elementwise ops.
var binaryOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true}

func init() {
	for op := range unaryOps {
		if rules[op] == nil {
			rules[op] = elementwise
		}
	}
	for op := range binaryOps {
		rules[op] = arith
	}
	for _, op := range layerOps {
		rules[op] = layer
	}
}

// rule applies n's rule to dimension d, found at input port of n (or at
// its output, when out is set).
func (a *analyzer) rule(d int, n *graph.Node, port int, out bool) {
	op := n.OpType()
	if n.Domain() != "" {
		a.block(d, "%s: operator of domain %s is not understood", n, n.Domain())
		return
	}
	for i, o := range n.Outputs() {
		if i > 0 && o != nil && (len(o.Uses()) > 0 || o.IsOutput()) && op != "Dropout" {
			a.block(d, "%s: its extra output %s is used", n, o.Name)
			return
		}
	}
	follow := rules[op]
	if follow == nil {
		a.block(d, "%s: cannot prove how channels map through %s", n, op)
		return
	}
	follow(a, d, n, port, out)
}

// elementwise ties input 0 and output 0 along the same axis.
func elementwise(a *analyzer, d int, n *graph.Node, port int, out bool) {
	axis := a.dims[d].axis
	switch {
	case out:
		a.tie(d, n.Input(0), axis)
	case port == 0:
		a.tie(d, n.Output(0), axis)
	default:
		a.block(d, "%s: channels reach a parameter input", n)
	}
}

// dropout is elementwise while its mask is unused.
func dropout(a *analyzer, d int, n *graph.Node, port int, out bool) {
	if n.Output(1) != nil && len(n.Output(1).Uses()) > 0 {
		a.block(d, "%s: its mask is used", n)
		return
	}
	elementwise(a, d, n, port, out)
}

// batchNorm ties input and output; on the channel axis its four vectors
// shrink with them.
func batchNorm(a *analyzer, d int, n *graph.Node, port int, out bool) {
	if port != 0 {
		a.block(d, "%s: channels reach a parameter input", n)
		return
	}
	elementwise(a, d, n, port, out)
	if a.dims[d].axis == 1 {
		for i := 1; i <= 4; i++ {
			if !a.param(d, n, n.Input(i), 0) {
				return
			}
		}
	}
}

// pool keeps the batch and channel axes; spatial ones change size.
func pool(a *analyzer, d int, n *graph.Node, port int, out bool) {
	if axis := a.dims[d].axis; axis > 1 || port != 0 {
		a.block(d, "%s: spatial dimension %d changes", n, axis)
		return
	}
	elementwise(a, d, n, port, out)
}

// arith follows broadcasting arithmetic: operands that hold the channels
// tie with the output, per-channel constants become parameters.
func arith(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	y := n.Output(0)
	r := a.shapes.rank(y)
	if r < 0 {
		a.block(d, "%s: output shape unknown", n)
		return
	}
	outAxis := k.axis
	if !out {
		outAxis = k.axis + r - a.shapes.rank(n.Input(port))
		a.tie(d, y, outAxis)
	}
	size := a.size(k.v, k.axis)
	for i, x := range n.Inputs() {
		if x == nil || (!out && i == port) {
			continue
		}
		ax := outAxis - (r - a.shapes.rank(x))
		if ax < 0 {
			continue // broadcast across the whole channel dimension
		}
		s := a.size(x, ax)
		switch {
		case s == 1:
			continue
		case s != size:
			a.block(d, "%s: operand %s has size %d where the channels are %d", n, x.Name, s, size)
			return
		case x.Const() != nil:
			if !a.param(d, n, x, ax) {
				return
			}
		default:
			a.tie(d, x, ax)
		}
	}
}
