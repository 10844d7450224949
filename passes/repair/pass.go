package repair

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
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
		{Name: "ridge", Kind: passes.Float, Default: "0.1", Doc: "lsq: ridge term, per input feature a fraction of its variance, pulling each weight towards its value before the refit"},
		{Name: "ridges", Kind: passes.List, Doc: "lsq: candidate ridges (e.g. 0.01|0.1|1|10); each layer takes the one whose refit on half the calibration samples best predicts the other half (two folds, even and odd samples), instead of ridge"},
	}, calib.Options()...),
	Check: func(a passes.Args) error {
		if r := a.Float("ridge"); r < 0 {
			return fmt.Errorf("ridge=%v must not be negative", r)
		}
		if _, err := a.PositiveFloats("ridges"); err != nil {
			return err
		}
		if a.String("mode") != "lsq" {
			if err := a.Unused("mode=lsq", "ridge", "ridges"); err != nil {
				return err
			}
		} else if a.Given("ridge") && a.Given("ridges") {
			return fmt.Errorf("give ridge= or ridges=, not both")
		}
		_, err := calib.Configure(a)
		return err
	},
	NeedsRuntime:   func(passes.Args) bool { return true },
	NeedsReference: true,
	Run:            run,
}

func init() { passes.Register(Pass) }

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	ref := ctx.Reference()
	if ref == nil {
		return fmt.Errorf("repair needs the model as it entered the pipeline; run it through a pipeline (passes.Run)")
	}
	if m.Store != nil && m.Store.Streaming() {
		return fmt.Errorf("repair runs the model through ONNX Runtime and cannot stream it: use a larger --max-memory")
	}
	cfg, err := calib.Configure(a)
	if err != nil {
		return err
	}
	cfg.Threads = ctx.Threads
	if err := cfg.Check(ort.InputSpecs(m.ToProto())); err != nil {
		return err
	}
	found, err := findJobs(ctx, m, ref, a.String("layers") == "downstream")
	if err != nil {
		return err
	}
	if len(found) == 0 {
		if len(ctx.Report.Skipped) > 0 {
			ctx.Note("no layer repair can refit: %d left alone (see the skipped list)", len(ctx.Report.Skipped))
		} else {
			ctx.Note("no layer differs from the model the pipeline started with: nothing to repair")
		}
		return nil
	}
	var jobs []*job
	for _, j := range found {
		if why, err := j.prepare(m.Graph); err != nil {
			return fmt.Errorf("layer %s: %w", j.cur.node, err)
		} else if why != "" {
			ctx.Skip(j.cur.node.Name(), "%s", why)
			continue
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil
	}
	ridges, err := a.PositiveFloats("ridges")
	if err != nil {
		return err
	}
	ridge := a.Float("ridge")
	if len(ridges) == 1 { // nothing to choose between
		ridge, ridges = ridges[0], nil
	}
	return fitAll(ctx, m, ref, cfg, jobs, a.String("mode") == "lsq", ridge, ridges)
}

// findJobs lists the changed layers of m's main graph in graph order.
func findJobs(ctx *passes.Context, m, ref *graph.Model, downstream bool) ([]*job, error) {
	order, err := m.Graph.Toposort()
	if err != nil {
		return nil, err
	}
	var jobs []*job
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
			jobs = append(jobs, &job{cur: l, ref: rl})
		}
	}
	return jobs, nil
}
