package oneshot

import (
	"fmt"
	"slices"
	"time"

	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
)

// fit sparsifies the layer's weight from its statistics, writes it back
// in the tensor's own type and frees the statistics.
func fit(l *layer, cfg Config) (*Result, error) {
	start := time.Now()
	t := l.Weight.Tensor
	vals, full, ws, err := l.matrices()
	if err != nil {
		return nil, err
	}
	if l.Pattern.M == 0 && l.Pattern.Scope == obs.DefaultScope {
		l.Pattern.Scope = cfg.Scope
	}
	if err := l.mergeFolds(); err != nil {
		return nil, err
	}
	var anchors []*obs.AnchorFit
	if cfg.Anchor > 0 {
		// target=original: compress the weight that reproduces the
		// original layer's outputs from the inputs the layer now gets
		// (the weight itself when they are the original's: no cross
		// products were taken).
		for g, w := range ws {
			orig := obs.Weight{Rows: w.Rows, Cols: w.Cols, Data: slices.Clone(w.Data)}
			var cross *obs.Cross
			if l.cross != nil {
				cross = l.cross[g]
			}
			f, err := obs.NewAnchorFit(l.hess[g], cross, orig, cfg.Anchor)
			if err != nil {
				return nil, fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
			}
			a, err := f.Weight()
			if err != nil {
				return nil, fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
			}
			copy(w.Data, a.Data)
			anchors = append(anchors, f)
		}
	}
	var outs []obs.Weight
	damp := 0.0
	if cfg.Method == SparseGPT {
		sweep := cfg.Sweep
		if l.folds != nil && split(l.folds) {
			if damp, _, err = obs.ChooseSparseDamp(l.folds, ws, l.Pattern, sweep, cfg.Damps); err != nil {
				return nil, fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
			}
			sweep.Damp = damp
		}
		outs, err = obs.SparseGPTGroups(l.hess, ws, l.Pattern, sweep)
	} else {
		outs, err = obs.WandaGroups(l.featureNorms(), ws, l.Pattern)
	}
	if err != nil {
		return nil, err
	}
	for g, f := range anchors {
		// The mask is chosen: move its kept weights towards the fit of
		// the original outputs (the method's own update is a greedy
		// one, or none for Wanda).
		if _, err := f.Refit(outs[g]); err != nil {
			return nil, fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
		}
	}
	for i, w := range ws {
		copy(w.Data, outs[i].Data)
	}
	l.hess, l.norms, l.folds, l.cross = nil, nil, nil, nil
	next := make([]float32, len(vals))
	if err := l.Matrix.FromRows(next, full); err != nil {
		return nil, err
	}
	r := &Result{Layer: l.Layer, Level: l.level, Total: int64(len(vals)), Damp: damp, Anchored: anchors != nil}
	for i, v := range vals {
		switch {
		case v == 0:
			r.Zeros++
			if next[i] != 0 {
				r.Revived++
			}
		case next[i] == 0:
			r.Zeroed++
		case next[i] != v:
			r.Updated++
		}
	}
	if r.Zeroed > 0 || r.Updated > 0 || r.Revived > 0 {
		if err := t.SetFloats(next); err != nil {
			return nil, err
		}
	}
	r.Fit = time.Since(start)
	return r, nil
}

// mergeFolds sums each group's two folds into its Hessian (the folds
// were accumulated instead of it, each row once).
func (l *layer) mergeFolds() error {
	for g, f := range l.folds {
		h, err := f.Sum()
		if err != nil {
			return err
		}
		l.hess[g] = h
	}
	return nil
}

// split reports whether every group's folds both have rows (a single
// calibration sample leaves one empty: damp= is used).
func split(folds []obs.Folds) bool {
	for _, f := range folds {
		if !f.Split() {
			return false
		}
	}
	return true
}

// matrices returns the weight's values, their [rows, cols] matrix view
// and that view's groups (sharing full's data).
func (l *layer) matrices() (vals, full []float32, ws []obs.Weight, err error) {
	if vals, err = l.Weight.Tensor.Floats(); err != nil {
		return nil, nil, nil, err
	}
	if full, err = l.Matrix.ToRows(vals); err != nil {
		return nil, nil, nil, err
	}
	g := l.groups()
	per, cols := l.Matrix.Rows/g, l.Matrix.Cols
	ws = make([]obs.Weight, g)
	for i := range g {
		ws[i] = obs.Weight{Rows: per, Cols: cols, Data: full[i*per*cols : (i+1)*per*cols]}
	}
	return vals, full, ws, nil
}

// report records a layer's result in the pass report.
func report(ctx *passes.Context, method string, r *Result) {
	tr := passes.TensorReport{Name: r.Weight.Value.Name, Shape: r.Weight.Tensor.Dims()}
	if r.Total > 0 {
		tr.SparsityBefore = float64(r.Zeros) / float64(r.Total)
		tr.SparsityAfter = float64(r.Zeros-r.Revived+r.Zeroed) / float64(r.Total)
	}
	damp := ""
	if r.Damp > 0 {
		damp = fmt.Sprintf(" damp %g (cross-validated),", r.Damp)
	}
	if r.Anchored {
		damp += " fitted to the original outputs,"
	}
	tr.Detail = fmt.Sprintf("%s %s, level %d:%s zeroed %d of %d, updated %d, made %d earlier zeros nonzero; fit %s, capture %s",
		method, r.Pattern, r.Level, damp, r.Zeroed, r.Total, r.Updated, r.Revived, r.Fit.Round(time.Microsecond), r.Capture.Round(time.Microsecond))
	ctx.Tensor(tr)
	if r.Zeroed > 0 || r.Updated > 0 || r.Revived > 0 {
		ctx.Report.TensorsTouched++
		ctx.Report.WeightsZeroed += r.Zeroed
	}
}
