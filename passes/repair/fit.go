package repair

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// job is a layer to refit, its reference, and what fitting it needs.
type job struct {
	cur, ref *layer
	level    int
	w        obs.Weight // the current weight as rows
	per      int        // rows per group
	refGroup []int      // per current group: the original group it draws on
	// target[g]: the original rows current group g reproduces, [per,
	// ref.cols]; its outputs on the original's inputs are the targets.
	target []obs.Weight
	bias   bias
	bv     []float32

	// Statistics, per current group. lsq: the Hessian of the current
	// inputs and the targets; bias: the means of both inputs.
	hess []*obs.Hessian
	tg   []*obs.Targets
	// With ridge candidates: the odd samples' statistics, apart from
	// the even ones' (hess, tg) until the ridge is chosen.
	oddHess []*obs.Hessian
	oddTg   []*obs.Targets
	cv      bool // a ridge was chosen by cross-validation (both folds had rows)
	mean    []*calib.Mean
	refMean []*calib.Mean
	// ys[sample][g]: the target outputs of the level being captured,
	// held from the reference capture until the current one consumes them.
	ys [][][]float32
}

// prepare reads the job's weights and bias and matches its rows and
// groups to the original's; why says why the layer is skipped.
func (j *job) prepare(g *graph.Graph) (why string, err error) {
	cur, orig := j.cur, j.ref
	if j.w, err = cur.matrix(); err != nil {
		return "", err
	}
	ow, err := orig.matrix()
	if err != nil {
		return "", err
	}
	rows, err := rowMap(j.w, ow)
	if err != nil {
		return err.Error(), nil
	}
	// Which original group each current group draws on.
	j.per = cur.rows / cur.groups
	perRef := orig.rows / orig.groups
	if rows == nil && cur.groups != orig.groups {
		return fmt.Sprintf("group count changed from %d to %d", orig.groups, cur.groups), nil
	}
	j.refGroup = make([]int, cur.groups)
	j.target = make([]obs.Weight, cur.groups)
	for gr := range cur.groups {
		j.refGroup[gr] = gr
		if rows != nil {
			j.refGroup[gr] = rows[gr*j.per] / perRef
		} else if j.per != perRef {
			return "", fmt.Errorf("group %d has %d rows, the original %d", gr, j.per, perRef)
		}
		og := orig.group(ow, j.refGroup[gr])
		t := obs.NewWeight(j.per, orig.cols)
		for r := range j.per {
			o := r
			if rows != nil {
				o = rows[gr*j.per+r] - j.refGroup[gr]*perRef
				if o < 0 || o >= perRef {
					return fmt.Sprintf("group %d's channels come from several original groups", gr), nil
				}
			}
			copy(t.Row(r), og.Row(o))
		}
		j.target[gr] = t
	}
	if j.bias, err = biasOf(g, cur); err != nil {
		return err.Error(), nil
	}
	if j.bv, err = j.bias.read(); err != nil {
		return "", err
	}
	return "", nil
}

// fitAll refits the jobs level by level (calib.Levels): the layers of
// one level are captured together, in one run of each model, after every
// layer of the levels before them is refitted. mode=bias needs only the
// means of the original's inputs, which do not change: one capture of the
// reference serves every level.
func fitAll(ctx *passes.Context, m, ref *graph.Model, cfg calib.Config, jobs []*job, lsq bool, ridge float64, ridges []float64) error {
	nodes := make([]*graph.Node, len(jobs))
	for i, j := range jobs {
		nodes[i] = j.cur.node
	}
	levels, err := calib.Levels(m, nodes)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.level = levels[j.cur.node]
	}
	slices.SortStableFunc(jobs, func(a, b *job) int { return a.level - b.level })
	var captures int
	var captureTime, fitTime time.Duration
	perLayer := map[string]float64{}
	timed := func(f func() error) error {
		start := time.Now()
		err := f()
		captureTime += time.Since(start)
		captures++
		return err
	}
	if !lsq {
		if err := timed(func() error { return captureRefMeans(ref, cfg, jobs) }); err != nil {
			return fmt.Errorf("original model: %w", err)
		}
	}
	done := 0
	var few calib.FewRows
	for len(jobs) > 0 {
		n := 1
		for n < len(jobs) && jobs[n].level == jobs[0].level {
			n++
		}
		batch := jobs[:n]
		jobs = jobs[n:]
		if lsq {
			if err := timed(func() error { return captureTargets(ref, cfg, batch) }); err != nil {
				return fmt.Errorf("original model: %w", err)
			}
		}
		if err := timed(func() error { return captureCurrent(m, cfg, batch, lsq, len(ridges) > 0) }); err != nil {
			return err
		}
		for _, j := range batch {
			if lsq {
				few.Check(j.cur.node.Name(), j.samples(), j.cur.cols)
			}
			start := time.Now()
			detail, err := j.fit(lsq, ridge, ridges)
			if err != nil {
				return fmt.Errorf("layer %s: %w", j.cur.node, err)
			}
			took := time.Since(start)
			fitTime += took
			perLayer[j.cur.weight.Name] = took.Seconds()
			ctx.Tensor(passes.TensorReport{Name: j.cur.weight.Name, Shape: j.cur.weight.Const().Dims(),
				Detail: fmt.Sprintf("level %d: %s; fit %s", j.level, detail, took.Round(time.Microsecond))})
			ctx.Report.TensorsTouched++
			done++
			ctx.Tick(int64(done), int64(done+len(jobs)))
		}
	}
	few.Note(ctx, "least squares on so few overfits the calibration data (or use mode=bias)")
	ctx.Set("captures", captures)
	ctx.Set("capture_seconds", captureTime.Seconds())
	ctx.Set("fit_seconds", fitTime.Seconds())
	ctx.Set("fit_seconds_per_layer", perLayer)
	return nil
}

// captureRefMeans accumulates the means of every job's input in the
// original model, one run for all.
func captureRefMeans(ref *graph.Model, cfg calib.Config, jobs []*job) error {
	for _, j := range jobs {
		j.refMean = make([]*calib.Mean, j.cur.groups)
		for g := range j.refMean {
			j.refMean[g] = &calib.Mean{}
		}
	}
	return each(ref, cfg, jobs, func(j *job) *graph.Node { return j.ref.node }, func(j *job, i int, x *ort.Tensor) error {
		a, err := j.ref.activations(x)
		if err != nil {
			return err
		}
		for g, rg := range j.refGroup {
			if err := j.refMean[g].Add(a[rg]); err != nil {
				return err
			}
		}
		return nil
	})
}

// captureTargets runs the original model and keeps, per sample, the
// outputs each job's rows had there (without bias).
func captureTargets(ref *graph.Model, cfg calib.Config, batch []*job) error {
	for _, j := range batch {
		j.ys = make([][][]float32, cfg.Samples)
	}
	impl := gonum.Implementation{}
	return each(ref, cfg, batch, func(j *job) *graph.Node { return j.ref.node }, func(j *job, i int, x *ort.Tensor) error {
		a, err := j.ref.activations(x)
		if err != nil {
			return err
		}
		if i >= len(j.ys) {
			j.ys = append(j.ys, make([][][]float32, i+1-len(j.ys))...)
		}
		j.ys[i] = make([][]float32, j.cur.groups)
		for g, rg := range j.refGroup {
			xm, t := a[rg], j.target[g]
			y := make([]float32, xm.Rows*t.Rows)
			impl.Sgemm(blas.NoTrans, blas.Trans, xm.Rows, t.Rows, t.Cols, 1, xm.Data, xm.Cols, t.Data, t.Cols, 0, y, t.Rows)
			j.ys[i][g] = y
		}
		return nil
	})
}

// captureCurrent runs the model being repaired and accumulates each job's
// statistics of its current input.
func captureCurrent(m *graph.Model, cfg calib.Config, batch []*job, lsq, folds bool) error {
	for _, j := range batch {
		gs := j.cur.groups
		if lsq {
			j.hess, j.tg = make([]*obs.Hessian, gs), make([]*obs.Targets, gs)
			for g := range gs {
				j.hess[g], j.tg[g] = obs.NewHessian(j.cur.cols), obs.NewTargets(j.cur.cols, j.per)
			}
			if folds {
				j.oddHess, j.oddTg = make([]*obs.Hessian, gs), make([]*obs.Targets, gs)
				for g := range gs {
					j.oddHess[g], j.oddTg[g] = obs.NewHessian(j.cur.cols), obs.NewTargets(j.cur.cols, j.per)
				}
			}
		} else {
			j.mean = make([]*calib.Mean, gs)
			for g := range gs {
				j.mean[g] = &calib.Mean{}
			}
		}
	}
	return each(m, cfg, batch, func(j *job) *graph.Node { return j.cur.node }, func(j *job, i int, x *ort.Tensor) error {
		a, err := j.cur.activations(x)
		if err != nil {
			return err
		}
		if len(a) != j.cur.groups {
			return fmt.Errorf("%d activation groups for %d weight groups", len(a), j.cur.groups)
		}
		for g, xm := range a {
			if !lsq {
				if err := j.mean[g].Add(xm); err != nil {
					return err
				}
				continue
			}
			if i >= len(j.ys) || j.ys[i] == nil {
				return fmt.Errorf("calibration sample %d was not seen in the original model", i)
			}
			h, tg := j.hess[g], j.tg[g]
			if j.oddHess != nil && i%2 == 1 {
				h, tg = j.oddHess[g], j.oddTg[g]
			}
			if err := h.Add(xm.Data); err != nil {
				return err
			}
			if err := tg.Add(xm.Data, j.ys[i][g]); err != nil {
				return err
			}
		}
		if lsq {
			j.ys[i] = nil
		}
		return nil
	})
}

// fit refits the job from its statistics, writes the weight and bias
// back and frees the statistics; it returns what it did, for the report.
func (j *job) fit(lsq bool, ridge float64, ridges []float64) (string, error) {
	detail := "bias correction"
	masks, iters, worst := 0, 0, 0.0
	lo, hi := math.Inf(1), 0.0 // the ridges chosen
	for g := range j.cur.groups {
		wg := j.cur.group(j.w, g)
		var meanX, meanY []float64
		if lsq {
			r, err := j.chooseRidge(g, wg, ridge, ridges)
			if err != nil {
				return "", groupErr(j, g, err)
			}
			lo, hi = min(lo, r), max(hi, r)
			info, err := obs.Refit(j.hess[g], j.tg[g], wg, r)
			if err != nil {
				return "", groupErr(j, g, err)
			}
			masks += info.Masks
			iters = max(iters, info.Iterations)
			worst = max(worst, info.Residual)
			meanX, meanY = j.tg[g].MeanX(), j.tg[g].MeanY()
		} else {
			meanX = j.mean[g].Means()
			mr := j.refMean[g].Means()
			t := j.target[g]
			meanY = make([]float64, t.Rows)
			for r := range t.Rows {
				for k, v := range t.Row(r) {
					meanY[r] += float64(v) * mr[k]
				}
			}
		}
		if err := obs.CorrectMean(wg, meanX, meanY, j.bv[g*j.per:(g+1)*j.per]); err != nil {
			return "", groupErr(j, g, err)
		}
	}
	if lsq {
		if err := j.cur.write(j.w); err != nil {
			return "", err
		}
		detail = fmt.Sprintf("least squares over %d kept sets by Cholesky, then bias correction", masks)
		if iters > 0 {
			detail = fmt.Sprintf("least squares over %d kept sets by conjugate gradients (%d iterations, residual %.1e), then bias correction", masks, iters, worst)
		}
		if j.cv {
			chosen := fmt.Sprint(lo)
			if hi > lo {
				chosen = fmt.Sprintf("%v to %v", lo, hi)
			}
			detail += fmt.Sprintf("; ridge %s by cross-validation", chosen)
		}
	}
	if err := j.bias.set(j.bv); err != nil {
		return "", err
	}
	j.hess, j.tg, j.oddHess, j.oddTg, j.mean, j.refMean, j.ys = nil, nil, nil, nil, nil, nil, nil
	return detail, nil
}

// samples is the number of calibration rows the job's first group saw.
func (j *job) samples() int {
	n := j.hess[0].Samples()
	if j.oddHess != nil {
		n += j.oddHess[0].Samples()
	}
	return n
}

// chooseRidge picks group g's ridge among ridges by cross-validation
// between the even and the odd samples (obs.ChooseRidge), then merges
// the two folds; without candidates, or with one fold empty (a single
// sample), it is ridge.
func (j *job) chooseRidge(g int, w obs.Weight, ridge float64, ridges []float64) (float64, error) {
	if j.oddHess == nil {
		return ridge, nil
	}
	h, tg := [2]*obs.Hessian{j.hess[g], j.oddHess[g]}, [2]*obs.Targets{j.tg[g], j.oddTg[g]}
	if h[0].Samples() > 0 && h[1].Samples() > 0 {
		best, _, err := obs.ChooseRidge(h, tg, w, ridges)
		if err != nil {
			return 0, err
		}
		ridge, j.cv = best, true
	}
	if err := h[0].Merge(h[1]); err != nil {
		return 0, err
	}
	return ridge, tg[0].Merge(tg[1])
}

func groupErr(j *job, g int, err error) error {
	if j.cur.groups > 1 {
		return fmt.Errorf("conv group %d: %w", g, err)
	}
	return err
}

// each runs the calibration samples through model once, capturing the
// input of every job's node (node picks it), and hands each job its
// input of each sample.
func each(model *graph.Model, cfg calib.Config, jobs []*job, node func(*job) *graph.Node, fn func(*job, int, *ort.Tensor) error) error {
	by := map[string][]*job{}
	var targets []string
	for _, j := range jobs {
		name := node(j).Input(0).Name
		if by[name] == nil {
			targets = append(targets, name)
		}
		by[name] = append(by[name], j)
	}
	c, err := calib.Open(model, cfg, targets)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Each(func(i int, target string, x *ort.Tensor) error {
		for _, j := range by[target] {
			if err := fn(j, i, x); err != nil {
				return fmt.Errorf("calibration sample %d, layer %s: %w", i, node(j), err)
			}
		}
		return nil
	})
}
