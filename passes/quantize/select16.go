package quantize

import (
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

// A bridge until passes.FindWeights returns weights of every float type:
// today it skips those that are not float32, and quantize picks the
// float16 (bfloat16, float64) ones back up here, with the same per-node
// selection. Once FindWeights widens, the skip below never fires and this
// file can go.

// notFloat32 is the reason FindWeights gives for a float weight of
// another type.
const notFloat32 = "not a float32 tensor"

// wideWeight reports whether FindWeights skipped weight name only for its
// float type, in a mode that reads any float type (the 8-bit ones; the
// 4-bit forms still write float32 scales).
func (q *quantizer) wideWeight(name, reason string) bool {
	return reason == notFloat32 && q.cfg.typ.bits == 8
}

// selectWide adds to want the selected nodes whose weight is one of the
// named constants of a float type, with FindWeights' per-node rules:
// include= and exclude= globs on the node or the weight name.
func (q *quantizer) selectWide(names []string, want map[*graph.Node]bool) {
	if len(names) == 0 {
		return
	}
	named, ops := map[string]bool{}, map[string]bool{}
	for _, s := range names {
		named[s] = true
	}
	for _, s := range q.cfg.ops {
		ops[s] = true
	}
	q.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			l, ok := passes.LayoutOf(n)
			if !ok || !ops[n.OpType()] {
				continue
			}
			v := n.Input(l.Weight)
			if v == nil || !named[v.Name] || v.Const() == nil || !v.Const().IsFloat() {
				continue
			}
			if q.selected(v.Name, n.Name()) {
				want[n] = true
			}
		}
	})
}

// selected applies include= and exclude= to a weight and node name.
func (q *quantizer) selected(names ...string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			for _, s := range names {
				if s != "" && passes.Glob(p, s) {
					return true
				}
			}
		}
		return false
	}
	if len(q.cfg.include) > 0 && !match(q.cfg.include) {
		return false
	}
	return !match(q.cfg.exclude)
}
