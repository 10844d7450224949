package graph_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestElemTypesQuantizedContribOps: MatMulNBits computes in its
// activations' type and GatherBlockQuantized in its scales', so a value
// after them in a float16 model is float16 (calibration declares captured
// values with these types).
func TestElemTypesQuantizedContribOps(t *testing.T) {
	h := onnx.TensorProto_FLOAT16
	b := modelgen.NewBuilder("contrib")
	b.Import("com.microsoft", 1)
	b.Input("x", h, 1, 4)
	b.Input("ids", onnx.TensorProto_INT64, 1)
	b.Input("scales", h, 4, 1)
	b.Input("b", onnx.TensorProto_UINT8, 4, 1, 2)
	b.Input("rows", onnx.TensorProto_UINT8, 4, 2)
	mm := b.Node("MatMulNBits", []string{"x", "b", "scales"}, []string{"y"})
	mm.Domain = ptr("com.microsoft")
	ga := b.Node("GatherBlockQuantized", []string{"rows", "ids", "scales"}, []string{"e"})
	ga.Domain = ptr("com.microsoft")
	b.Node("Relu", []string{"y"}, []string{"r"})
	b.Node("Relu", []string{"e"}, []string{"s"})
	b.Output("r", h, 1, 4)
	b.Output("s", h, 1, 4)
	m, err := graph.FromProto(b.Model(21), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := graph.ElemTypes(m.Graph)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"y", "e"} {
		v := m.Graph.Lookup(name)
		if v == nil {
			t.Fatalf("no value %s", name)
		}
		if got := ts[v]; got != int32(h) {
			t.Errorf("%s is %s, want float16", name, onnx.DataTypeName(got))
		}
	}
}

func ptr(s string) *string { return &s }
