package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// weightOnly quantizes targets with fn (nbits or weightOnly8), one weight
// at a time, then, with gather=true, the embedding tables read by Gather
// (after the linear layers, so that a table shared with a GPTQ-fitted
// head reuses the head's codes).
//
// With method=gptq the MatMul and Gemm targets of the main graph are
// fitted in stages: a target's stage is the largest number of targets on
// a path from the graph inputs to it, so the targets of one stage never
// feed each other and their inputs are computed by the already quantized
// earlier stages. Each stage runs the calibration samples once through
// ONNX Runtime to gather H = 2/n XᵀX of every distinct input (q, k and v
// projections share one), then quantizes its targets with GPTQ. Targets
// in subgraphs and Conv weights are rounded to nearest.
func (q *quantizer) weightOnly(targets []*graph.Node, fn func(*graph.Node) (string, error)) error {
	if q.cfg.gptq {
		if err := q.cfg.calib.Check(ort.InputSpecs(q.m.ToProto())); err != nil {
			return err
		}
		stages, rest, err := stagesOf(q.m.Graph, targets)
		if err != nil {
			return err
		}
		for _, st := range stages {
			if err := q.fitStage(st); err != nil {
				return err
			}
			if err := q.eachTarget(st, fn); err != nil {
				return err
			}
			q.hess = nil
		}
		targets = rest
	}
	if err := q.eachTarget(targets, fn); err != nil {
		return err
	}
	if q.cfg.gather {
		return q.eachTarget(q.gatherTargets(), q.gather)
	}
	return nil
}

// stagesOf splits the targets of g (MatMul and Gemm) into stages (see
// weightOnly), in graph order; rest are the other targets.
func stagesOf(g *graph.Graph, targets []*graph.Node) (stages [][]*graph.Node, rest []*graph.Node, err error) {
	if err := g.Sort(); err != nil {
		return nil, nil, err
	}
	fit := map[*graph.Node]bool{}
	for _, n := range targets {
		if n.Graph() == g && (n.OpType() == "MatMul" || n.OpType() == "Gemm") {
			fit[n] = true
		} else {
			rest = append(rest, n)
		}
	}
	// after[n]: the most targets on a path ending at n, n included.
	after := map[*graph.Node]int{}
	level := map[*graph.Node]int{}
	for _, n := range g.Nodes {
		l := 0
		for _, v := range n.Inputs() {
			if v == nil {
				continue
			}
			if p, _ := v.Producer(); p != nil {
				l = max(l, after[p])
			}
		}
		level[n], after[n] = l, l
		if fit[n] {
			after[n] = l + 1
		}
	}
	for _, n := range g.Nodes {
		if !fit[n] {
			continue
		}
		for len(stages) <= level[n] {
			stages = append(stages, nil)
		}
		stages[level[n]] = append(stages[level[n]], n)
	}
	return stages, rest, nil
}

// fitStage captures the inputs of the stage's targets on the calibration
// samples and sets q.hess to each target's Hessian.
func (q *quantizer) fitStage(stage []*graph.Node) error {
	q.hess = map[*graph.Node]*obs.Hessian{}
	byName := map[string]*obs.Hessian{}
	var names []string
	for _, n := range stage {
		x, w := n.Input(0), n.Input(1)
		if x == nil || x.IsConstant() || w == nil || w.Const() == nil || n.AttrInt("transA", 0) != 0 {
			continue // left to fn, which says why
		}
		axes, why := weightAxes(n, w.Const().Dims())
		if why != "" || len(w.Const().Dims()) != 2 {
			continue
		}
		k := int(w.Const().Dims()[axes.Feature])
		h := byName[x.Name]
		if h == nil {
			h = obs.NewHessian(k)
			byName[x.Name] = h
			names = append(names, x.Name)
		} else if h.Cols() != k {
			continue
		}
		q.hess[n] = h
	}
	if len(names) == 0 {
		return nil
	}
	cfg := q.cfg.calib
	cfg.Threads = q.ctx.Threads
	c, err := calib.Open(q.m, cfg, names)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Each(func(_ int, name string, x *ort.Tensor) error {
		rows, err := calib.Rows(x)
		if err != nil {
			return fmt.Errorf("calibration: %s: %w", name, err)
		}
		h := byName[name]
		if rows.Cols != h.Cols() {
			return fmt.Errorf("calibration: %s has %d features, its weight %d", name, rows.Cols, h.Cols())
		}
		return h.Add(rows.Data)
	})
}

// blocked quantizes w ([K, N] when kMajor, else [N, K]) in blocks along K
// for node: by GPTQ when the node has calibration statistics, else to
// nearest. how names the method, for reports.
func (q *quantizer) blocked(node *graph.Node, w []float32, k, n int, kMajor bool) (b *blocked, how string, err error) {
	h := q.hess[node]
	if h == nil {
		b, err = quantizeBlocked(w, k, n, q.cfg.block, kMajor, q.cfg.typ, q.cfg.symmetric)
		return b, "rtn", err
	}
	res, err := q.gptq(h, w, k, n, kMajor, q.cfg.block)
	if err != nil {
		return nil, "", err
	}
	shift := q.shift()
	nb := res.Groups()
	b = &blocked{k: k, n: n, block: q.cfg.block, nb: nb, q: make([]int32, k*n), scale: make([]float32, nb*n), zp: make([]int32, nb*n)}
	for r := range n {
		for j := range k {
			b.q[j*n+r] = int32(res.Codes[r*k+j]) - shift
		}
		for g := range nb {
			b.scale[g*n+r] = res.Scales[r*nb+g]
			b.zp[g*n+r] = int32(res.Zeros[r*nb+g]) - shift
		}
	}
	return b, "gptq", nil
}

// shift maps obs' unsigned codes and zero points to the type's: signed
// types subtract half the range.
func (q *quantizer) shift() int32 {
	if q.cfg.typ.signed {
		return 1 << (q.cfg.typ.bits - 1)
	}
	return 0
}

// gptq runs obs.GPTQ with act-order on w ([K, N] when kMajor, else
// [N, K]) in groups of group input features (0: one per output channel).
func (q *quantizer) gptq(h *obs.Hessian, w []float32, k, n int, kMajor bool, group int) (*obs.Quantized, error) {
	ow := obs.NewWeight(n, k)
	if kMajor {
		for j := range k {
			for r := range n {
				ow.Data[r*k+j] = w[j*n+r]
			}
		}
	} else {
		copy(ow.Data, w)
	}
	for i, x := range ow.Data {
		if isBad(x) {
			return nil, fmt.Errorf("element %d is %v: cannot quantize a tensor holding NaN or infinity", i, x)
		}
	}
	opts := obs.QuantOptions{Bits: q.cfg.typ.bits, Group: group, Symmetric: q.cfg.symmetric, ActOrder: true}
	return obs.GPTQ(h, ow, opts, obs.SweepOptions{})
}

// gptqChannels is quantizeTensor for a 2-D MatMul or Gemm weight with
// calibration statistics: per output channel (axes.Out), fitted by GPTQ.
func (q *quantizer) gptqChannels(h *obs.Hessian, w []float32, dims []int64, axes passes.Axes) (*quantized, error) {
	kMajor := axes.Feature == 0
	k, n := int(dims[axes.Feature]), int(dims[axes.Out])
	res, err := q.gptq(h, w, k, n, kMajor, 0)
	if err != nil {
		return nil, err
	}
	shift := q.shift()
	r := &quantized{q: make([]int32, k*n), scale: res.Scales, zp: make([]int32, n), axis: axes.Out}
	for o := range n {
		for j := range k {
			i := o*k + j
			if kMajor {
				i = j*n + o
			}
			r.q[i] = int32(res.Codes[o*k+j]) - shift
		}
		r.zp[o] = int32(res.Zeros[o]) - shift
	}
	return r, nil
}

// checkWeightOnly refuses options that do not fit together: rtn and gptq
// are weight-only methods, gather needs a 4-bit type.
func (c *config) checkWeightOnly(method string) error {
	if (method == "rtn" || method == "gptq") && c.mode != "weight-only" {
		return fmt.Errorf("method=%s rounds weights for weight-only quantization (4-bit types, or mode=weight-only); mode=%s uses method=minmax, percentile or entropy", method, c.mode)
	}
	if c.gather && c.typ.bits != 4 {
		return fmt.Errorf("gather=true stores embedding tables in 4 bits: it needs type=int4 or uint4")
	}
	if c.accuracy < 0 || c.accuracy > 4 {
		return fmt.Errorf("accuracy-level=%d: want 0 to 4", c.accuracy)
	}
	return nil
}
