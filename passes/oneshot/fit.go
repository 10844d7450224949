package oneshot

import (
	"fmt"
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
	var outs []obs.Weight
	if cfg.Method == SparseGPT {
		outs, err = obs.SparseGPTGroups(l.hess, ws, l.Pattern, cfg.Sweep)
	} else {
		outs, err = obs.WandaGroups(l.featureNorms(), ws, l.Pattern)
	}
	if err != nil {
		return nil, err
	}
	for i, w := range ws {
		copy(w.Data, outs[i].Data)
	}
	l.hess, l.norms = nil, nil
	next := make([]float32, len(vals))
	if err := l.Matrix.FromRows(next, full); err != nil {
		return nil, err
	}
	r := &Result{Layer: l.Layer, Level: l.level, Total: int64(len(vals))}
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
	tr.Detail = fmt.Sprintf("%s %s, level %d: zeroed %d of %d, updated %d, made %d earlier zeros nonzero; fit %s, capture %s",
		method, r.Pattern, r.Level, r.Zeroed, r.Total, r.Updated, r.Revived, r.Fit.Round(time.Microsecond), r.Capture.Round(time.Microsecond))
	ctx.Tensor(tr)
	if r.Zeroed > 0 || r.Updated > 0 || r.Revived > 0 {
		ctx.Report.TensorsTouched++
		ctx.Report.WeightsZeroed += r.Zeroed
	}
}
