package obs

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// maskedCG solves, for every row r of w, the normal equations restricted
// to the row's kept set K (mask_rj = 1): (A·x_r)_K = (b_r)_K with x_r zero
// off K, A symmetric c×c and positive definite on every kept set. All rows
// run Jacobi-preconditioned conjugate gradients together, warm-started
// from w, so one iteration is one [active rows, c]·[c, c] product. A row
// stops when ‖(b_r − A·x_r)_K‖ ≤ tol·‖(b_r)_K‖. The solution is written to
// w; it returns the iterations run and the largest relative residual left.
func maskedCG(a, b, mask []float64, w Weight, tol float64, maxIter int) (int, float64) {
	rows, c := w.Rows, w.Cols
	impl := gonum.Implementation{}
	x := make([]float64, rows*c)
	for i, v := range w.Data {
		x[i] = float64(v) * mask[i]
	}
	res := make([]float64, rows*c)
	impl.Dgemm(blas.NoTrans, blas.NoTrans, rows, c, c, 1, x, c, a, c, 0, res, c)
	inv := make([]float64, c) // Jacobi preconditioner
	for j := range c {
		if d := a[j*c+j]; d > 0 {
			inv[j] = 1 / d
		}
	}
	z := make([]float64, rows*c)
	p := make([]float64, rows*c)
	rz := make([]float64, rows)
	bnorm := make([]float64, rows)
	rel := make([]float64, rows)
	forChunks(rows, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := r * c
			var bb, rr, s float64
			for j := range c {
				m := mask[o+j]
				bb += m * b[o+j] * b[o+j]
				v := m * (b[o+j] - res[o+j])
				res[o+j] = v
				rr += v * v
				z[o+j] = v * inv[j]
				p[o+j] = z[o+j]
				s += v * z[o+j]
			}
			bnorm[r], rz[r] = math.Sqrt(bb), s
			rel[r] = relative(math.Sqrt(rr), bnorm[r])
		}
	})
	var active []int
	for r := range rows {
		if bnorm[r] == 0 {
			clear(x[r*c : (r+1)*c]) // nothing to fit: the solution is 0
			rel[r] = 0
		} else if rel[r] > tol {
			active = append(active, r)
		}
	}
	iter := 0
	pa := make([]float64, len(active)*c)
	q := make([]float64, len(active)*c)
	for ; iter < maxIter && len(active) > 0; iter++ {
		na := len(active)
		pa, q = pa[:na*c], q[:na*c]
		for i, r := range active {
			copy(pa[i*c:(i+1)*c], p[r*c:(r+1)*c])
		}
		impl.Dgemm(blas.NoTrans, blas.NoTrans, na, c, c, 1, pa, c, a, c, 0, q, c)
		forChunks(na, 8, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r, o, qi := active[i], active[i]*c, q[i*c:(i+1)*c]
				var pq float64
				for j := range c {
					qi[j] *= mask[o+j]
					pq += p[o+j] * qi[j]
				}
				if pq <= 0 {
					rel[r] = 0 // converged exactly (or A is singular here)
					continue
				}
				alpha := rz[r] / pq
				var rr, s float64
				for j := range c {
					x[o+j] += alpha * p[o+j]
					v := res[o+j] - alpha*qi[j]
					res[o+j] = v
					rr += v * v
					z[o+j] = v * inv[j]
					s += v * z[o+j]
				}
				beta := s / rz[r]
				rz[r] = s
				for j := range c {
					p[o+j] = z[o+j] + beta*p[o+j]
				}
				rel[r] = relative(math.Sqrt(rr), bnorm[r])
			}
		})
		next := active[:0]
		for _, r := range active {
			if rel[r] > tol {
				next = append(next, r)
			}
		}
		active = next
	}
	worst := 0.0
	for r := range rows {
		worst = max(worst, rel[r])
	}
	for i, v := range x {
		w.Data[i] = float32(v)
	}
	return iter, worst
}

func relative(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
