package oneshot_test

import (
	"math"
	"testing"
)

// TestOWLLayers: layers=owl gives the layers different sparsities (the
// planted MLP's layers differ in outliers) and the weights removed still
// add up to the sparsity of all the selected weights, up to one weight
// of rounding per layer.
func TestOWLLayers(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	for _, method := range []string{"wanda", "sparsegpt"} {
		_, rep := compress(t, orig, "prune(sparsity=0.5,layers=owl,shapes=input:64x64,samples=8,method="+method+")")
		sp, ok := rep.Extra["owl_sparsity"].(map[string]float64)
		if !ok || len(sp) < 2 {
			t.Fatalf("%s: report's owl_sparsity is %v", method, rep.Extra["owl_sparsity"])
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
		if d := math.Abs(zeros - 0.5*total); d > float64(len(rep.Tensors)) {
			t.Errorf("%s: %v of %v weights zero, want half (±%d)", method, zeros, total, len(rep.Tensors))
		}
	}
}
