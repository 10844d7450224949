package repair

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// Pass is the repair pass.
var Pass = &passes.Pass{
	Name: "repair",
	Doc:  "fit layers changed by earlier lossy passes back to the original model's outputs on calibration data (bias correction, then masked ridge least squares)",
	Options: append([]passes.Option{
		{Name: "mode", Kind: passes.Enum, Values: []string{"bias", "lsq"}, Default: "lsq", Doc: "bias: correct each output's mean only; lsq: re-fit the kept weights by least squares (zeros stay zero), then correct the bias"},
		{Name: "layers", Kind: passes.Enum, Values: []string{"changed", "downstream"}, Default: "downstream", Doc: "changed: refit the layers earlier passes changed; downstream: also refit unchanged layers whose inputs they changed, to compensate"},
		{Name: "ridge", Kind: passes.Float, Default: "0.01", Doc: "lsq: ridge term as a fraction of the mean activation variance"},
	}, calib.Options()...),
	Check: func(a passes.Args) error {
		if r := a.Float("ridge"); r < 0 {
			return fmt.Errorf("ridge=%v must not be negative", r)
		}
		_, err := calib.Configure(a)
		return err
	},
	NeedsRuntime:   func(passes.Args) bool { return true },
	NeedsReference: true,
	Run:            run,
}

func init() { passes.Register(Pass) }

// job is a changed layer and its reference.
type job struct{ cur, ref *layer }

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	ref := ctx.Reference()
	if ref == nil {
		return fmt.Errorf("repair needs the model as it entered the pipeline; run it through a pipeline (passes.Run)")
	}
	cfg, err := calib.Configure(a)
	if err != nil {
		return err
	}
	cfg.Threads = ctx.Threads
	if err := cfg.Check(ort.InputSpecs(m.ToProto())); err != nil {
		return err
	}
	jobs, err := findJobs(ctx, m, ref, a.String("layers") == "downstream")
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		ctx.Note("no layer differs from the model the pipeline started with: nothing to repair")
		return nil
	}
	lsq := a.String("mode") == "lsq"
	for i, j := range jobs {
		ctx.Tick(int64(i), int64(len(jobs)))
		if err := fit(ctx, m, ref, cfg, j, lsq, a.Float("ridge")); err != nil {
			return fmt.Errorf("layer %s: %w", j.cur.node, err)
		}
	}
	ctx.Tick(int64(len(jobs)), int64(len(jobs)))
	return nil
}

// findJobs lists the changed layers of m's main graph in graph order.
func findJobs(ctx *passes.Context, m, ref *graph.Model, downstream bool) ([]job, error) {
	order, err := m.Graph.Toposort()
	if err != nil {
		return nil, err
	}
	var jobs []job
	// affected: values that may differ from the reference's, downstream
	// of a changed layer.
	affected := map[*graph.Value]bool{}
	for _, n := range order {
		in := false
		for _, v := range n.Inputs() {
			in = in || affected[v]
		}
		if in {
			for _, o := range n.Outputs() {
				affected[o] = true
			}
		}
		l, why := layerOf(n)
		if l == nil {
			if why != "" {
				ctx.Skip(n.Name(), "%s", why)
			}
			continue
		}
		rv := ref.Graph.Lookup(n.Output(0).Name)
		var rn *graph.Node
		if rv != nil && rv.Graph() == ref.Graph {
			rn, _ = rv.Producer()
		}
		if rn == nil || rn.OpType() != n.OpType() {
			ctx.Skip(n.Name(), "no %s produces %s in the original model", n.OpType(), n.Output(0).Name)
			continue
		}
		rl, why := layerOf(rn)
		if rl == nil {
			ctx.Skip(n.Name(), "original layer: %s", why)
			continue
		}
		diff, err := changed(l, rl)
		if err != nil {
			return nil, err
		}
		if diff {
			for _, o := range n.Outputs() {
				affected[o] = true
			}
		}
		if diff || downstream && affected[n.Input(0)] {
			jobs = append(jobs, job{l, rl})
		}
	}
	return jobs, nil
}

// fit captures one layer's inputs in both models and refits it.
func fit(ctx *passes.Context, m, ref *graph.Model, cfg calib.Config, j job, lsq bool, ridge float64) error {
	cur, orig := j.cur, j.ref
	w, err := cur.matrix()
	if err != nil {
		return err
	}
	ow, err := orig.matrix()
	if err != nil {
		return err
	}
	rows, err := rowMap(w, ow)
	if err != nil {
		ctx.Skip(cur.node.Name(), "%v", err)
		return nil
	}
	// Which original group each compressed group draws on.
	refGroup := make([]int, cur.groups)
	perCur, perRef := cur.rows/cur.groups, orig.rows/orig.groups
	for g := range refGroup {
		refGroup[g] = g
		if rows != nil {
			refGroup[g] = rows[g*perCur] / perRef
		} else if cur.groups != orig.groups {
			ctx.Skip(cur.node.Name(), "group count changed from %d to %d", orig.groups, cur.groups)
			return nil
		}
		for r := g * perCur; r < (g+1)*perCur; r++ {
			if rows != nil && rows[r]/perRef != refGroup[g] {
				ctx.Skip(cur.node.Name(), "group %d's channels come from several original groups", g)
				return nil
			}
		}
	}
	// The original layer's input, every sample (one layer at a time).
	var xs []*ort.Tensor
	if err := each(ref, cfg, orig.node.Input(0).Name, func(i int, x *ort.Tensor) error {
		xs = append(xs, x)
		return nil
	}); err != nil {
		return fmt.Errorf("original model: %w", err)
	}
	hs := make([]*obs.Hessian, cur.groups)
	cs := make([]*obs.Cross, cur.groups)
	for g := range hs {
		hs[g], cs[g] = obs.NewHessian(cur.cols), obs.NewCross(cur.cols, orig.cols)
	}
	err = each(m, cfg, cur.node.Input(0).Name, func(i int, x *ort.Tensor) error {
		a, err := cur.activations(x)
		if err != nil {
			return err
		}
		b, err := orig.activations(xs[i])
		if err != nil {
			return fmt.Errorf("original: %w", err)
		}
		for g := range hs {
			if err := hs[g].Add(a[g].Data); err != nil {
				return err
			}
			if err := cs[g].Add(a[g].Data, b[refGroup[g]].Data); err != nil {
				return err
			}
		}
		xs[i] = nil
		return nil
	})
	if err != nil {
		return err
	}
	bs, err := biasOf(m.Graph, cur)
	if err != nil {
		ctx.Skip(cur.node.Name(), "%v", err)
		return nil
	}
	bv, err := bs.read()
	if err != nil {
		return err
	}
	for g := range hs {
		f := obs.Refit{H: hs[g], Cross: cs[g], Orig: orig.group(ow, refGroup[g]), Ridge: ridge}
		if rows != nil {
			f.Rows = make([]int, perCur)
			for r := range f.Rows {
				f.Rows[r] = rows[g*perCur+r] - refGroup[g]*perRef
			}
		} else if perCur != perRef {
			return fmt.Errorf("group %d has %d rows, the original %d", g, perCur, perRef)
		}
		wg := cur.group(w, g)
		if lsq {
			if err := f.Weights(wg); err != nil {
				return err
			}
		}
		if err := f.Bias(wg, bv[g*perCur:(g+1)*perCur]); err != nil {
			return err
		}
	}
	if lsq {
		if err := cur.write(w); err != nil {
			return err
		}
	}
	if err := bs.set(bv); err != nil {
		return err
	}
	ctx.Report.TensorsTouched++
	return nil
}

// each runs the calibration samples through model and hands over the
// value called name for each.
func each(model *graph.Model, cfg calib.Config, name string, fn func(int, *ort.Tensor) error) error {
	c, err := calib.Open(model, cfg, []string{name})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Each(func(i int, _ string, x *ort.Tensor) error { return fn(i, x) })
}
