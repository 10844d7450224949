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

// sharedModel has weight w used by nodes first and head (in that order or
// the reverse), and v by other.
func sharedModel(t *testing.T, headFirst bool) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("shared")
	b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	b.Init("w", []int64{4, 4}, make([]float32, 16))
	b.Init("v", []int64{4, 4}, make([]float32, 16))
	names := []string{"first", "head"}
	if headFirst {
		names = []string{"head", "first"}
	}
	b.Op(names[0], "MatMul", []string{"x", "w"})
	b.Op(names[1], "MatMul", []string{names[0] + "_output_0", "w"})
	b.Op("other", "MatMul", []string{names[1] + "_output_0", "v"})
	b.Output("other_output_0", onnx.TensorProto_FLOAT, 1, 4)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// describeWeights lists weights as name:use,use.
func describeWeights(ws []*passes.Weight) string {
	var out []string
	for _, w := range ws {
		var us []string
		for _, u := range w.Uses {
			us = append(us, u.Name())
		}
		out = append(out, w.Value.Name+":"+strings.Join(us, ","))
	}
	return strings.Join(out, " ")
}

// TestFindWeightsSelection checks name selection on shared weights in
// both node orders: tensors for passes that change weights in place, nodes
// with PerNode.
func TestFindWeightsSelection(t *testing.T) {
	for _, headFirst := range []bool{false, true} {
		for _, tc := range []struct {
			sel        passes.Selection
			want, skip string
		}{
			{passes.Selection{}, "w:first,head v:other", ""},
			{passes.Selection{Exclude: []string{"head"}}, "v:other", "w"},
			{passes.Selection{Exclude: []string{"w"}}, "v:other", ""},
			{passes.Selection{Include: []string{"head"}}, "w:first,head", ""},
			{passes.Selection{Include: []string{"v"}}, "v:other", ""},
			{passes.Selection{Exclude: []string{"head"}, PerNode: true}, "w:first v:other", ""},
			{passes.Selection{Include: []string{"head"}, PerNode: true}, "w:head", ""},
			{passes.Selection{Include: []string{"w"}, Exclude: []string{"first"}, PerNode: true}, "w:head", ""},
			{passes.Selection{Exclude: []string{"first", "head"}}, "v:other", ""},
		} {
			ws := passes.FindWeights(sharedModel(t, headFirst), tc.sel, func(name, reason string) {
				if name != tc.skip {
					t.Errorf("%+v: skipped %s: %s", tc.sel, name, reason)
				}
			})
			want := tc.want
			if headFirst {
				want = strings.Replace(want, "first,head", "head,first", 1)
			}
			if got := describeWeights(ws); got != want {
				t.Errorf("head first %v, %+v: weights %q, want %q", headFirst, tc.sel, got, want)
			}
		}
	}
}
