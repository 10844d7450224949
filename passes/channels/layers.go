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

// matmul: the weight's columns produce the channels of the last axis, its
// rows read them.
func matmul(a *analyzer, d int, n *graph.Node, port int, out bool) {
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	dense(a, d, n, w, port, out, a.shapes.rank(a.dims[d].v)-1, 1, 0, "channels on a batch dimension")
}

// gemm: like matmul on axis 1, with the weight's axes swapped by transB
// and an optional per-channel bias.
func gemm(a *analyzer, d int, n *graph.Node, port int, out bool) {
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	if n.AttrInt("transA", 0) != 0 {
		a.block(d, "%s: transA=1 is not followed", n)
		return
	}
	produce, read := 1, 0
	if n.AttrInt("transB", 0) != 0 {
		produce, read = 0, 1
	}
	if !dense(a, d, n, w, port, out, 1, produce, read, "channels on the batch dimension") {
		return
	}
	if c := n.Input(2); c != nil {
		cr := a.shapes.rank(c)
		if cr >= 1 && a.size(c, cr-1) != 1 {
			a.param(d, n, c, cr-1)
		}
	}
}

// dense records weight w of a fully connected layer n whose activations
// hold the channels on axis: the weight's axis produce makes them at the
// output, its axis read reads them at input 0. It reports whether d is
// n's output (so n is a source); elsewhere it blocks d with batch.
func dense(a *analyzer, d int, n *graph.Node, w *graph.Value, port int, out bool, axis, produce, read int, batch string) bool {
	switch k := a.dims[d]; {
	case out && k.axis == axis:
		a.member(d, n, w, Source, produce)
		a.sources[d] = append(a.sources[d], n)
		return true
	case !out && port == 0 && k.axis == axis:
		a.member(d, n, w, Sink, read)
	default:
		a.block(d, "%s: %s", n, batch)
	}
	return false
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
