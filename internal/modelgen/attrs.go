package modelgen

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// AttrInt returns an INT attribute.
func AttrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrInts returns an INTS attribute.
func AttrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

// AttrFloat returns a FLOAT attribute.
func AttrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrString returns a STRING attribute.
func AttrString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// AttrGraph returns a GRAPH attribute (the body of If, Loop or Scan); build
// the subgraph with its own Builder and pass its Graph().
func AttrGraph(name string, g *onnx.GraphProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_GRAPH.Enum(), G: g}
}

// AttrTensor returns a TENSOR attribute (the value of a Constant); build the
// tensor with Tensor or TensorInt64.
func AttrTensor(name string, t *onnx.TensorProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_TENSOR.Enum(), T: t}
}
