package onnx_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// fuzzSeeds returns encodings of small generated models.
func fuzzSeeds(f *testing.F) [][]byte {
	models := []*onnx.ModelProto{
		modelgen.MLP(modelgen.MLPOptions{Dim: 4, Hidden: 8, Blocks: 1, Classes: 2}),
		modelgen.MLP(modelgen.MLPOptions{Dim: 4, Hidden: 4, Blocks: 1, Classes: 2, LayerNorm: true, TransB: true}),
		modelgen.CNN(modelgen.CNNOptions{Channels: 2, Stages: 1, Height: 4, Width: 4, Classes: 2, Depthwise: true, Concat: true}),
	}
	var out [][]byte
	for _, m := range models {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecode decodes arbitrary bytes and checks every tensor's data
// against its shape: errors are fine, panics and huge allocations are not.
func FuzzDecode(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Decode(b)
		if err != nil {
			return
		}
		onnx.WalkTensors(m, func(tp *onnx.TensorProto, _ onnx.TensorSite) {
			if tp.CheckData() != nil || tp.IsExternal() {
				return
			}
			if _, err := onnx.RawBytes(tp, nil); err != nil && tp.GetDataType() != int32(onnx.TensorProto_STRING) {
				t.Fatalf("tensor %q passes CheckData but RawBytes fails: %v", tp.GetName(), err)
			}
		})
		if _, err := onnx.Encode(m); err != nil {
			t.Fatalf("a decoded model does not encode: %v", err)
		}
	})
}
