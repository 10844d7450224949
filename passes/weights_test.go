package passes_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// TestFindWeightsLeavesOverridableDefaults checks that an initializer also
// listed as a graph input (a default a caller may replace at run time) is
// not a weight, while an ordinary initializer and a Constant node are.
func TestFindWeightsLeavesOverridableDefaults(t *testing.T) {
	b := modelgen.NewBuilder("defaults")
	b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	b.Input("w_default", onnx.TensorProto_FLOAT, 4, 4)
	b.Init("w_default", []int64{4, 4}, make([]float32, 16))
	b.Init("w_fixed", []int64{4, 4}, make([]float32, 16))
	b.Node("Constant", nil, []string{"w_const"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{4, 4}, make([]float32, 16))))
	b.Node("MatMul", []string{"x", "w_default"}, []string{"a"})
	b.Node("MatMul", []string{"a", "w_fixed"}, []string{"c"})
	b.Node("MatMul", []string{"c", "w_const"}, []string{"y"})
	b.Output("y", onnx.TensorProto_FLOAT, 1, 4)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	ws := passes.FindWeights(m, passes.Selection{}, func(name, reason string) { skipped[name] = reason })
	var got []string
	for _, w := range ws {
		got = append(got, w.Value.Name)
	}
	if strings.Join(got, ",") != "w_fixed,w_const" {
		t.Errorf("weights %v, want [w_fixed w_const]", got)
	}
	if !strings.Contains(skipped["w_default"], "also a graph input") {
		t.Errorf("w_default skip reason %q", skipped["w_default"])
	}
}
