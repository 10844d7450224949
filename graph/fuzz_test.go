package graph_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// FuzzFromProto builds the IR from arbitrary bytes: FromProto, Check,
// ToProto and Encode never panic, and a model that FromProto and Check
// accept comes back proto-equal.
func FuzzFromProto(f *testing.F) {
	for _, m := range []*onnx.ModelProto{
		modelgen.MLP(modelgen.MLPOptions{Dim: 4, Hidden: 8, Blocks: 1, Classes: 2}),
		modelgen.MLP(modelgen.MLPOptions{Dim: 4, Hidden: 4, Blocks: 1, Classes: 2, LayerNorm: true, TransB: true}),
		modelgen.CNN(modelgen.CNNOptions{Channels: 2, Stages: 1, Height: 4, Width: 4, Classes: 2, Depthwise: true, Concat: true}),
		ifModel(),
	} {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := onnx.Decode(b)
		if err != nil {
			return
		}
		m, err := graph.FromProto(p, nil)
		if err != nil {
			return
		}
		checkErr := m.Graph.Check()
		out, err := onnx.Encode(m.ToProto())
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if checkErr != nil {
			return
		}
		orig, _ := onnx.Decode(b)
		back, err := onnx.Decode(out)
		if err != nil {
			t.Fatalf("the written model does not decode: %v", err)
		}
		if !proto.Equal(orig, back) {
			t.Fatalf("round trip changed the model")
		}
	})
}

// ifModel is a model with an If whose branches use an outer value.
func ifModel() *onnx.ModelProto {
	b := modelgen.NewBuilder("if")
	x := b.Input("x", onnx.TensorProto_FLOAT, 2)
	c := b.Input("c", onnx.TensorProto_BOOL)
	branch := func(op string) *onnx.GraphProto {
		s := modelgen.NewBuilder(op)
		s.Output(s.Op(op, op, []string{x}), onnx.TensorProto_FLOAT, 2)
		return s.Graph()
	}
	b.Node("If", []string{c}, []string{"y"}, modelgen.AttrGraph("then_branch", branch("Relu")), modelgen.AttrGraph("else_branch", branch("Neg")))
	b.Output("y", onnx.TensorProto_FLOAT, 2)
	return b.Model(17)
}
