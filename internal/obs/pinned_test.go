package obs

import "testing"

// TestEarlierZerosStayPruned: SparseGPT on a weight an earlier pass pruned
// keeps every zero it was given (its compensation would otherwise make
// some nonzero again), in every mask form.
func TestEarlierZerosStayPruned(t *testing.T) {
	const rows, cols = 16, 64
	l := newLayer(cols, 5)
	h := hessianOf(t, l.sample(256, 6), cols)
	w := magnitude(randomWeight(rows, cols, 7), Pattern{Sparsity: 0.7})
	before := zeros(w.Data)
	for _, p := range []Pattern{
		{Sparsity: 0.5, Scope: Row},
		{Sparsity: 0.5, Scope: Layer},
		{N: 2, M: 4},
	} {
		got, err := SparseGPT(h, w, p, SweepOptions{BlockSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range w.Data {
			if v == 0 && got.Data[i] != 0 {
				t.Fatalf("%v: weight %d was zero before and is %g after", p, i, got.Data[i])
			}
		}
		if z := zeros(got.Data); z < before {
			t.Errorf("%v: %d zeros after, fewer than the %d before", p, z, before)
		}
	}
}
