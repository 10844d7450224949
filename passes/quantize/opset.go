package quantize

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// changedSince lists default-domain ops whose inputs or attributes changed
// meaning in a way that raising the opset would break, with the version
// that changed them.
var changedSince = map[string]int64{
	"ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18, "ReduceLogSumExp": 18,
	"ReduceMax": 18, "ReduceMean": 18, "ReduceMin": 18, "ReduceProd": 18,
	"ReduceSumSquare": 18, "ReduceSum": 13, "Split": 13, "Squeeze": 13,
	"Unsqueeze": 13, "GroupNormalization": 21, "DFT": 20, "Upsample": 10,
	"Clip": 11, "Slice": 10, "Softmax": 13, "LogSoftmax": 13, "Hardmax": 13,
	"TopK": 10, "Resize": 11, "Pad": 11, "Dropout": 12, "Scatter": 11,
}

// needOpset raises the model's default-domain opset to at least v (for
// what), refusing when an op of the model would change meaning.
func (q *quantizer) needOpset(v int64, what string) error {
	cur := q.m.Opset("")
	if cur >= v {
		return nil
	}
	// Decide for every node before changing any, so a refusal leaves the
	// model as it was.
	var bad []string
	var todo []*graph.Node
	q.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if n.Domain() == "" || n.Domain() == "ai.onnx" {
				if since, ok := changedSince[n.OpType()]; ok && cur < since && since <= v {
					if canUpgrade(n) {
						todo = append(todo, n)
					} else {
						bad = append(bad, n.String())
					}
				}
			}
		}
	})
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], "...")
		}
		return fmt.Errorf("%s needs opset %d, but the model is at opset %d and these nodes would change meaning if it were raised: %s (onnxopt cannot convert them yet; exclude= the nodes that need the higher opset, or export the model at opset %d)",
			what, v, cur, strings.Join(bad, ", "), v)
	}
	types, err := graph.ElemTypes(q.m.Graph)
	if err != nil {
		return err
	}
	for _, n := range todo {
		upgrade(n, types[n.Input(0)])
	}
	q.m.SetOpset("", v)
	if ir := q.m.Proto.GetIrVersion(); ir < irFor(v) {
		x := irFor(v)
		q.m.Proto.IrVersion = &x
	}
	q.ctx.Note("raised the model's opset from %d to %d for %s", cur, v, what)
	q.ctx.Set("opset_raised_to", v)
	return nil
}

// irFor is the lowest IR version that allows opset v.
func irFor(v int64) int64 {
	switch {
	case v >= 21:
		return 10
	case v >= 19:
		return 9
	case v >= 15:
		return 8
	case v >= 13:
		return 7
	}
	return 3
}

// canUpgrade reports whether upgrade knows how to rewrite n, written for
// an older opset, into the form later opsets give the same meaning.
func canUpgrade(n *graph.Node) bool {
	switch n.OpType() {
	case "Clip":
		// Its new min/max inputs are made as float32 constants.
		et := n.Input(0).ElemType()
		return et == 0 || et == int32(onnx.TensorProto_FLOAT)
	case "Slice":
		return len(n.Inputs()) == 1
	case "Softmax", "LogSoftmax", "Hardmax":
		// Over the last axis of an input of known rank both forms agree.
		dims, ok := n.Input(0).Shape()
		if !ok {
			dims, ok = n.Output(0).Shape()
		}
		axis := n.AttrInt("axis", 1)
		return ok && (axis == -1 || axis == int64(len(dims))-1)
	}
	return false
}

// upgrade rewrites a node canUpgrade accepted: Clip's min/max and Slice's
// starts/ends/axes attributes become inputs; Softmax-like ops need nothing.
// dt is the element type of the node's first input (0 if unknown).
func upgrade(n *graph.Node, dt int32) {
	g := n.Graph()
	name := n.Name()
	switch n.OpType() {
	case "Clip":
		// The bounds become inputs of the type Clip works in (T binds
		// them to the input's: a float16 model needs float16 bounds); a
		// bound the node did not set stays an absent optional input.
		if dt != tFloat16 && dt != int32(onnx.TensorProto_DOUBLE) {
			dt = tFloat
		}
		if name == "" {
			name = "clip"
		}
		for i, a := range []string{"min", "max"} {
			if n.Attr(a) != nil {
				n.SetInput(1+i, floatInitAs(g, name+"_"+a, nil, []float32{n.AttrFloat(a, 0)}, dt))
				n.RemoveAttr(a)
			} else if i == 0 {
				n.SetInput(1, nil)
			}
		}
	case "Slice":
		starts, ends, axes := n.AttrInts("starts"), n.AttrInts("ends"), n.AttrInts("axes")
		if name == "" {
			name = "slice"
		}
		n.SetInput(1, int64Init(g, name+"_starts", starts))
		n.SetInput(2, int64Init(g, name+"_ends", ends))
		if axes != nil {
			n.SetInput(3, int64Init(g, name+"_axes", axes))
		}
		n.RemoveAttr("starts")
		n.RemoveAttr("ends")
		n.RemoveAttr("axes")
	}
}

func int64Init(g *graph.Graph, name string, v []int64) *graph.Value {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		for j := 0; j < 8; j++ {
			b[8*i+j] = byte(x >> (8 * j))
		}
	}
	return newInit(g, name, int32(onnx.TensorProto_INT64), []int64{int64(len(v))}, b)
}
