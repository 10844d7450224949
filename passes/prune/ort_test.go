package prune_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	_ "github.com/onnxopt/onnxopt/passes/nm"
	"github.com/onnxopt/onnxopt/verify"
)

// TestRealModelsRun prunes real models with prune(sparsity=0.3),nm(n=2,m=4)
// and checks that ONNX Runtime still loads and runs them with finite
// outputs of the original shapes. The output cosine similarity against the
// original is logged, not asserted: pruning without retraining costs
// accuracy, by an amount that depends on the model.
func TestRealModelsRun(t *testing.T) {
	testenv.Runtime(t)
	const pipeline = "prune(sparsity=0.3),nm(n=2,m=4)"
	for _, tc := range []struct {
		model  string
		shapes ort.Shapes
	}{
		{"ppocr-det.onnx", ort.Shapes{"x": {1, 3, 64, 64}}},
		{"ppocr-cls.onnx", ort.Shapes{"x": {1, 3, 48, 192}}},
		{"hello_deepa.onnx", nil},
	} {
		t.Run(tc.model, func(t *testing.T) {
			orig := testenv.Model(t, tc.model)
			m, err := graph.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := runErr(m, pipeline, 0)
			if err != nil {
				t.Fatal(err)
			}
			pruned := filepath.Join(t.TempDir(), tc.model)
			if err := m.WriteFile(pruned, onnx.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			vr, err := verify.Verify(orig, pruned, verify.Config{
				Tolerance: verify.Tolerance{CosineOnly: true},
				Shapes:    tc.shapes,
				Samples:   2,
				Seed:      1,
				Options:   ort.Options{Threads: 2},
			})
			if err != nil {
				t.Fatalf("the pruned model does not run: %v", err)
			}
			pr, nmr := rep.Passes[0], rep.Passes[1]
			t.Logf("%s: prune touched %d tensors (%d weights zeroed), nm touched %d (%d more zeroed, %d skipped)",
				tc.model, pr.TensorsTouched, pr.WeightsZeroed, nmr.TensorsTouched, nmr.WeightsZeroed, len(nmr.Skipped))
			if pr.TensorsTouched == 0 || nmr.TensorsTouched == 0 {
				t.Errorf("the pipeline changed nothing; the check proves nothing")
			}
			for _, d := range vr.Outputs {
				t.Logf("%s output %s %v: cosine %.4f, max abs err %.3g, rel L2 %.3g", tc.model, d.Name, d.Shape, d.Cosine, d.MaxAbsErr, d.RelL2)
				if len(d.Problems) > 0 || d.NonFinite > 0 || d.Elements == 0 || math.IsNaN(d.Cosine) {
					t.Errorf("output %s: problems %v, %d non-finite of %d elements, cosine %v", d.Name, d.Problems, d.NonFinite, d.Elements, d.Cosine)
				}
			}
		})
	}
}
