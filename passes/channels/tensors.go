package channels

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// IsFloatParam reports whether constant t is a float tensor channels can
// slice and read: float32, float16 or bfloat16 (Floats reads it, SetFloats
// writes it back in its own type without losing bits).
func IsFloatParam(t *graph.Tensor) bool {
	switch onnx.TensorProto_DataType(t.DataType()) {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_FLOAT16, onnx.TensorProto_BFLOAT16:
		return true
	}
	return false
}

// ReplaceConstant makes p the tensor of constant v (an initializer or a
// Constant node's value). The old tensor is left as it was: its bytes
// may be shared with another model.
func ReplaceConstant(v *graph.Value, p *onnx.TensorProto) error {
	if v.Tensor != nil {
		v.Tensor = graph.NewTensor(p)
		return nil
	}
	n, _ := v.Producer()
	if n == nil || n.OpType() != "Constant" {
		return fmt.Errorf("%s is not a constant", v.Name)
	}
	n.Proto.Attribute = append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
	n.SetAttr(&onnx.AttributeProto{Name: proto.String("value"), Type: onnx.AttributeProto_TENSOR.Enum(), T: p})
	return nil
}

// AxisSums returns, for each index along axis of constant v, the sum of
// |x| (or x², when squares) over the rest of the tensor.
func AxisSums(v *graph.Value, axis int, squares bool) ([]float64, error) {
	t := v.Const()
	data, err := t.Floats()
	if err != nil {
		return nil, fmt.Errorf("constant %s: %w", v.Name, err)
	}
	dims := t.Dims()
	if axis >= len(dims) {
		return nil, fmt.Errorf("constant %s has no axis %d", v.Name, axis)
	}
	inner := prod(dims[axis+1:])
	n := dims[axis]
	out := make([]float64, n)
	for i, x := range data {
		k := (int64(i) / inner) % n
		f := float64(x)
		if squares {
			out[k] += f * f
		} else {
			out[k] += math.Abs(f)
		}
	}
	return out, nil
}
