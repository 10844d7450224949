package passes_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

// TestFindWeightsHalf: float16 and bfloat16 weights are weights, whether
// ops read them directly or through a Cast to float32, and in the Cast
// form the weight is the 16-bit constant.
func TestFindWeightsHalf(t *testing.T) {
	for _, tc := range []struct {
		convert string
		dtype   onnx.TensorProto_DataType
		cast    bool
	}{
		{"convert-float(to=float16)", onnx.TensorProto_FLOAT16, false},
		{"convert-float(to=float16,compute=float32)", onnx.TensorProto_FLOAT16, true},
		{"convert-float(to=bfloat16,compute=float32)", onnx.TensorProto_BFLOAT16, true},
	} {
		t.Run(tc.convert, func(t *testing.T) {
			m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 16, Blocks: 1, Seed: 3}), nil)
			if err != nil {
				t.Fatal(err)
			}
			passtest.Run(t, m, tc.convert, 1)
			ws := passes.FindWeights(m, passes.Selection{}, func(name, reason string) { t.Errorf("skipped %s: %s", name, reason) })
			if len(ws) != 3 {
				t.Fatalf("%d weights, want 3 (two per block and the head)", len(ws))
			}
			for _, w := range ws {
				if got := w.Tensor.DataType(); got != int32(tc.dtype) {
					t.Errorf("%s is %s, want %s", w.Value.Name, onnx.DataTypeName(got), tc.dtype)
				}
				if w.Value.Const() != w.Tensor {
					t.Errorf("%s: Tensor is not the value's constant", w.Value.Name)
				}
				if (w.Cast != nil) != tc.cast {
					t.Errorf("%s: Cast %v, want a Cast: %v", w.Value.Name, w.Cast, tc.cast)
				}
				if w.Cast != nil && (w.Cast.Input(0) != w.Value || w.Uses[0].Input(1) != w.Cast.Output(0)) {
					t.Errorf("%s: Cast %s is not between the constant and %s", w.Value.Name, w.Cast, w.Uses[0])
				}
				if l, _ := passes.LayoutOf(w.Node); !tc.cast && w.Node.Input(l.Weight) != w.Value {
					t.Errorf("%s is not %s's weight input", w.Value.Name, w.Node)
				}
			}
		})
	}
}

// TestFindWeightsSkipsIntegerWeights: a Gather over an int64 table is
// reported as not a float tensor.
func TestFindWeightsSkipsIntegerWeights(t *testing.T) {
	b := modelgen.NewBuilder("ints")
	b.Input("idx", onnx.TensorProto_INT64, 2)
	b.InitInt64("table", []int64{4, 4}, make([]int64, 16))
	b.Node("Gather", []string{"table", "idx"}, []string{"y"})
	b.Output("y", onnx.TensorProto_INT64, 2, 4)
	m := passtest.Build(t, b)
	var reason string
	ws := passes.FindWeights(m, passes.Selection{Ops: []string{"Gather"}}, func(name, r string) { reason = name + ": " + r })
	if len(ws) != 0 || reason != "table: not a float tensor (int64)" {
		t.Errorf("weights %v, skip %q", ws, reason)
	}
}
