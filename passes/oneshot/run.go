package oneshot

import (
	"fmt"
	"slices"
	"time"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// MaxStatsBytes bounds the statistics of the layers captured together: a
// level whose layers would need more is split into several captures.
var MaxStatsBytes int64 = 1 << 30

// Result is what Run did to one layer.
type Result struct {
	Layer
	Level   int     // the layer's level (0: fed by the model's inputs only)
	Total   int64   // elements of the weight
	Zeros   int64   // zeros before
	Zeroed  int64   // nonzero weights set to zero
	Updated int64   // kept weights whose value changed (SparseGPT's update)
	Revived int64   // zeros before that the update made nonzero
	Damp    float64 // SparseGPT's dampening, chosen by damps= (0: damp=)
	// Anchored: fitted to the original model's outputs (target=original).
	Anchored bool
	Fit      time.Duration
	Capture  time.Duration // of the capture the layer was part of
}

// Run sparsifies the layers with cfg.Method, level by level (see the
// package doc), and reports each layer it changed through ctx (a
// TensorReport, the touched and zeroed counts) and each it cannot
// calibrate as skipped. It returns the results in the order of layers.
func Run(ctx *passes.Context, m *graph.Model, layers []Layer, cfg Config) ([]Result, error) {
	if cfg.Method != Wanda && cfg.Method != SparseGPT {
		return nil, fmt.Errorf("oneshot: method %q is not a calibrated method", cfg.Method)
	}
	if m.Store != nil && m.Store.Streaming() {
		return nil, fmt.Errorf("method=%s runs the model through ONNX Runtime and cannot stream it: use method=magnitude on a model larger than memory, or a larger --max-memory", cfg.Method)
	}
	cfg.Calib.Threads = ctx.Threads
	var ref *graph.Model // the model as the pass found it, for target=original
	if cfg.Anchor > 0 {
		var err error
		if ref, err = m.Clone(); err != nil {
			return nil, err
		}
	}
	var ls []*layer
	for _, L := range layers {
		l, err := prepare(m, L)
		if err != nil {
			ctx.Skip(L.Weight.Value.Name, "%s: %v", cfg.Method, err)
			continue
		}
		if L.Matrix.Rows%l.groups() != 0 {
			ctx.Skip(L.Weight.Value.Name, "%s: %d rows do not split into %d groups", cfg.Method, L.Matrix.Rows, l.groups())
			continue
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, nil
	}
	if err := cfg.Calib.Check(ort.InputSpecs(m.ToProto())); err != nil {
		return nil, err
	}
	if err := assignLevels(m, ls); err != nil {
		return nil, err
	}
	var captures int // of the spread's statistics and of the fit
	if cfg.Layers != "" && cfg.Layers != Uniform {
		if err := spread(ctx, m, ls, cfg, &captures); err != nil {
			return nil, err
		}
	}
	byLevel := slices.Clone(ls)
	slices.SortStableFunc(byLevel, func(a, b *layer) int { return a.level - b.level })
	results := map[*layer]*Result{}
	var captureTime, fitTime time.Duration
	var few calib.FewRows // layers whose Hessian is under-determined
	for len(byLevel) > 0 {
		batch := nextBatch(byLevel, cfg)
		byLevel = byLevel[len(batch):]
		start := time.Now()
		// The first level's inputs are the original's: nothing before it
		// is pruned, so it needs no second model (obs.NewAnchorFit).
		levelRef := ref
		if batch[0].level == 0 {
			levelRef = nil
		}
		if err := capture(m, levelRef, batch, cfg); err != nil {
			return nil, err
		}
		took := time.Since(start)
		captures++
		captureTime += took
		for _, l := range batch {
			switch {
			case len(l.folds) > 0: // damps=: the rows went to the folds
				few.Check(l.Weight.Value.Name, l.folds[0][0].Samples()+l.folds[0][1].Samples(), l.Matrix.Cols)
			case len(l.hess) > 0 && l.hess[0] != nil:
				few.Check(l.Weight.Value.Name, l.hess[0].Samples(), l.Matrix.Cols)
			}
			r, err := fit(l, cfg)
			if err != nil {
				return nil, fmt.Errorf("%s of weight %q: %w", cfg.Method, l.Weight.Value.Name, err)
			}
			r.Capture = took
			results[l] = r
			fitTime += r.Fit
			ctx.Tick(int64(len(results)), int64(len(ls)))
		}
	}
	what := "SparseGPT's update on them follows the calibration data more than the layer (a larger damp= regularizes it)"
	if cfg.Anchor > 0 {
		what = "the refit to the original outputs and the method's update on them follow the calibration data more than the layer (a larger ridge= or damp= regularizes them)"
	}
	few.Note(ctx, what)
	out := make([]Result, 0, len(ls))
	perLayer := map[string]float64{}
	for _, l := range ls {
		r := results[l]
		out = append(out, *r)
		report(ctx, cfg.Method, r)
		perLayer[l.Weight.Value.Name] = r.Fit.Seconds()
	}
	levels := 0
	for _, l := range ls {
		levels = max(levels, l.level+1)
	}
	ctx.Set("method", cfg.Method)
	ctx.Set("target", cfg.target())
	ctx.Set("levels", levels)
	ctx.Set("captures", captures)
	ctx.Set("capture_seconds", captureTime.Seconds())
	ctx.Set("fit_seconds", fitTime.Seconds())
	ctx.Set("fit_seconds_per_layer", perLayer)
	return out, nil
}

// nextBatch returns the first layers of ls (sorted by level) that one
// capture takes: those of the first level, up to MaxStatsBytes of
// statistics (at least one layer).
func nextBatch(ls []*layer, cfg Config) []*layer {
	n := 1
	for n < len(ls) && ls[n].level == ls[0].level {
		n++
	}
	return ls[:statsBatch(ls[:n], cfg)]
}

// statsBatch returns how many of the first layers of ls fit in
// MaxStatsBytes of statistics (at least one): a Hessian per conv group
// for SparseGPT (three with damps=: two folds, then their sum), a norm per
// feature for Wanda; with target=original a Hessian and the cross
// products for either method.
func statsBatch(ls []*layer, cfg Config) int {
	var bytes int64
	for i, l := range ls {
		cols := int64(l.Matrix.Cols)
		b := int64(l.groups()) * cols * 8
		if cfg.Method == SparseGPT || cfg.Anchor > 0 {
			hess := int64(1)
			if cfg.Method == SparseGPT && len(cfg.Damps) > 0 {
				hess = 3
			}
			if cfg.Anchor > 0 {
				hess++ // the cross products
			}
			b *= cols * hess
		}
		if i > 0 && bytes+b > MaxStatsBytes {
			return i
		}
		bytes += b
	}
	return len(ls)
}

// capture runs the calibration samples through m and accumulates the
// statistics of every layer of the batch; with ref (target=original) it
// runs ref beside m and accumulates the cross products of their inputs
// too, with a Hessian for either method.
func capture(m, ref *graph.Model, batch []*layer, cfg Config) error {
	type sink struct {
		l *layer
		u use
	}
	sinks := map[string][]sink{}
	var targets []string
	for _, l := range batch {
		g := l.groups()
		l.hess, l.norms, l.folds, l.cross = make([]*obs.Hessian, g), make([]*calib.L2, g), nil, nil
		if cfg.Method == SparseGPT && len(cfg.Damps) > 0 {
			l.folds = make([]obs.Folds, g)
		}
		if ref != nil {
			l.cross = make([]*obs.Cross, g)
		}
		for i := range g {
			if cfg.Method == SparseGPT || cfg.Anchor > 0 {
				l.hess[i] = obs.NewHessian(l.Matrix.Cols)
			}
			if cfg.Method == Wanda && l.hess[i] == nil {
				l.norms[i] = &calib.L2{} // else the Hessian's diagonal has them
			}
			if l.folds != nil {
				l.folds[i] = obs.NewFolds(l.Matrix.Cols)
			}
			if l.cross != nil {
				l.cross[i] = obs.NewCross(l.Matrix.Cols)
			}
		}
		for _, u := range l.uses {
			if sinks[u.data] == nil {
				targets = append(targets, u.data)
			}
			sinks[u.data] = append(sinks[u.data], sink{l, u})
		}
	}
	each := func(sample int, target string, x, xref *ort.Tensor) error {
		for _, s := range sinks[target] {
			if err := s.l.add(s.u, x, xref, sample); err != nil {
				return fmt.Errorf("calibration sample %d, input %q of %s: %w", sample, target, s.u.node, err)
			}
		}
		return nil
	}
	if ref != nil {
		return calib.Pair(ref, m, cfg.Calib, targets, func(sample int, target string, xref, x *ort.Tensor) error {
			return each(sample, target, x, xref)
		})
	}
	c, err := calib.Open(m, cfg.Calib, targets)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Each(func(sample int, target string, x *ort.Tensor) error { return each(sample, target, x, nil) })
}

// add accumulates the activation x of use u on calibration sample
// sample (into the even or odd fold too, with damps=), and with xref, the
// same input in the original model, the cross products of the two.
func (l *layer) add(u use, x, xref *ort.Tensor, sample int) error {
	mats, err := l.activations(u, x)
	if err != nil {
		return err
	}
	var refs []calib.Matrix
	if xref != nil {
		if refs, err = l.activations(u, xref); err != nil {
			return fmt.Errorf("original model: %w", err)
		}
	}
	for g, a := range mats {
		switch {
		case l.folds != nil: // merged into l.hess when the layer is fitted
			err = l.folds[g].Add(sample, a.Data)
		case l.hess[g] != nil:
			err = l.hess[g].Add(a.Data)
		}
		if err == nil && l.norms[g] != nil {
			err = l.norms[g].Add(a)
		}
		if err == nil && refs != nil {
			err = l.cross[g].Add(a.Data, refs[g].Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// activations returns the layer's input x as one [rows, Cols] matrix
// per conv group, in the layout of the weight's Matrix.
func (l *layer) activations(u use, x *ort.Tensor) ([]calib.Matrix, error) {
	var mats []calib.Matrix
	if u.conv == nil {
		r, err := calib.Rows(x)
		if err != nil {
			return nil, err
		}
		mats = []calib.Matrix{r}
	} else {
		var err error
		if mats, err = calib.Im2Col(x, *u.conv); err != nil {
			return nil, err
		}
		if l.perm != nil {
			for i, a := range mats {
				mats[i] = a.Columns(l.perm)
			}
		}
	}
	if len(mats) != l.groups() {
		return nil, fmt.Errorf("%d conv groups, the weight has %d", len(mats), l.groups())
	}
	for _, a := range mats {
		if a.Cols != l.Matrix.Cols {
			return nil, fmt.Errorf("activation has %d features, the weight %d", a.Cols, l.Matrix.Cols)
		}
	}
	return mats, nil
}
