package quantize

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
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
	var bad []string
	q.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if n.Domain() == "" || n.Domain() == "ai.onnx" {
				if since, ok := changedSince[n.OpType()]; ok && cur < since && since <= v && !upgrade(n, cur) {
					bad = append(bad, n.String())
				}
			}
		}
	})
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], "...")
		}
		return fmt.Errorf("%s needs opset %d, but the model is at opset %d and these nodes would change meaning if it were raised: %s (convert the model to opset %d first)",
			what, v, cur, strings.Join(bad, ", "), v)
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

// upgrade rewrites n, written for opset cur, into the form later opsets
// give the same meaning, when it knows how: Clip's min/max and Slice's
// starts/ends/axes attributes become inputs; Softmax-like ops over the
// last axis of an input of known rank mean the same in both forms.
func upgrade(n *graph.Node, cur int64) bool {
	g := n.Graph()
	switch n.OpType() {
	case "Clip", "Slice":
		// The proto may be shared with the model this one was read from.
		n.Proto = proto.Clone(n.Proto).(*onnx.NodeProto)
	}
	switch n.OpType() {
	case "Clip":
		lo, hi := n.AttrFloat("min", float32(-3.4028234663852886e38)), n.AttrFloat("max", float32(3.4028234663852886e38))
		name := n.Name()
		if name == "" {
			name = "clip"
		}
		n.RemoveAttr("min")
		n.RemoveAttr("max")
		n.SetInput(1, floatInit(g, name+"_min", nil, []float32{lo}))
		n.SetInput(2, floatInit(g, name+"_max", nil, []float32{hi}))
		return true
	case "Slice":
		if len(n.Inputs()) != 1 {
			return false
		}
		starts, ends, axes := n.AttrInts("starts"), n.AttrInts("ends"), n.AttrInts("axes")
		name := n.Name()
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
		return true
	case "Softmax", "LogSoftmax", "Hardmax":
		dims, ok := n.Input(0).Shape()
		if !ok {
			dims, ok = n.Output(0).Shape()
		}
		axis := n.AttrInt("axis", 1)
		if !ok || (axis != -1 && axis != int64(len(dims))-1) {
			return false
		}
		return true
	}
	return false
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
