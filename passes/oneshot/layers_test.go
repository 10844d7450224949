package oneshot_test

import (
	"math"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/ort"
)

// TestSpreadLayers: layers=owl and layers=error give the layers
// different sparsities (the planted MLP's layers differ in outliers and
// sizes) and the weights removed still add up to the sparsity of all the
// selected weights, up to rounding (per layer, and per row for Wanda's
// per-row mask: 0.1% here).
func TestSpreadLayers(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	_, uni := compress(t, orig, "prune(sparsity=0.5,shapes=input:64x64,samples=8,method=sparsegpt)")
	for _, method := range []string{"wanda,layers=owl", "sparsegpt,layers=owl", "wanda,layers=error", "sparsegpt,layers=error"} {
		_, rep := compress(t, orig, "prune(sparsity=0.5,shapes=input:64x64,samples=8,method="+method+")")
		// The spread's capture of the unpruned model is counted.
		if c, u := rep.Extra["captures"].(int), uni.Extra["captures"].(int); c <= u {
			t.Errorf("%s: %d captures, uniform %d: the spread's capture is not counted", method, c, u)
		}
		sp, ok := rep.Extra["layer_sparsity"].(map[string]float64)
		if !ok || len(sp) < 2 {
			t.Fatalf("%s: report's layer_sparsity is %v", method, rep.Extra["layer_sparsity"])
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range sp {
			lo, hi = min(lo, s), max(hi, s)
		}
		if !(hi-lo > 0.05) {
			t.Errorf("%s: layer sparsities %v are all alike", method, sp)
		}
		var zeros, total float64
		for _, tr := range rep.Tensors {
			n := 1.0
			for _, d := range tr.Shape {
				n *= float64(d)
			}
			zeros += tr.SparsityAfter * n
			total += n
		}
		if d := math.Abs(zeros - 0.5*total); d > 0.001*total {
			t.Errorf("%s: %v of %v weights zero, want half (±0.1%%)", method, zeros, total)
		}
	}
}

// TestDampsFolds: with damps= the rows are accumulated in two folds and
// summed for the fit, so when cross-validation picks a candidate (here the
// only reasonable one: 1000 would erase the Hessian) the weights are those
// damp= with it gives, up to the order of the sums; each layer's detail
// names the damp.
func TestDampsFolds(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	const opts = "prune(sparsity=0.5,shapes=input:64x64,samples=8,method=sparsegpt,"
	fixed, _ := compress(t, orig, opts+"damp=0.01)")
	chosen, rep := compress(t, orig, opts+"damps=0.01|1000)")
	for _, tr := range rep.Tensors {
		if !strings.Contains(tr.Detail, "damp 0.01 (cross-validated)") {
			t.Errorf("%s: %q", tr.Name, tr.Detail)
		}
	}
	if d := relL2(t, fixed, chosen, ort.Shapes{"input": {64, 64}}, 2); d > 1e-4 {
		t.Errorf("damps= choosing 0.01 is %.2g away from damp=0.01", d)
	}
}
