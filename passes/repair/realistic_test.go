package repair_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/synthdata"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// realisticSet writes n samples of a synthdata kind drawn with seed to a
// test-data folder and returns it.
func realisticSet(t *testing.T, kind string, shape []int64, n int, seed int64) string {
	t.Helper()
	ss, err := synthdata.Generate(kind, shape, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := synthdata.Lookup(kind)
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d", kind, seed))
	if err := synthdata.WriteDir(dir, k.Input, ss); err != nil {
		t.Fatal(err)
	}
	return dir
}

// relErrOn returns the largest relative L2 error over the outputs of cand
// against ref on the inputs in dir.
func relErrOn(t *testing.T, ref, cand *graph.Model, dir string) float64 {
	t.Helper()
	tmp := t.TempDir()
	rp, cp := filepath.Join(tmp, "ref.onnx"), filepath.Join(tmp, "cand.onnx")
	for p, m := range map[string]*graph.Model{rp: ref, cp: cand} {
		if err := m.WriteFile(p, onnx.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify.Verify(rp, cp, verify.Config{InputDir: dir, Tolerance: verify.DefaultTolerance, Options: ort.Options{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, d := range rep.Outputs {
		worst = max(worst, d.RelL2)
	}
	return worst
}

// realisticRepair calibrates repair on realistic inputs drawn with seed 1
// and checks, on a set drawn with seed 2, that it divides the error
// prune-channels(ratio=0.25) leaves by at least factor (issue #13: 2);
// factor 0 only logs the figures.
func realisticRepair(t *testing.T, model, kind string, shape []int64, calib, eval int, factor float64) {
	testenv.Runtime(t)
	m, err := graph.ReadFile(testenv.Model(t, model))
	if err != nil {
		t.Fatal(err)
	}
	cal := realisticSet(t, kind, shape, calib, 1)
	ev := realisticSet(t, kind, shape, eval, 2)
	const lossy = "prune-channels(ratio=0.25)"
	lost, _ := compressed(t, m, lossy)
	fixed, _ := compressed(t, m, lossy+fmt.Sprintf(",repair(calib=%s,samples=%d)", cal, calib))
	before, after := relErrOn(t, m, lost, ev), relErrOn(t, m, fixed, ev)
	t.Logf("%s %s: held-out rel L2 %.4f, with repair %.4f (%.1fx)", model, lossy, before, after, before/after)
	if factor > 0 && after > before/factor {
		t.Errorf("%s: repair took the held-out error from %.4f to %.4f, want it divided by %g", model, before, after, factor)
	}
}

// TestRealisticRepairPPOCRCls: PP-OCR's direction classifier on rendered
// text lines. Logged, not asserted: repair does not halve the error here
// (it grows; BENCHMARKS.md, "Repair").
func TestRealisticRepairPPOCRCls(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a real model layer by layer")
	}
	realisticRepair(t, "ppocr-cls.onnx", "ppocr-cls", []int64{1, 3, 48, 192}, 16, 16, 0)
}
