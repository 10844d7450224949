package obs

import (
	"math"
	"testing"
)

func TestColumnStats(t *testing.T) {
	const c = 3
	x := []float32{1, 0, -2, 3, 0, 2, -1, 0, 4}
	a, b := NewColumnStats(c), NewColumnStats(c)
	if err := a.Add(x[:3]); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(x[3:]); err != nil {
		t.Fatal(err)
	}
	if err := a.Add([]float32{1, float32(math.Inf(1)), 0}); err == nil {
		t.Error("an infinite activation was accepted")
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(NewColumnStats(2)); err == nil {
		t.Error("merged 2 features into 3")
	}
	mean, norms := a.Mean(), a.Norms()
	want := [][2]float64{{1, math.Sqrt(11)}, {0, 0}, {4.0 / 3, math.Sqrt(24)}}
	for j, w := range want {
		if math.Abs(mean[j]-w[0]) > 1e-12 || math.Abs(norms[j]-w[1]) > 1e-12 {
			t.Errorf("feature %d: mean %v norm %v, want %v", j, mean[j], norms[j], w)
		}
	}
	if a.Samples() != 3 || a.active(1) || !a.active(0) {
		t.Errorf("%d rows, feature 1 active %v", a.Samples(), a.active(1))
	}
}
