package quantize

import (
	"encoding/binary"
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// gatherTargets lists the Gather nodes of every graph whose table is a
// float constant, selected by include= and exclude= like the other
// targets (gather=true).
func (q *quantizer) gatherTargets() []*graph.Node {
	sel := passes.Selection{Ops: []string{"Gather"}, Include: q.cfg.include, Exclude: q.cfg.exclude, PerNode: true}
	want := map[*graph.Node]bool{}
	for _, w := range passes.FindWeights(q.m, sel, func(name, reason string) { q.ctx.Skip(name, "%s", reason) }) {
		for _, u := range w.Uses {
			want[u] = true
		}
	}
	var out []*graph.Node
	q.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if want[n] {
				out = append(out, n)
			}
		}
	})
	return out
}

// gather replaces Gather(table [vocab, hidden], ids) by
// com.microsoft.GatherBlockQuantized(B as [vocab, hidden/2], ids, scales,
// zero points) with blocks along hidden (quantize_axis=1). The table's
// 4-bit form is nbitsOf's, so a table also used as a Gemm(transB=1) or
// MatMulNBits weight [N=vocab, K=hidden] (a tied LM head) is stored once:
// both nodes read the same B, scales and zero points; the Gather reads B
// through a Reshape to [vocab, hidden/2], which ONNX Runtime folds when
// it loads the model (MatMulNBits insists on B's 3-D shape,
// GatherBlockQuantized on 2-D data).
func (q *quantizer) gather(n *graph.Node) (string, error) {
	if n.AttrInt("axis", 0) != 0 {
		return "Gather along an axis other than 0 (GatherBlockQuantized with packed data gathers rows)", nil
	}
	wv, ids := n.Input(0), n.Input(1)
	if wv == nil || ids == nil {
		return "has no table or no indices", nil
	}
	t := wv.Const()
	switch {
	case t == nil:
		return "table " + wv.Name + " is computed at run time, not a constant", nil
	case wv.IsInput():
		return "table " + wv.Name + " is also a graph input (a caller may replace it at run time)", nil
	case t.DataType() != int32(onnx.TensorProto_FLOAT):
		return fmt.Sprintf("table %s is %s, not float32", wv.Name, onnx.DataTypeName(t.DataType())), nil
	case len(t.Dims()) != 2:
		return fmt.Sprintf("table %s has shape %v, not 2-D", wv.Name, t.Dims()), nil
	}
	vocab, hidden := int(t.Dims()[0]), int(t.Dims()[1])
	if hidden%q.cfg.block != 0 {
		return fmt.Sprintf("table %s: width %d is not a multiple of block=%d", wv.Name, hidden, q.cfg.block), nil
	}
	w, err := t.Float32s()
	if err != nil {
		return "", fmt.Errorf("table %s: %w", wv.Name, err)
	}
	f, err := q.nbitsOf(n, wv, w, hidden, vocab, false, 1)
	if err != nil {
		return "", err
	}
	if f.rows == nil {
		g := f.b.Graph()
		shape := make([]byte, 16)
		binary.LittleEndian.PutUint64(shape, uint64(vocab))
		binary.LittleEndian.PutUint64(shape[8:], uint64(hidden/2))
		sv := newInit(g, f.b.Name+"_rows_shape", int32(onnx.TensorProto_INT64), []int64{2}, shape)
		f.rows = g.NewNode("Reshape", f.b.Name+"/Rows", []*graph.Value{f.b, sv}, []string{f.b.Name + "_rows"}).Output(0)
	}
	rewrite(n, "GatherBlockQuantized", msDomain, n.Proto.GetName(), []*graph.Value{f.rows, ids, f.scales, f.zps},
		attrInt("gather_axis", 0), attrInt("quantize_axis", 1), attrInt("block_size", int64(q.cfg.block)), attrInt("bits", 4))
	if q.m.Opset(msDomain) == 0 {
		q.m.SetOpset(msDomain, 1)
	}
	return "", cleanup(wv)
}
