package inspect_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

const f32 = onnx.TensorProto_FLOAT

// model has a dense initializer with 3 zeros of 8, a sparse initializer
// (2 stored values of 6), a Constant node, an int64 initializer and an If
// whose branches hold ops of their own.
func model(t *testing.T) *graph.Model {
	b := modelgen.NewBuilder("inspect")
	b.Input("x", f32, "batch", 2)
	b.Input("c", onnx.TensorProto_BOOL)
	b.Init("w", []int64{2, 4}, []float32{0, 1, 0, 2, 3, 0, 4, 5})
	b.InitInt64("shape", []int64{2}, []int64{-1, 4})
	b.Node("Constant", nil, []string{"k"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{4}, []float32{1, 2, 3, 4})))
	b.Node("MatMul", []string{"x", "w"}, []string{"h"})
	b.Node("Mul", []string{"h", "k"}, []string{"m"})
	b.Node("Reshape", []string{"m", "shape"}, []string{"r"})
	then := modelgen.NewBuilder("then")
	then.Node("Relu", []string{"r"}, []string{"t"})
	then.Output("t", f32)
	els := modelgen.NewBuilder("else")
	els.Node("Neg", []string{"r"}, []string{"e"})
	els.Output("e", f32)
	b.Node("If", []string{"c"}, []string{"y"}, modelgen.AttrGraph("then_branch", then.Graph()), modelgen.AttrGraph("else_branch", els.Graph()))
	b.Output("y", f32, "batch", 4)
	p := b.Model(17)
	p.Graph.SparseInitializer = []*onnx.SparseTensorProto{{
		Values:  modelgen.Tensor("s", []int64{2}, []float32{7, 8}),
		Indices: modelgen.TensorInt64("", []int64{2}, []int64{1, 4}),
		Dims:    []int64{2, 3},
	}}
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSummary(t *testing.T) {
	s, err := inspect.Model(model(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Params != 8+2+4+6 {
		t.Errorf("params %d, want 20 (w 8, shape 2, k 4, sparse s 6)", s.Params)
	}
	if s.Ops["Relu"] != 1 || s.Ops["Neg"] != 1 || s.Ops["If"] != 1 || s.Nodes != 7 {
		t.Errorf("ops %v (%d nodes): subgraph ops must be counted", s.Ops, s.Nodes)
	}
	// float32: w 32 + k 16 + sparse values 8 = 56; int64: shape 16 + sparse indices 16.
	if s.Bytes["float32"] != 56 || s.Bytes["int64"] != 32 || s.TotalBytes != 88 {
		t.Errorf("bytes %v total %d", s.Bytes, s.TotalBytes)
	}
	byName := map[string]inspect.Tensor{}
	for _, x := range s.Tensors {
		byName[x.Name] = x
	}
	if w := byName["w"]; w.Sparsity != 3.0/8 || w.Kind != "initializer" || w.DType != "float32" {
		t.Errorf("w: %+v", w)
	}
	if sp := byName["s"]; math.Abs(sp.Sparsity-4.0/6) > 1e-12 || sp.Kind != "sparse" || sp.Bytes != 24 {
		t.Errorf("s: %+v", sp)
	}
	if k := byName["k"]; k.Kind != "constant" || k.Sparsity != 0 {
		t.Errorf("k: %+v", k)
	}
	if len(s.Inputs) != 2 || s.Inputs[0].Shape[0] != "batch" {
		t.Errorf("inputs %+v", s.Inputs)
	}
	// The JSON has the keys scripts rely on.
	b, _ := json.Marshal(s)
	var keys map[string]any
	json.Unmarshal(b, &keys)
	for _, k := range []string{"ir_version", "opsets", "inputs", "outputs", "ops", "params", "bytes", "tensors"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}
