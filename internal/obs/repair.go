package obs

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Repair re-fits the kept weights of comp (its nonzeros) to reproduce the
// original layer on the calibration activations: for every row r it solves
// the ridge problem
//
//	min ‖X·w − X·orig_r‖² + λ‖w‖²  over w with w_j = 0 where comp_rj = 0,
//
// through the normal equations (H_KK + λ'I)·w_K = (H·orig_r)_K on the
// kept set K, with λ' = ridge·mean(diag H) (so ridge is relative to the
// activation energy, like Damp). Kept features never active in calibration
// are set to zero when ridge is 0 (nothing determines them). comp is
// changed in place. The cost is one Cholesky of |K|×|K| per row, so it
// suits small layers or rows sharing few kept weights.
func Repair(h *Hessian, orig, comp Weight, ridge float64) error {
	if err := h.ready(orig, "repair"); err != nil {
		return err
	}
	if err := comp.check("repair"); err != nil {
		return err
	}
	if comp.Rows != orig.Rows || comp.Cols != orig.Cols {
		return fmt.Errorf("repair: compressed weight is %dx%d, original %dx%d", comp.Rows, comp.Cols, orig.Rows, orig.Cols)
	}
	if ridge < 0 {
		return fmt.Errorf("repair: ridge %v is negative", ridge)
	}
	c := h.cols
	hf := make([]float64, c*c)
	mean := 0.0
	for i := range c {
		for j := i; j < c; j++ {
			v := h.At(i, j)
			hf[i*c+j], hf[j*c+i] = v, v
		}
		mean += hf[i*c+i]
	}
	lambda := ridge * mean / float64(c)
	errs := make([]error, comp.Rows)
	forChunks(comp.Rows, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			errs[r] = repairRow(hf, c, lambda, orig.Row(r), comp.Row(r))
		}
	})
	for r, err := range errs {
		if err != nil {
			return fmt.Errorf("repair: row %d: %w", r, err)
		}
	}
	return nil
}

func repairRow(hf []float64, c int, lambda float64, orig, row []float32) error {
	var keep []int
	for j, v := range row {
		if v != 0 && (lambda > 0 || hf[j*c+j] > 0) {
			keep = append(keep, j)
		} else {
			row[j] = 0
		}
	}
	k := len(keep)
	if k == 0 {
		return nil
	}
	a := mat.NewSymDense(k, nil)
	b := mat.NewVecDense(k, nil)
	for p, i := range keep {
		for q := p; q < k; q++ {
			a.SetSym(p, q, hf[i*c+keep[q]])
		}
		a.SetSym(p, p, a.At(p, p)+lambda)
		s := 0.0
		for j, w := range orig {
			s += hf[i*c+j] * float64(w)
		}
		b.SetVec(p, s)
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return fmt.Errorf("the %d kept features' Hessian is singular; use ridge > 0", k)
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, b); err != nil {
		return err
	}
	for p, j := range keep {
		row[j] = float32(x.AtVec(p))
	}
	return nil
}

// CorrectBias adds mean(X)·(orig − comp)ᵀ to bias (one entry per row), so
// the compressed layer's output keeps the original's mean on the
// calibration activations. bias is changed in place.
func CorrectBias(h *Hessian, orig, comp Weight, bias []float32) error {
	if err := h.ready(orig, "bias correction"); err != nil {
		return err
	}
	if comp.Rows != orig.Rows || comp.Cols != orig.Cols || len(comp.Data) != len(orig.Data) {
		return fmt.Errorf("bias correction: compressed weight is %dx%d, original %dx%d", comp.Rows, comp.Cols, orig.Rows, orig.Cols)
	}
	if len(bias) != orig.Rows {
		return fmt.Errorf("bias correction: bias has %d entries for %d rows", len(bias), orig.Rows)
	}
	mean := h.Mean()
	for r := range bias {
		o, q := orig.Row(r), comp.Row(r)
		s := 0.0
		for j, m := range mean {
			s += m * float64(o[j]-q[j])
		}
		bias[r] += float32(s)
	}
	return nil
}
