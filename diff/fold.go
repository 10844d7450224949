package diff

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
)

// foldedBN returns the Conv weight w (values fa) of the first model with
// the BatchNormalization that follows its Conv folded in, when the second
// model has no counterpart of that BatchNormalization (quantize folds it
// before it quantizes the weight), and that node; nil when there is none.
func (r *Result) foldedBN(w *graph.Value, fa []float32) ([]float32, *graph.Node, error) {
	for _, u := range w.Uses() {
		conv := u.Node
		if u.Index != 1 || conv.OpType() != "Conv" || conv.Domain() != "" || conv.Output(0) == nil || len(conv.Output(0).Uses()) != 1 {
			continue
		}
		use := conv.Output(0).Uses()[0]
		bn := use.Node
		if use.Index != 0 || bn.OpType() != "BatchNormalization" || bn.Domain() != "" || r.matching.NodeAB[bn] != nil {
			continue
		}
		var p [4][]float32 // scale, bias, mean, variance
		for i := range p {
			v := bn.Input(i + 1)
			if !isConstant(v) {
				return nil, nil, nil
			}
			f, ok, err := floats(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", bn, err)
			}
			if !ok {
				return nil, nil, nil
			}
			p[i] = f
		}
		dims := shapeOf(w)
		if len(dims) == 0 || len(p[0]) != int(dims[0]) || len(p[3]) != len(p[0]) || len(fa)%len(p[0]) != 0 {
			return nil, nil, nil
		}
		eps := float64(bn.AttrFloat("epsilon", 1e-5))
		per := len(fa) / len(p[0])
		out := make([]float32, len(fa))
		for i, x := range fa {
			c := i / per
			out[i] = float32(float64(x) * float64(p[0][c]) / math.Sqrt(float64(p[3][c])+eps))
		}
		return out, bn, nil
	}
	return nil, nil, nil
}
