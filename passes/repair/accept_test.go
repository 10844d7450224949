package repair_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/ort"
)

// acceptance checks that repair divides the held-out relative L2 error
// that each lossy pipeline leaves by at least its factor (issue #13 asks
// for 2; see BENCHMARKS.md for where the generated MLP stands).
func acceptance(t *testing.T, m *graph.Model, shapes ort.Shapes, calibShapes string, lossy map[string]float64) {
	for p, factor := range lossy {
		lost, _ := compressed(t, m, p)
		fixed, _ := compressed(t, m, p+",repair("+calibShapes+")")
		before, after := relErr(t, m, lost, shapes, evalSeed), relErr(t, m, fixed, shapes, evalSeed)
		t.Logf("%s: held-out rel L2 %.4f, with repair %.4f (%.1fx)", p, before, after, before/after)
		if after > before/factor {
			t.Errorf("%s: repair took the error from %.4f to %.4f, want it divided by %g", p, before, after, factor)
		}
	}
}

// TestAcceptanceMLP is issue #13's bar on the generated MLP with planted
// structure (gen mlp --outliers: a few high-variance features in every
// linear layer's input, what trained networks have): repair must at least
// halve the held-out error prune-channels(ratio=0.25) leaves (measured
// 0.86 -> 0.13, 6.6x), and after prune(sparsity=0.5) too (1.07 -> 0.27,
// 4.0x). Without planted structure (an untrained network on
// isotropic inputs: nothing redundant for a refit to use) it reaches about
// 2x after prune-channels, 1.4x after unstructured pruning (BENCHMARKS.md).
func TestAcceptanceMLP(t *testing.T) {
	testenv.Runtime(t)
	shapes := ort.Shapes{"batch": {64}}
	planted, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 1, Outliers: 4}), nil)
	if err != nil {
		t.Fatal(err)
	}
	acceptance(t, planted, shapes, "shapes=batch:64,samples=16",
		map[string]float64{"prune-channels(ratio=0.25)": 2, "prune(sparsity=0.5)": 2})
	plain, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	acceptance(t, plain, shapes, "shapes=batch:64,samples=16",
		map[string]float64{"prune-channels(ratio=0.25)": 1.6, "prune(sparsity=0.5)": 1.25})
}

func TestAcceptancePPOCRCls(t *testing.T) {
	testenv.Heavy(t)
	testenv.Runtime(t)
	m, err := graph.ReadFile(testenv.Model(t, "ppocr-cls.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	acceptance(t, m, ort.Shapes{"x": {1, 3, 48, 192}}, "shapes=x:1x3x48x192",
		map[string]float64{"prune-channels(ratio=0.25)": 2})
}
