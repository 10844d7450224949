package repair_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/ort"
)

// acceptance checks issue #13's bar: repair at least halves the held-out
// relative L2 error that a lossy pipeline leaves.
func acceptance(t *testing.T, m *graph.Model, shapes ort.Shapes, calibShapes string, lossy []string) {
	for _, p := range lossy {
		lost, _ := compressed(t, m, p)
		fixed, _ := compressed(t, m, p+",repair("+calibShapes+")")
		before, after := relErr(t, m, lost, shapes, evalSeed), relErr(t, m, fixed, shapes, evalSeed)
		t.Logf("%s: held-out rel L2 %.4f, with repair %.4f (%.1fx)", p, before, after, before/after)
		if after > before/2 {
			t.Errorf("%s: repair took the error from %.4f to %.4f, want at least halved", p, before, after)
		}
	}
}

func TestAcceptanceMLP(t *testing.T) {
	testenv.Runtime(t)
	m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	acceptance(t, m, ort.Shapes{"batch": {64}}, "shapes=batch:64",
		[]string{"prune-channels(ratio=0.25)", "prune(sparsity=0.5)"})
}

func TestAcceptancePPOCRCls(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a real model layer by layer (about a minute)")
	}
	testenv.Runtime(t)
	m, err := graph.ReadFile(testenv.Model(t, "ppocr-cls.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	acceptance(t, m, ort.Shapes{"x": {1, 3, 48, 192}}, "shapes=x:1x3x48x192",
		[]string{"prune-channels(ratio=0.25)", "prune(sparsity=0.5)"})
}
