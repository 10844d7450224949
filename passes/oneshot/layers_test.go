package oneshot_test

import (
	"math"
	"testing"
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
