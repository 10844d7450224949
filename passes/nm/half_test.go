package nm_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

// TestNMHalfWeights: 2:4 on float16 and bfloat16 weights (direct, and
// behind Casts) gives the reference result on the decoded values, keeps
// the type and the bits of every weight kept, and adds no float32
// constant.
func TestNMHalfWeights(t *testing.T) {
	weights := []string{"block0.fc1.weight", "block0.fc2.weight", "head.weight"}
	for _, form := range []string{
		"convert-float(to=float16)",
		"convert-float(to=float16,compute=float32)",
		"convert-float(to=bfloat16,compute=float32)",
	} {
		t.Run(form, func(t *testing.T) {
			m := passtest.HalfMLP(t, modelgen.MLPOptions{Dim: 32, Classes: 8, Blocks: 1, Seed: 9}, form)
			before := passtest.Constants(t, m)
			orig := passtest.FloatsOf(t, m, weights)
			rep := run(t, m, "nm(n=2,m=4)")
			after := passtest.Constants(t, m)
			for name, b := range before {
				passtest.CheckKeptBits(t, name, b, after[name])
			}
			for _, w := range weights {
				a := after[w]
				if a.DType == int32(onnx.TensorProto_FLOAT) {
					t.Errorf("%s is float32", w)
				}
				// MatMul weights [K, N] reduce along axis 0.
				want := reference(orig[w], a.Dims, 0, 2, 4)
				if i, ok := equal(passtest.Floats(t, m, w), want); !ok {
					t.Errorf("%s differs from the reference at %d", w, i)
				}
				if z := a.Zeros(); z < a.Elements()/2 {
					t.Errorf("%s: %d zeros of %d", w, z, a.Elements())
				}
			}
			if len(rep.Tensors) != 3 || rep.WeightsZeroed == 0 {
				t.Errorf("report: %+v", rep)
			}
		})
	}
}
