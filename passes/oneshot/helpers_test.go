package oneshot_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/nm"
	_ "github.com/onnxopt/onnxopt/passes/prune"
	"github.com/onnxopt/onnxopt/verify"
)

// evalSeed draws the held-out evaluation inputs; calibration uses seed=1
// (the default), so the two sets differ.
const evalSeed = 1000

// plantedMLP writes the MLP with planted outlier features the quality
// tests use and returns its path.
func plantedMLP(t *testing.T) string {
	t.Helper()
	p := modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 3, Outliers: 4})
	path := filepath.Join(t.TempDir(), "mlp.onnx")
	if err := onnx.WriteFile(path, p, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// compress runs pipeline over the model at path, writes the result next
// to it and returns the result's path and the report.
func compress(t *testing.T, path, pipeline string) (string, *passes.PassReport) {
	t.Helper()
	m, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep := passtest.Run(t, m, pipeline, 0)
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return out, rep
}

// relL2 returns the relative L2 error of cand's first output against
// ref's on held-out inputs (evalSeed).
func relL2(t *testing.T, ref, cand string, shapes ort.Shapes, samples int) float64 {
	t.Helper()
	r, err := verify.Verify(ref, cand, verify.Config{
		Tolerance: verify.Tolerance{CosineOnly: true},
		Shapes:    shapes,
		Samples:   samples,
		Seed:      evalSeed,
		Options:   ort.Options{Threads: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.Outputs[0].RelL2
}

// zeroGroups checks that every group of m consecutive columns of w's
// layout Matrix has at least m-n zeros.
func checkNM(t *testing.T, m *graph.Model, name string, n, mm int) {
	t.Helper()
	v := m.Graph.Lookup(name)
	if v == nil || v.Const() == nil {
		t.Fatalf("no constant %q", name)
	}
	vals := passtest.Values(t, m, name)
	var node *graph.Node
	for _, u := range v.Uses() {
		if _, ok := passes.LayoutOf(u.Node); ok {
			node = u.Node
		}
	}
	l, _ := passes.LayoutOf(node)
	mat, err := l.Matrix(node, v.Const().Dims())
	if err != nil {
		t.Fatal(err)
	}
	for r := range mat.Rows {
		for c := 0; c < mat.Cols; c += mm {
			zeros := 0
			for k := range mm {
				if vals[mat.Index(r, c+k)] == 0 {
					zeros++
				}
			}
			if zeros < mm-n {
				t.Fatalf("%s: row %d, columns %d..%d have %d zeros, want >= %d", name, r, c, c+mm-1, zeros, mm-n)
			}
		}
	}
}

func runtime(t *testing.T) { t.Helper(); testenv.Runtime(t) }
