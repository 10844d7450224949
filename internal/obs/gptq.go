package obs

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// GPTQ quantizes w with the optimal brain surgeon sweep of Frantar et al.
// (2022): columns are quantized one at a time (in the original order, or
// by decreasing H_jj with ActOrder) and each rounding error is compensated
// on the row's not yet quantized weights through the inverse Hessian's
// Cholesky factor, with lazy batch updates per block. Without ActOrder a
// group's scale and zero point are fixed when the sweep reaches its first
// column, from the weights updated so far; with ActOrder (or one group per
// row) they are fixed from w before the sweep (see QuantOptions.ActOrder).
// Codes, scales and zero points are in the original column order. Columns
// of features never active in calibration are set to zero. w is not
// modified.
func GPTQ(h *Hessian, w Weight, q QuantOptions, o SweepOptions) (*Quantized, error) {
	if err := h.ready(w, "gptq"); err != nil {
		return nil, err
	}
	if err := q.check(w.Cols); err != nil {
		return nil, fmt.Errorf("gptq: %w", err)
	}
	var perm []int
	if q.ActOrder {
		perm = make([]int, w.Cols)
		for j := range perm {
			perm[j] = j
		}
		slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(h.cs.sq[b], h.cs.sq[a]) })
	}
	group := q.groupSize(w.Cols)
	multiple := group
	if perm != nil || group == w.Cols {
		multiple = 1 // static groups: no group needs to fit in a block
	}
	f, wz, err := prepare(h, w, o, perm, multiple)
	if err != nil {
		return nil, fmt.Errorf("gptq: %w", err)
	}
	res := newQuantized(w.Rows, w.Cols, q)
	ru := &quantRule{q: res, perm: perm, symmetric: q.Symmetric, static: multiple == 1}
	if q.Search {
		// Dead features (H_jj = 0) still weigh a little, so that a group
		// of them keeps a grid that fits its weights.
		ru.d = make([]float64, w.Cols)
		floor := 1e-6 * h.liveMeanDiag()
		for j := range ru.d {
			ru.d[j] = h.diag(j) + floor
		}
	}
	if ru.static {
		for r := range wz.Rows {
			row := wz.Row(r)
			for g := 0; g < res.Groups(); g++ {
				lo, hi := g*group, min((g+1)*group, w.Cols)
				res.setParams(r, g, row[lo:hi], q.Symmetric, ru.weights(lo, hi))
			}
		}
	}
	if perm != nil {
		wz = permuteColumns(wz, perm)
	}
	out := f.sweep(wz, ru)
	if perm != nil {
		out = unpermuteColumns(out, perm)
	}
	res.Dequantized = out
	return res, nil
}

// quantRule rounds each weight to its group's grid.
type quantRule struct {
	q         *Quantized
	perm      []int
	symmetric bool
	static    bool
	d         []float64 // per-column weights of the grid search; nil without
}

// weights returns the grid search's weights of columns [lo, hi) in the
// original order, or nil without the search.
func (ru *quantRule) weights(lo, hi int) []float64 {
	if ru.d == nil {
		return nil
	}
	return ru.d[lo:hi]
}

func (ru *quantRule) begin(r, i1 int, w, d []float32) {}

func (ru *quantRule) value(r, i1, k int, w, d []float32) float32 {
	j := i1 + k
	if ru.perm != nil {
		j = ru.perm[j]
	} else if !ru.static && j%ru.q.Group == 0 {
		end := min(k+ru.q.Group, len(w))
		ru.q.setParams(r, j/ru.q.Group, w[k:end], ru.symmetric, ru.weights(j, j+end-k))
	}
	return ru.q.quantize(r, j, w[k])
}

// ChooseDamp picks, among damps, the dampening (SweepOptions.Damp) whose
// GPTQ quantization of w generalizes best from one half of the
// calibration data to the other: h holds the Hessians of two folds (a
// caller splits by sample, so that the rows of one image or sequence stay
// together); each candidate quantizes w by GPTQ on one fold's Hessian and
// is scored by the layer's output error on the other fold,
// tr((W−Q)·H'·(W−Q)ᵀ), both ways round. A candidate that leaves a fold's
// Hessian indefinite scores +Inf. It returns the best damp and every
// candidate's summed held-out error; w is not changed. Each candidate
// costs two GPTQ sweeps.
func ChooseDamp(h [2]*Hessian, w Weight, q QuantOptions, o SweepOptions, damps []float64) (float64, []float64, error) {
	for k := range 2 {
		if h[k] == nil || h[k].Samples() == 0 {
			return 0, nil, fmt.Errorf("damp choice: fold %d has no calibration rows", k)
		}
	}
	return crossValidate("damp", damps, func(damp float64, k int) (float64, error) {
		o.Damp = damp
		res, err := GPTQ(h[k], w, q, o)
		if errors.Is(err, errIndefinite) {
			return math.Inf(1), nil
		}
		if err != nil {
			return 0, fmt.Errorf("damp choice: damp %v, fold %d: %w", damp, k, err)
		}
		diff := res.Dequantized
		for i, v := range w.Data {
			diff.Data[i] = v - diff.Data[i]
		}
		return h[1-k].energy(diff), nil
	})
}
