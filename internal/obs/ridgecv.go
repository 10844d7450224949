package obs

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// ChooseRidge picks, among ridges, the ridge whose [Refit] generalizes
// best from one half of the calibration data to the other: the rows were
// accumulated in two folds (h[k], t[k]; a caller splits by sample, so
// that rows of one image or sequence stay together), each candidate
// refits comp on one fold, bias included ([CorrectMean]), and is scored
// by its squared error on the other fold's targets, both ways round. It
// returns the best ridge and every candidate's summed held-out error;
// comp is not changed. Each candidate costs two refits.
//
// The held-out error is computed from the other fold's statistics (X'ᵀX',
// X'ᵀY, the sums of X', Y and Y²), never from its rows.
func ChooseRidge(h [2]*Hessian, t [2]*Targets, comp Weight, ridges []float64) (float64, []float64, error) {
	for k := range 2 {
		if h[k] == nil || t[k] == nil || h[k].Samples() == 0 {
			return 0, nil, fmt.Errorf("ridge choice: fold %d has no calibration rows", k)
		}
	}
	return crossValidate("ridge", ridges, func(ridge float64, k int) (float64, error) {
		w := comp.Clone()
		if _, err := Refit(h[k], t[k], w, ridge); err != nil {
			return 0, fmt.Errorf("ridge choice: ridge %v, fold %d: %w", ridge, k, err)
		}
		bias := make([]float32, w.Rows)
		if err := CorrectMean(w, t[k].MeanX(), t[k].MeanY(), bias); err != nil {
			return 0, err
		}
		return heldOutError(h[1-k], t[1-k], w, bias)
	})
}

// crossValidate is the split-half choice ChooseRidge and ChooseDamp
// share: every candidate (a positive number) is fitted on fold k and
// scored on the other fold by score(candidate, k), for k = 0 and 1; the
// candidate with the least summed score wins (the first on ties). A
// candidate scored +Inf (one whose fit is impossible, such as a Hessian
// left indefinite by too little dampening) can lose but not win: when
// every candidate is +Inf, the first fit's error is returned.
func crossValidate(what string, cands []float64, score func(c float64, k int) (float64, error)) (float64, []float64, error) {
	if len(cands) == 0 {
		return 0, nil, fmt.Errorf("%s choice: no candidates", what)
	}
	scores := make([]float64, len(cands))
	best := -1
	for i, c := range cands {
		if c <= 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return 0, nil, fmt.Errorf("%s choice: candidate %v is not a positive number", what, c)
		}
		for k := range 2 {
			e, err := score(c, k)
			if err != nil {
				return 0, nil, err
			}
			scores[i] += e
		}
		if best < 0 || scores[i] < scores[best] {
			best = i
		}
	}
	if math.IsInf(scores[best], 1) {
		return 0, nil, fmt.Errorf("%s choice: no candidate could be fitted", what)
	}
	return cands[best], scores, nil
}

// heldOutError returns Σ_rows Σ_r (x·w_r + bias_r − y_r)² over the rows
// accumulated in h and t, from their statistics: with G = X'ᵀX', s the
// column sums of X', q_r = X'ᵀy_r,
//
//	wᵀGw + 2·b·(s·w) + n·b² − 2·w·q_r − 2·b·Σy_r + Σy_r².
func heldOutError(h *Hessian, t *Targets, w Weight, bias []float32) (float64, error) {
	if err := h.ready(w, "held-out error"); err != nil {
		return 0, err
	}
	if t.cols != w.Cols || t.rows != w.Rows || t.n != h.n {
		return 0, fmt.Errorf("held-out error: targets are %d rows of %d features x %d outputs, the weight %dx%d, the Hessian %d rows", t.n, t.cols, t.rows, w.Rows, w.Cols, h.n)
	}
	c, n := w.Cols, float64(h.n)
	g := make([]float64, c*c) // X'ᵀX'
	for i := range c {
		for j := i; j < c; j++ {
			v := h.At(i, j) * n / 2
			g[i*c+j], g[j*c+i] = v, v
		}
	}
	wd := make([]float64, len(w.Data))
	for i, v := range w.Data {
		wd[i] = float64(v)
	}
	gw := make([]float64, len(wd)) // rows x c: w·G
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, w.Rows, c, c, 1, wd, c, g, c, 0, gw, c)
	mean := h.Mean()
	total := 0.0
	for r := range w.Rows {
		wr, b := wd[r*c:(r+1)*c], float64(bias[r])
		var quad, sw, wq float64
		for j, v := range wr {
			quad += v * gw[r*c+j]
			sw += v * mean[j] * n
			wq += v * t.xy[j*t.rows+r]
		}
		total += quad + 2*b*sw + n*b*b - 2*wq - 2*b*t.sumY[r] + t.sqY[r]
	}
	return math.Max(total, 0), nil
}
