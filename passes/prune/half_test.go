package prune_test

import (
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

// halfForms are the 16-bit forms of a float32 model pruning must keep:
// float16 computing in float16, and 16-bit weights behind Casts.
var halfForms = []string{
	"convert-float(to=float16)",
	"convert-float(to=float16,compute=float32)",
	"convert-float(to=bfloat16,compute=float32)",
}

// TestPruneHalfWeights: every mode of prune on float16 and bfloat16
// weights zeroes the smallest magnitudes, keeps the type and every bit of
// the weights it leaves, and adds no float32 constant.
func TestPruneHalfWeights(t *testing.T) {
	weights := []string{"block0.fc1.weight", "block0.fc2.weight", "head.weight"}
	for _, form := range halfForms {
		for _, mode := range []string{"prune(sparsity=0.5)", "prune(sparsity=0.5,scope=global)", "prune(threshold=0.05)"} {
			t.Run(form+"/"+mode, func(t *testing.T) {
				m := passtest.HalfMLP(t, modelgen.MLPOptions{Dim: 32, Blocks: 1, Seed: 5}, form)
				before := passtest.Constants(t, m)
				orig := passtest.FloatsOf(t, m, weights)
				rep := passtest.Run(t, m, mode, 2)
				after := passtest.Constants(t, m)
				if len(after) != len(before) {
					t.Errorf("%d constants after, %d before", len(after), len(before))
				}
				zeros, total := 0, 0
				for name, b := range before {
					a := after[name]
					if b.DType != a.DType {
						t.Errorf("%s: %s became %s", name, onnx.DataTypeName(b.DType), onnx.DataTypeName(a.DType))
					}
					passtest.CheckKeptBits(t, name, b, a)
				}
				for _, w := range weights {
					a := after[w]
					if a.DType == int32(onnx.TensorProto_FLOAT) {
						t.Errorf("%s is float32", w)
					}
					zeros += a.Zeros()
					total += a.Elements()
					checkSmallestZeroed(t, w, orig[w], passtest.Floats(t, m, w), mode == "prune(threshold=0.05)")
				}
				if rep.WeightsZeroed == 0 || len(rep.Tensors) != 3 || rep.Tensors[0].DType == "" {
					t.Errorf("report: zeroed %d, tensors %+v", rep.WeightsZeroed, rep.Tensors)
				}
				if mode != "prune(threshold=0.05)" && float64(zeros) < 0.49*float64(total) {
					t.Errorf("%d of %d weights are zero, want at least 49%%", zeros, total)
				}
			})
		}
	}
}

// checkSmallestZeroed fails unless every zeroed weight is no larger in
// magnitude than every weight kept (and, for threshold=0.05, below it).
func checkSmallestZeroed(t *testing.T, name string, orig, got []float32, threshold bool) {
	t.Helper()
	maxCut, minKept := 0.0, math.Inf(1)
	for i, w := range orig {
		if got[i] == 0 && w != 0 {
			maxCut = max(maxCut, math.Abs(float64(w)))
		} else if got[i] != 0 {
			minKept = min(minKept, math.Abs(float64(w)))
		}
	}
	if maxCut > minKept || threshold && (maxCut >= 0.05 || minKept < 0.05) {
		t.Errorf("%s: zeroed up to |w| = %g but kept |w| = %g", name, maxCut, minKept)
	}
}
