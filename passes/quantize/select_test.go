package quantize

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestSelection checks that include= and exclude= select nodes by node or
// weight name, and that a weight shared with an excluded node is quantized
// for the other node while the excluded one keeps the float weight.
func TestSelection(t *testing.T) {
	b := modelgen.NewBuilder("select")
	f := onnx.TensorProto_FLOAT
	b.Input("x", f, "batch", 16)
	w := b.InitNormal("w", []int64{16, 16}, 0, 0.1)
	v := b.InitNormal("v", []int64{8, 16}, 0, 0.1)
	h := b.Op("mm1", "MatMul", []string{"x", w})
	h = b.Op("mm2", "MatMul", []string{h, w})
	y := b.Op("gemm", "Gemm", []string{h, v}, modelgen.AttrInt("transB", 1))
	b.Output(y, f, "batch", 8)
	ref := b.Model(17)
	for _, tc := range []struct {
		options   string
		quantized string // nodes that became DynamicQuantizeMatMul
		floatW    bool   // the float weight w is still used
	}{
		{"", "mm1,mm2,gemm", false},
		{"exclude=mm2", "mm1,gemm", true},
		{"exclude=w", "gemm", true},
		{"include=gemm", "gemm", true},
		{"include=w", "mm1,mm2", false},
		{"include=mm*,exclude=mm1", "mm2", true},
		{"ops=Gemm", "gemm", true},
		{"include=nothing", "", true},
	} {
		pipeline := "quantize(" + tc.options + ")"
		if tc.options == "" {
			pipeline = "quantize"
		}
		q, _ := apply(t, ref, pipeline)
		var got []string
		floatW := false
		for _, n := range q.GetGraph().GetNode() {
			if n.GetOpType() == "DynamicQuantizeMatMul" {
				got = append(got, n.GetName())
			}
			if slices.Contains(n.GetInput(), "w") {
				floatW = true
			}
		}
		if strings.Join(got, ",") != tc.quantized || floatW != tc.floatW {
			t.Errorf("%s: quantized %v (float w used: %v), want [%s] (%v)", pipeline, got, floatW, tc.quantized, tc.floatW)
		}
	}
}
