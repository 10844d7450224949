package channels

// The layer rules below say by hand which axis of each weight produces and
// which reads the channels; they are the place to switch to a shared
// per-op weight-layout table.

import (
	"github.com/onnxopt/onnxopt/graph"
)

// seed starts a group at the output channels of a layer with a constant
// weight.
func seed(a *analyzer, n *graph.Node) {
	out := n.Output(0)
	r := a.shapes.rank(out)
	switch n.OpType() {
	case "MatMul":
		if r >= 1 && n.Input(1).Const() != nil {
			a.get(out, r-1)
		}
	case "Gemm":
		if n.Input(1).Const() != nil {
			a.get(out, 1)
		}
	case "Conv":
		if w := n.Input(1).Const(); w != nil && n.AttrInt("group", 1) == 1 {
			a.get(out, 1)
		}
	}
}

// matmul: the weight's columns produce the channels, its rows read them.
func matmul(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	r := a.shapes.rank(k.v)
	switch {
	case out && k.axis == r-1:
		a.member(d, n, w, Source, 1)
		a.sources[d] = append(a.sources[d], n)
	case !out && port == 0 && k.axis == r-1:
		a.member(d, n, w, Sink, 0)
	default:
		a.block(d, "%s: channels on a batch dimension", n)
	}
}

// gemm: like matmul, with the weight's axes swapped by transB and an
// optional per-channel bias.
func gemm(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	if n.AttrInt("transA", 0) != 0 {
		a.block(d, "%s: transA=1 is not followed", n)
		return
	}
	transB := n.AttrInt("transB", 0) != 0
	switch {
	case out && k.axis == 1:
		wa := 1
		if transB {
			wa = 0
		}
		a.member(d, n, w, Source, wa)
		a.sources[d] = append(a.sources[d], n)
		if c := n.Input(2); c != nil {
			cr := a.shapes.rank(c)
			if cr >= 1 && a.size(c, cr-1) != 1 {
				a.param(d, n, c, cr-1)
			}
		}
	case !out && port == 0 && k.axis == 1:
		wa := 0
		if transB {
			wa = 1
		}
		a.member(d, n, w, Sink, wa)
	default:
		a.block(d, "%s: channels on the batch dimension", n)
	}
}

// conv: a filter per output channel, an input slice per input channel;
// a depthwise Conv carries channel c to channel c.
func conv(a *analyzer, d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 0)
	if w == nil {
		return
	}
	wd := w.Const().Dims()
	if len(wd) < 3 || k.axis != 1 || port > 0 && !out {
		a.block(d, "%s: channels on a batch or spatial dimension", n)
		return
	}
	group := n.AttrInt("group", 1)
	switch {
	case group == 1 && out:
		a.member(d, n, w, Source, 0)
		a.sources[d] = append(a.sources[d], n)
		a.param(d, n, n.Input(2), 0)
	case group == 1:
		a.member(d, n, w, Sink, 1)
	case wd[1] == 1 && wd[0] == group:
		// Depthwise with multiplier 1: channel c in, channel c out.
		if out {
			a.tie(d, n.Input(0), 1)
		} else {
			a.tie(d, n.Output(0), 1)
		}
		a.member(d, n, w, Through, 0)
		a.param(d, n, n.Input(2), 0)
		a.dw[d] = append(a.dw[d], n)
	default:
		a.block(d, "%s: grouped convolution (group=%d) is not followed", n, group)
	}
}
