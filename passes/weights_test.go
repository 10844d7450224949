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

// TestFindWeightsKeepsWeightsOfExcludedNodes checks that excluding a node
// by name protects a weight it shares with a node that is not excluded.
func TestFindWeightsKeepsWeightsOfExcludedNodes(t *testing.T) {
	b := modelgen.NewBuilder("shared")
	b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	b.Init("w", []int64{4, 4}, make([]float32, 16))
	b.Init("v", []int64{4, 4}, make([]float32, 16))
	b.Op("first", "MatMul", []string{"x", "w"})
	b.Op("head", "MatMul", []string{"first_output_0", "w"})
	b.Op("other", "MatMul", []string{"head_output_0", "v"})
	b.Output("other_output_0", onnx.TensorProto_FLOAT, 1, 4)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	ws := passes.FindWeights(m, passes.Selection{Exclude: []string{"head"}}, func(name, reason string) { skipped[name] = reason })
	if len(ws) != 1 || ws[0].Value.Name != "v" {
		var names []string
		for _, w := range ws {
			names = append(names, w.Value.Name)
		}
		t.Fatalf("weights %v, want only v", names)
	}
	if !strings.Contains(skipped["w"], "excluded node head") {
		t.Errorf("w skip reason %q", skipped["w"])
	}
}
