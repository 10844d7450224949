package repair_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// evalSeed draws evaluation inputs; calibration uses the pass's default
// seed 1, so the figures are on held-out data.
const evalSeed = 1234

// relErr runs both models on 8 held-out random samples and returns the
// largest relative L2 error over the outputs.
func relErr(t *testing.T, ref, cand *graph.Model, shapes ort.Shapes, seed int64) float64 {
	t.Helper()
	dir := t.TempDir()
	rp, cp := filepath.Join(dir, "ref.onnx"), filepath.Join(dir, "cand.onnx")
	for p, m := range map[string]*graph.Model{rp: ref, cp: cand} {
		if err := m.WriteFile(p, onnx.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify.Verify(rp, cp, verify.Config{Samples: 8, Seed: seed, Shapes: shapes, Tolerance: verify.DefaultTolerance})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, d := range rep.Outputs {
		worst = max(worst, d.RelL2)
	}
	return worst
}

// compressed runs pipeline over a copy of m and returns it.
func compressed(t *testing.T, m *graph.Model, pipeline string) (*graph.Model, string) {
	t.Helper()
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	rep := passtest.Run(t, c, pipeline, 0)
	var notes string
	for _, n := range rep.Notes {
		notes += n + "\n"
	}
	return c, notes
}
