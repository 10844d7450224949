package graph

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// SetElemType records that tensor value v now holds elements of type dt:
// its descriptor and any other descriptor of it (graph output, value_info)
// get the new element type, shape kept. Descriptors are replaced, not
// changed, as they may be shared with the proto the model was read from.
// A constant's own type is its tensor's (see Tensor.ConvertFloats).
func (v *Value) SetElemType(dt int32) {
	v.Info = withElemType(v.Info, dt)
	if v.graph == nil {
		return
	}
	// Descriptors naming v live in its graph and the graphs below it.
	v.graph.Walk(func(g *Graph) {
		for i, w := range g.ValueInfo {
			if w == v && g.viInfo[i] != nil {
				g.viInfo[i] = withElemType(g.viInfo[i], dt)
			}
		}
		for i, w := range g.Outputs {
			if w == v && g.outInfo[i] != nil {
				g.outInfo[i] = withElemType(g.outInfo[i], dt)
			}
		}
	})
}

// withElemType returns a copy of d whose tensor type has element type dt
// (nil and non-tensor descriptors come back unchanged).
func withElemType(d *onnx.ValueInfoProto, dt int32) *onnx.ValueInfoProto {
	if d.GetType().GetTensorType() == nil {
		return d
	}
	c := proto.Clone(d).(*onnx.ValueInfoProto)
	c.GetType().GetTensorType().ElemType = &dt
	return c
}
