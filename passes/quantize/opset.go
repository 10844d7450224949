package quantize

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
)

// changedSince lists default-domain ops whose inputs or attributes changed
// meaning in a way that raising the opset would break, with the version
// that changed them.
var changedSince = map[string]int64{
	"ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18, "ReduceLogSumExp": 18,
	"ReduceMax": 18, "ReduceMean": 18, "ReduceMin": 18, "ReduceProd": 18,
	"ReduceSumSquare": 18, "ReduceSum": 13, "Split": 13, "Squeeze": 13,
	"Unsqueeze": 13, "GroupNormalization": 21, "DFT": 20, "Upsample": 10,
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
				if since, ok := changedSince[n.OpType()]; ok && cur < since && since <= v {
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
