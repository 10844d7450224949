package quantize

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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
// With method=gptq the MatMul and Gemm targets of the main graph (and,
// in 4 bits with format=qdq, its Conv targets) are fitted in stages: a
// target's stage is its calib.Levels level, the number of targets on the
// longest path from the graph inputs to it, so the targets of one stage
// never feed each other and their inputs are computed by the already
// quantized earlier stages. Each stage runs the calibration samples once
// through ONNX Runtime to gather H = 2/n XᵀX of every distinct input (q,
// k and v projections share one; a Conv's input is unfolded by
// calib.Im2Col, one H per conv group), then quantizes its targets with
// GPTQ. Targets in subgraphs are rounded to nearest, and so are Conv
// weights in the other forms. With target=original each stage runs the
// model as the pass found it (q.ref) beside the one being quantized
// (calib.Pair) and keeps, beside every H, the cross products of the two
// models' inputs (obs.Cross); GPTQ then quantizes obs.Anchor's refit of
// the weight to the original layer's outputs instead of the weight.
func (q *quantizer) weightOnly(targets []*graph.Node, fn func(*graph.Node) (string, error)) error {
	if q.cfg.gptq {
		if err := q.cfg.calib.Check(ort.InputSpecs(q.m.ToProto())); err != nil {
			return err
		}
		if q.cfg.anchor > 0 {
			var err error
			if q.ref, err = q.m.Clone(); err != nil {
				return err
			}
		}
		stages, rest, err := q.stagesOf(targets)
		if err != nil {
			return err
		}
		for i, st := range stages {
			// The first stage's inputs are the original's: nothing
			// before it is quantized, so it needs no second model and
			// the anchored weight is the weight itself.
			q.paired = q.ref != nil && i > 0
			if err := q.fitStage(st); err != nil {
				return err
			}
			q.checkRows()
			if err := q.eachTarget(st, fn); err != nil {
				return err
			}
			q.hess, q.convHess, q.folds, q.cross = nil, nil, nil, nil
		}
		q.ref = nil
		q.noteDamps()
		what := "GPTQ's error compensation on them follows the calibration data more than the layer (a larger damp= regularizes it)"
		if q.cfg.anchor > 0 {
			what = "GPTQ's error compensation and the refit to the original outputs on them follow the calibration data more than the layer (a larger damp= or ridge= regularizes them)"
		}
		q.few.Note(q.ctx, what)
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

// fitsConv reports whether GPTQ fits Conv weights: only the 4-bit
// blocked DequantizeLinear form has them.
func (q *quantizer) fitsConv() bool { return q.cfg.typ.bits == 4 && q.cfg.format == "qdq" }

// stagesOf splits the targets GPTQ fits (MatMul and Gemm of the main
// graph, and Convs whose weight fits convBlocks when fitsConv) into stages (see weightOnly), in graph
// order; rest are the other targets.
func (q *quantizer) stagesOf(targets []*graph.Node) (stages [][]*graph.Node, rest []*graph.Node, err error) {
	g := q.m.Graph
	if err := g.Sort(); err != nil {
		return nil, nil, err
	}
	var fit []*graph.Node
	for _, n := range targets {
		op := n.OpType()
		conv := op == "Conv" && q.fitsConv()
		if conv {
			c, _, _ := convBlocksOf(n, q.cfg.block)
			conv = c != nil // else left float, feeding no stage
		}
		if n.Graph() == g && (op == "MatMul" || op == "Gemm" || conv) {
			fit = append(fit, n)
		} else {
			rest = append(rest, n)
		}
	}
	level, err := calib.Levels(q.m, fit)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range fit {
		for len(stages) <= level[n] {
			stages = append(stages, nil)
		}
		stages[level[n]] = append(stages[level[n]], n)
	}
	return stages, rest, nil
}

// fitStage captures the inputs of the stage's targets on the calibration
// samples and sets q.hess and q.convHess to each target's Hessians. With
// damps= every Hessian is accumulated in two folds, the even and the odd
// samples, kept in q.folds beside their merged Hessian for the damp's
// cross-validation (a single sample leaves one fold empty: damp= then).
func (q *quantizer) fitStage(stage []*graph.Node) error {
	q.hess = map[*graph.Node]*obs.Hessian{}
	q.convHess = map[*graph.Node][]*obs.Hessian{}
	q.folds = map[*obs.Hessian]obs.Folds{}
	q.cross = map[*obs.Hessian]*obs.Cross{}
	sinks := map[string][]func(int, *ort.Tensor, *ort.Tensor) error{}
	var names []string
	sink := func(x string, f func(int, *ort.Tensor, *ort.Tensor) error) {
		if sinks[x] == nil {
			names = append(names, x)
		}
		sinks[x] = append(sinks[x], f)
	}
	// folds[h]: when the damp is cross-validated, the two folds
	// accumulated in place of Hessian h, whose even fold is h itself.
	folds := map[*obs.Hessian]obs.Folds{}
	newHessian := func(cols int) *obs.Hessian {
		var h *obs.Hessian
		if len(q.cfg.damps) == 0 {
			h = obs.NewHessian(cols)
		} else {
			f := obs.NewFolds(cols)
			folds[f[0]] = f
			h = f[0]
		}
		if q.paired {
			q.cross[h] = obs.NewCross(cols)
		}
		return h
	}
	fold := func(h *obs.Hessian, sample int) *obs.Hessian {
		if f, ok := folds[h]; ok {
			return f[sample%2]
		}
		return h
	}
	byName := map[string]*obs.Hessian{}
	for _, n := range stage {
		if n.OpType() == "Conv" {
			c, _, err := convBlocksOf(n, q.cfg.block)
			if err != nil || c == nil {
				continue // left to fn, which says why
			}
			hs := make([]*obs.Hessian, c.groups())
			for g := range hs {
				hs[g] = newHessian(c.cols())
			}
			q.convHess[n] = hs
			cs := make([]*obs.Cross, len(hs))
			for g, h := range hs {
				cs[g] = q.cross[h]
			}
			sink(n.Input(0).Name, func(i int, x, xref *ort.Tensor) error {
				fs := make([]*obs.Hessian, len(hs))
				for g, h := range hs {
					fs[g] = fold(h, i)
				}
				return c.add(fs, cs, x, xref)
			})
			continue
		}
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
			h = newHessian(k)
			byName[x.Name] = h
			sink(x.Name, func(i int, x, xref *ort.Tensor) error {
				rows, err := calib.Rows(x)
				if err != nil {
					return err
				}
				if rows.Cols != h.Cols() {
					return fmt.Errorf("%d features, the weight %d", rows.Cols, h.Cols())
				}
				if err := fold(h, i).Add(rows.Data); err != nil || xref == nil {
					return err
				}
				refRows, err := calib.Rows(xref)
				if err != nil {
					return fmt.Errorf("original model: %w", err)
				}
				return q.cross[h].Add(rows.Data, refRows.Data)
			})
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
	each := func(i int, name string, x, xref *ort.Tensor) error {
		for _, f := range sinks[name] {
			if err := f(i, x, xref); err != nil {
				return fmt.Errorf("calibration: %s: %w", name, err)
			}
		}
		return nil
	}
	var err error
	if q.paired {
		err = calib.Pair(q.ref, q.m, cfg, names, func(i int, name string, xref, x *ort.Tensor) error { return each(i, name, x, xref) })
	} else {
		var c *calib.Capture
		if c, err = calib.Open(q.m, cfg, names); err != nil {
			return err
		}
		defer c.Close()
		err = c.Each(func(i int, name string, x *ort.Tensor) error { return each(i, name, x, nil) })
	}
	if err != nil || len(folds) == 0 {
		return err
	}
	return q.mergeFolds(folds)
}

// checkRows records the stage's weights whose Hessians saw fewer than two
// calibration rows per live input feature (q.few).
func (q *quantizer) checkRows() {
	hs := map[*graph.Node]*obs.Hessian{}
	for n, h := range q.hess {
		hs[n] = h
	}
	for n, g := range q.convHess {
		if len(g) > 0 {
			hs[n] = g[0]
		}
	}
	nodes := slices.Collect(maps.Keys(hs))
	slices.SortFunc(nodes, func(a, b *graph.Node) int { return strings.Compare(a.Name(), b.Name()) })
	for _, n := range nodes {
		q.few.Check(n.Name(), hs[n].Samples(), hs[n].Stats().Active())
	}
}

// mergeFolds replaces every Hessian h of the stage (the even samples'
// fold) by the Hessian of all samples, and records both folds under it
// in q.folds.
func (q *quantizer) mergeFolds(folds map[*obs.Hessian]obs.Folds) error {
	all := map[*obs.Hessian]*obs.Hessian{}
	for h, f := range folds {
		if !f.Split() {
			all[h] = h // one sample: nothing to cross-validate on
			continue
		}
		m, err := f.Sum()
		if err != nil {
			return err
		}
		all[h] = m
		q.folds[m] = f
		if c, ok := q.cross[h]; ok {
			q.cross[m] = c
		}
	}
	for n, h := range q.hess {
		q.hess[n] = all[h]
	}
	for _, hs := range q.convHess {
		for g, h := range hs {
			hs[g] = all[h]
		}
	}
	return nil
}

// blocked is blockedWith node's calibration statistics (nil without).
func (q *quantizer) blocked(node *graph.Node, w []float32, k, n int, kMajor bool, st int32) (*blocked, string, error) {
	return q.blockedWith(q.hess[node], w, k, n, kMajor, st)
}

// blockedWith quantizes w ([K, N] when kMajor, else [N, K]) in blocks
// along K, with scales stored in float type st: by GPTQ on Hessian h when
// there is one (its float32 scales then rounded to st), else to nearest.
// how names the method, for reports.
func (q *quantizer) blockedWith(h *obs.Hessian, w []float32, k, n int, kMajor bool, st int32) (b *blocked, how string, err error) {
	if h == nil {
		b, err = quantizeBlocked(w, k, n, q.cfg.block, kMajor, q.cfg.typ, q.cfg.symmetric, st)
		return b, "rtn", err
	}
	res, how, err := q.gptq(h, w, k, n, kMajor, q.cfg.block)
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
			b.scale[g*n+r] = storableScale(res.Scales[r*nb+g], st)
			b.zp[g*n+r] = int32(res.Zeros[r*nb+g]) - shift
		}
	}
	return b, how, nil
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
// With damps= and two folds of h (q.folds), the damp is the candidate
// obs.ChooseDamp picks. how names the method and the damp, for reports.
func (q *quantizer) gptq(h *obs.Hessian, w []float32, k, n int, kMajor bool, group int) (res *obs.Quantized, how string, err error) {
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
			return nil, "", fmt.Errorf("element %d is %v: cannot quantize a tensor holding NaN or infinity", i, x)
		}
	}
	target := ""
	if q.cfg.anchor > 0 {
		// target=original: quantize the weight that reproduces the
		// original layer's outputs from the inputs the layer now gets
		// (the weight itself in the first stage: no cross products).
		if c := q.cross[h]; c != nil {
			if ow, err = obs.Anchor(h, c, ow, q.cfg.anchor); err != nil {
				return nil, "", err
			}
		}
		target = ", target=original"
	}
	opts := obs.QuantOptions{Bits: q.cfg.typ.bits, Group: group, Symmetric: q.cfg.symmetric, ActOrder: true, Search: q.cfg.search}
	sw := obs.SweepOptions{Damp: q.cfg.damp}
	how = "gptq"
	if folds, ok := q.folds[h]; ok {
		if sw.Damp, _, err = obs.ChooseDamp(folds, ow, opts, sw, q.cfg.damps); err != nil {
			return nil, "", err
		}
		how = fmt.Sprintf("gptq damp %v (cross-validated)", sw.Damp)
		if q.chosen == nil {
			q.chosen = map[float64]int{}
		}
		q.chosen[sw.Damp]++
	}
	res, err = obs.GPTQ(h, ow, opts, sw)
	return res, how + target, err
}

// noteDamps summarizes the damps cross-validation chose, if any.
func (q *quantizer) noteDamps() {
	if len(q.chosen) == 0 {
		return
	}
	var parts []string
	for _, d := range q.cfg.damps {
		if c := q.chosen[d]; c > 0 {
			parts = append(parts, fmt.Sprintf("%v on %d", d, c))
			delete(q.chosen, d)
		}
	}
	q.ctx.Note("GPTQ damp chosen per weight (per conv group) by cross-validation between the even and the odd calibration samples: %s", strings.Join(parts, ", "))
}

// gptqChannels is quantizeTensor for a 2-D MatMul or Gemm weight with
// calibration statistics: per output channel (axes.Out), fitted by GPTQ.
func (q *quantizer) gptqChannels(h *obs.Hessian, w []float32, dims []int64, axes passes.Axes) (*quantized, string, error) {
	kMajor := axes.Feature == 0
	k, n := int(dims[axes.Feature]), int(dims[axes.Out])
	res, how, err := q.gptq(h, w, k, n, kMajor, 0)
	if err != nil {
		return nil, "", err
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
	return r, how, nil
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
