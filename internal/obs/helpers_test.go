package obs

import (
	"math"
	"math/rand/v2"
	"testing"
)

// layer is a planted calibration problem: features with a shared low-rank
// component (so they correlate) and a few with much larger variance.
type layer struct {
	cols  int
	scale []float64   // per-feature standard deviation multiplier
	load  [][]float64 // latent factor loadings [factors][cols]
}

func newLayer(cols int, seed uint64) *layer {
	r := rand.New(rand.NewPCG(seed, 1))
	l := &layer{cols: cols, scale: make([]float64, cols)}
	for j := range l.scale {
		l.scale[j] = 1
		if r.IntN(20) == 0 {
			l.scale[j] = 12
		}
	}
	for range 6 {
		f := make([]float64, cols)
		for j := range f {
			f[j] = r.NormFloat64()
		}
		l.load = append(l.load, f)
	}
	return l
}

// sample draws n activation rows [n, cols] with its own seed.
func (l *layer) sample(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*l.cols)
	z := make([]float64, len(l.load))
	for i := range n {
		for k := range z {
			z[k] = r.NormFloat64()
		}
		for j := range l.cols {
			v := 0.5 * r.NormFloat64()
			for k, f := range l.load {
				v += z[k] * f[j]
			}
			x[i*l.cols+j] = float32(v * l.scale[j])
		}
	}
	return x
}

func randomWeight(rows, cols int, seed uint64) Weight {
	r := rand.New(rand.NewPCG(seed, 3))
	w := NewWeight(rows, cols)
	for i := range w.Data {
		w.Data[i] = float32(r.NormFloat64())
	}
	return w
}

func hessianOf(t testing.TB, x []float32, cols int) *Hessian {
	t.Helper()
	h := NewHessian(cols)
	if err := h.Add(x); err != nil {
		t.Fatal(err)
	}
	return h
}

// outputError returns ‖X·Wcᵀ − X·Wᵀ‖ / ‖X·Wᵀ‖ in float64.
func outputError(x []float32, w, wc Weight) float64 {
	n := len(x) / w.Cols
	num, den := 0.0, 0.0
	for i := range n {
		xi := x[i*w.Cols : (i+1)*w.Cols]
		for r := range w.Rows {
			a, b := 0.0, 0.0
			for j, v := range xi {
				a += float64(v) * float64(w.Data[r*w.Cols+j])
				b += float64(v) * float64(wc.Data[r*w.Cols+j])
			}
			num += (a - b) * (a - b)
			den += a * a
		}
	}
	return math.Sqrt(num / den)
}

// magnitude prunes w by |w| per row (the baseline without calibration):
// Wanda's selection with every feature norm 1.
func magnitude(w Weight, p Pattern) Weight {
	ones := make([]float64, w.Cols)
	for j := range ones {
		ones[j] = 1
	}
	p.Scope = Row
	out, err := WandaNorms(ones, w, p)
	if err != nil {
		panic(err) // the tests' patterns are valid
	}
	return out
}

func zeros(v []float32) int {
	n := 0
	for _, x := range v {
		if x == 0 {
			n++
		}
	}
	return n
}

// everyFourthGone returns w without its input features j%4 == 0 (as
// channel pruning leaves a layer) and the features kept.
func everyFourthGone(w Weight) (Weight, []int) {
	var keep []int
	for j := range w.Cols {
		if j%4 != 0 {
			keep = append(keep, j)
		}
	}
	comp := NewWeight(w.Rows, len(keep))
	for r := range w.Rows {
		for p, j := range keep {
			comp.Data[r*comp.Cols+p] = w.Data[r*w.Cols+j]
		}
	}
	return comp, keep
}
