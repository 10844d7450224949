package graph

import "github.com/onnxopt/onnxopt/onnx"

// Element types, short.
const (
	tFloat   = int32(onnx.TensorProto_FLOAT)
	tFloat16 = int32(onnx.TensorProto_FLOAT16)
	tBFloat  = int32(onnx.TensorProto_BFLOAT16)
	tInt64   = int32(onnx.TensorProto_INT64)
	tInt32   = int32(onnx.TensorProto_INT32)
	tUint8   = int32(onnx.TensorProto_UINT8)
	tBool    = int32(onnx.TensorProto_BOOL)
)

// ElemTypes returns the element type of every value of g and its
// subgraphs (0 where unknown): the type its descriptor or constant gives,
// else one inferred from the producing op's typing rule (Cast's to,
// Shape's int64, comparisons' bool, ..., otherwise its first input's).
func ElemTypes(g *Graph) (map[*Value]int32, error) {
	ts := types{}
	if err := ts.infer(g); err != nil {
		return nil, err
	}
	return ts, nil
}

// types holds the element type of values (0 when unknown).
type types map[*Value]int32

// infer records the element type of every value of g and its subgraphs,
// from descriptors and constants where known, else from the producing
// op's typing rule.
func (ts types) infer(g *Graph) error {
	for _, v := range g.Inputs {
		ts[v] = v.ElemType()
	}
	for _, v := range g.Initializers {
		ts[v] = v.ElemType()
	}
	order, err := g.Toposort()
	if err != nil {
		return err
	}
	for _, n := range order {
		for _, s := range n.Subgraphs {
			if err := ts.infer(s.Graph); err != nil {
				return err
			}
		}
		for k, v := range n.Outputs() {
			if v == nil {
				continue
			}
			if dt := v.ElemType(); dt != 0 {
				ts[v] = dt
				continue
			}
			ts[v] = ts.output(n, k)
		}
	}
	return nil
}

// output infers the element type of output k of n.
func (ts types) output(n *Node, k int) int32 {
	in := func(i int) int32 { return ts[n.Input(i)] }
	if n.Domain() == "com.microsoft" {
		// ONNX Runtime's weight-only quantized ops compute in the type of
		// their activations (MatMulNBits' A) or scales (the rows
		// GatherBlockQuantized dequantizes).
		switch n.OpType() {
		case "MatMulNBits":
			return in(0)
		case "GatherBlockQuantized":
			return in(2)
		}
	}
	if n.Domain() != "" && n.Domain() != "ai.onnx" {
		return 0
	}
	switch n.OpType() {
	case "Cast":
		return int32(n.AttrInt("to", 0))
	case "CastLike":
		return in(1)
	case "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression":
		return tInt64
	case "TopK", "MaxPool", "Unique":
		if k > 0 {
			return tInt64
		}
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf":
		return tBool
	case "Constant":
		if c := n.Output(0).Const(); c != nil {
			return c.DataType()
		}
		if n.Attr("value_float") != nil || n.Attr("value_floats") != nil {
			return tFloat
		}
		if n.Attr("value_int") != nil || n.Attr("value_ints") != nil {
			return tInt64
		}
		return 0
	case "ConstantOfShape":
		if a := n.Attr("value"); a != nil && a.GetT() != nil {
			return a.GetT().GetDataType()
		}
		return tFloat
	case "RandomNormal", "RandomUniform":
		return int32(n.AttrInt("dtype", int64(tFloat)))
	case "RandomNormalLike", "RandomUniformLike", "EyeLike":
		return int32(n.AttrInt("dtype", int64(in(0))))
	case "Multinomial":
		return int32(n.AttrInt("dtype", int64(tInt32)))
	case "QuantizeLinear":
		if n.Input(2) != nil {
			return in(2)
		}
		return tUint8
	case "DequantizeLinear":
		return in(1)
	case "DynamicQuantizeLinear":
		if k == 1 {
			return tFloat
		}
		return tUint8
	case "Where":
		return in(1)
	case "OneHot":
		return in(2)
	case "If", "Loop", "Scan":
		return ts.subgraphOutput(n, k)
	}
	for _, v := range n.Inputs() {
		if v != nil {
			return ts[v]
		}
	}
	return 0
}

// subgraphOutput is the type of output k of an If, Loop or Scan node: the
// matching output of its (first) body.
func (ts types) subgraphOutput(n *Node, k int) int32 {
	if len(n.Subgraphs) == 0 {
		return 0
	}
	body := n.Subgraphs[0].Graph
	if n.OpType() == "Loop" {
		k++ // the body's first output is the condition
	}
	if k < len(body.Outputs) {
		return ts[body.Outputs[k]]
	}
	return 0
}
