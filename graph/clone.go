package graph

import (
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// Clone returns an independent copy of the model: changing either never
// changes the other. Tensor bytes are shared until one side changes them
// (the first in-place change copies), so cloning a large model is cheap.
func (m *Model) Clone() (*Model, error) {
	p := m.ToProto()
	// Deep-copy every message except the tensor bytes.
	var raws [][]byte
	onnx.WalkTensors(p, func(t *onnx.TensorProto, _ onnx.TensorSite) {
		raws = append(raws, t.RawData)
		t.RawData = nil
	})
	c := proto.Clone(p).(*onnx.ModelProto)
	i := 0
	onnx.WalkTensors(p, func(t *onnx.TensorProto, _ onnx.TensorSite) { t.RawData = raws[i]; i++ })
	i = 0
	onnx.WalkTensors(c, func(t *onnx.TensorProto, _ onnx.TensorSite) { t.RawData = raws[i]; i++ })
	cm, err := FromProto(c, m.Store)
	if err != nil {
		return nil, err
	}
	// The bytes are now shared both ways.
	m.ownedMu.Lock()
	m.borrowed, m.owned = true, nil
	m.ownedMu.Unlock()
	return cm, nil
}
