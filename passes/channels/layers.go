package channels

// The layers whose channels are followed take which weight axis produces
// and which reads the channels from the shared layout table
// (passes.LayoutOf); what is left here is what the analysis supports of
// each: 2-D MatMul weights, Gemm without transA, and Conv with group 1 or
// depthwise with multiplier 1.

import (
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

// layerOps are the ops with a weight (passes.LayoutOf) that channels are
// followed through; their rule is layer.
var layerOps = []string{"MatMul", "Gemm", "Conv"}

// seed starts a group at the output channels of a layer with a constant
// weight.
func seed(a *analyzer, n *graph.Node) {
	if !isLayer(n) {
		return
	}
	l, _ := passes.LayoutOf(n)
	w := n.Input(l.Weight).Const()
	if w == nil {
		return
	}
	ax, err := l.Axes(n, w.Dims())
	if err != nil || ax.OutputChannel == passes.NoAxis || ax.Groups != 1 {
		return // the layer's rule says why when the group reaches it
	}
	out := n.Output(0)
	if c := norm(ax.OutputChannel, a.shapes.rank(out)); c >= 0 {
		a.get(out, c)
	}
}

// isLayer reports whether n is one of layerOps.
func isLayer(n *graph.Node) bool {
	for _, op := range layerOps {
		if n.OpType() == op {
			return true
		}
	}
	return false
}

// norm turns an axis counted from the end (negative) into one counted
// from the start of a rank-r value; it is negative when r is too small
// (or unknown, -1).
func norm(axis, r int) int {
	if axis < 0 {
		return axis + r
	}
	return axis
}

// layer follows channels through a layer with a constant weight: the
// weight's output axis produces the channels of the output, its feature
// axis reads those of the data input, and a depthwise Conv carries
// channel c to channel c.
func layer(a *analyzer, d int, n *graph.Node, port int, out bool) {
	l, _ := passes.LayoutOf(n)
	w := a.weight(d, n, l.Weight)
	if w == nil {
		return
	}
	dims := w.Const().Dims()
	ax, err := l.Axes(n, dims)
	switch {
	case err != nil:
		a.block(d, "%v", err)
		return
	case n.OpType() == "Gemm" && ax.DataFeature == 0:
		a.block(d, "%s: transA=1 is not followed", n)
		return
	case ax.Out < 0 || len(ax.Batch) > 0:
		a.block(d, "%s: weight %s has rank %d, want 2", n, w.Name, len(dims))
		return
	}
	k := a.dims[d]
	x, y := n.Input(l.Data), n.Output(0)
	dataAxis := norm(ax.DataFeature, a.shapes.rank(x))
	outAxis := norm(ax.OutputChannel, a.shapes.rank(y))
	if out && k.axis != outAxis || !out && (port != l.Data || k.axis != dataAxis) {
		where := "a batch dimension"
		if len(ax.Cols) > 1 {
			where = "a batch or spatial dimension"
		}
		a.block(d, "%s: channels on %s", n, where)
		return
	}
	m := ax.Matrix(dims)
	switch {
	case ax.Groups == 1 && out:
		a.member(d, n, w, Source, ax.Out)
		a.sources[d] = append(a.sources[d], n)
		bias(a, d, n)
	case ax.Groups == 1:
		a.member(d, n, w, Sink, ax.Feature)
	case int64(ax.Groups) == dims[ax.Out] && m.Features == 1:
		// Depthwise with multiplier 1: channel c in, channel c out.
		if out {
			a.tie(d, x, dataAxis)
		} else {
			a.tie(d, y, outAxis)
		}
		a.member(d, n, w, Through, ax.Out)
		bias(a, d, n)
		a.dw[d] = append(a.dw[d], n)
	default:
		a.block(d, "%s: grouped convolution (group=%d) is not followed", n, ax.Groups)
	}
}

// bias records the bias of a Gemm or Conv (input 2) as a per-channel
// parameter of the output channels. Gemm's C broadcasts: it shrinks only
// when its last axis holds the channels.
func bias(a *analyzer, d int, n *graph.Node) {
	c := n.Input(2)
	if c == nil {
		return
	}
	if n.OpType() == "Conv" {
		a.param(d, n, c, 0)
		return
	}
	if cr := a.shapes.rank(c); cr >= 1 && a.size(c, cr-1) != 1 {
		a.param(d, n, c, cr-1)
	}
}
