package graph_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// constModel has one weight as an initializer and one in a Constant node.
func constModel() *onnx.ModelProto {
	b := modelgen.NewBuilder("cow")
	b.Input("x", f32, 2)
	b.Init("w", []int64{2}, []float32{1, 2})
	b.Node("Constant", nil, []string{"c"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{2}, []float32{3, 4})))
	b.Node("Mul", []string{"x", "w"}, []string{"t"})
	b.Node("Add", []string{"t", "c"}, []string{"y"})
	b.Output("y", f32)
	return b.Model(17)
}

// zeroWeights changes both constants in place, and the initializer's
// shape field, through the IR.
func zeroWeights(t *testing.T, m *graph.Model) {
	t.Helper()
	for _, name := range []string{"w", "c"} {
		v, err := m.Graph.Lookup(name).Const().MutableFloat32s()
		if err != nil {
			t.Fatal(err)
		}
		v[0] = 0
	}
	m.Graph.Lookup("w").Tensor.Proto.Dims = []int64{1, 2}
	m.Graph.Nodes[0].SetAttr(modelgen.AttrInt("extra", 1))
}

func TestFromProtoNeverChangesTheCallersProto(t *testing.T) {
	p := constModel()
	before := proto.Clone(p)
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	zeroWeights(t, m)
	if !proto.Equal(p, before) {
		t.Fatal("changing the IR changed the proto it was built from")
	}
	// The IR itself did change.
	got, _ := onnx.Float32s(m.ToProto().Graph.Initializer[0], nil)
	if got[0] != 0 {
		t.Fatalf("initializer after change = %v", got)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m, err := graph.FromProto(constModel(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(m.ToProto())
	zeroWeights(t, c)
	if !proto.Equal(m.ToProto(), want) {
		t.Fatal("changing a clone changed the original")
	}
	// And the other way round.
	c2, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	want2 := proto.Clone(c2.ToProto())
	zeroWeights(t, m)
	if !proto.Equal(c2.ToProto(), want2) {
		t.Fatal("changing the original changed a clone")
	}
}
