package quantize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// Pass is the quantize pass.
var Pass = &passes.Pass{
	Name: "quantize",
	Doc:  "store MatMul/Gemm/Conv weights (and, in static mode, activations) as 8-bit or 4-bit integers in forms ONNX Runtime runs fast",
	Options: append([]passes.Option{
		{Name: "type", Kind: passes.Enum, Default: "int8", Values: []string{"int8", "uint8", "int4", "uint4"}, Doc: "integer type of the weights"},
		{Name: "mode", Kind: passes.Enum, Values: []string{"dynamic", "static", "weight-only"}, Doc: "dynamic (activations quantized at run time; default for 8-bit), static (calibrated Q/DQ) or weight-only (always for 4-bit)"},
		{Name: "per-channel", Kind: passes.Bool, Default: "true", Doc: "one scale per output channel of each weight (else one per tensor)"},
		{Name: "symmetric", Kind: passes.Bool, Default: "true", Doc: "weight ranges centred on zero (no zero point)"},
		{Name: "block", Kind: passes.Int, Default: "32", Doc: "4-bit block size along K: 16, 32, 64 or 128"},
		{Name: "format", Kind: passes.Enum, Default: "matmulnbits", Values: []string{"matmulnbits", "qdq"}, Doc: "4-bit form: com.microsoft.MatMulNBits, or opset-21 blocked DequantizeLinear (the only one for Conv: blocks along the input channels; depthwise Convs stay float)"},
		{Name: "ops", Kind: passes.List, Default: "MatMul|Gemm|Conv", Doc: "op types to quantize"},
		{Name: "include", Kind: passes.List, Doc: "only nodes or weights whose name matches one of these globs ('*' and '?' wildcards); empty means all"},
		{Name: "exclude", Kind: passes.List, Doc: "leave nodes or weights whose name matches one of these globs (a weight shared with an excluded node is still quantized for the others)"},
		{Name: "method", Kind: passes.Enum, Values: []string{"minmax", "percentile", "entropy", "rtn", "gptq"}, Doc: "static mode: how activation ranges are chosen from calibration (minmax, the default; percentile, entropy); weight-only: how weights are rounded (rtn: to nearest, the default; gptq: GPTQ fitted on calibration activations, layer by layer)"},
		{Name: "damp", Kind: passes.Float, Default: "0.01", Doc: "method=gptq: fraction of the mean Hessian diagonal added to it before factoring (more regularises layers with few calibration rows per feature)"},
		{Name: "damps", Kind: passes.List, Doc: "method=gptq: candidate dampenings (e.g. 0.001|0.01|0.1|1); each weight (each conv group) takes the one whose GPTQ on half the calibration samples best keeps the layer's output on the other half (two folds, even and odd samples, both ways round), instead of damp; costs two GPTQ sweeps per candidate and three Hessians per input (two folds and their sum) while a stage is fitted"},
		{Name: "grid", Kind: passes.Enum, Default: "minmax", Values: []string{"minmax", "mse"}, Doc: "method=gptq: each block's scale (and zero point) spans the block's full range (minmax, as method=rtn and the GPTQ paper do), or that range shrunk by the factor (1 down to 0.2) that rounds the block with the least error weighted by the features' activation energy (mse: better on some models, worse on others; see BENCHMARKS.md)"},
		{Name: "gather", Kind: passes.Bool, Default: "false", Doc: "4-bit: also quantize embedding tables read by Gather as com.microsoft.GatherBlockQuantized (a table shared with a Gemm/MatMul head is stored once for both)"},
		{Name: "accuracy-level", Kind: passes.Int, Default: "4", Doc: "MatMulNBits accuracy_level: 0 (unset), 1 (float32), 2 (float16), 3 (bfloat16) or 4 (int8 activations, the fast one on CPU)"},
		{Name: "percentile", Kind: passes.Float, Default: "99.99", Doc: "static mode, method=percentile: the share of values (percent) the range keeps"},
		{Name: "dynamic-conv", Kind: passes.Bool, Default: "false", Doc: "mode=dynamic: also quantize Conv, as DynamicQuantizeLinear + ConvInteger + rescale (about half the float file, but slower than float and than static QDQ on CPU: see BENCHMARKS.md)"},
	}, append(calib.TargetOptions(), calib.Options()...)...), // method=gptq: target, ridge; static mode and method=gptq: calib, samples, seed, shapes
	Check:        func(a passes.Args) error { _, err := parseConfig(a); return err },
	NeedsRuntime: func(a passes.Args) bool { return a.String("mode") == "static" || a.String("method") == "gptq" }, // calibration
	Run:          run,
}

func init() {
	// Weight-only and dynamic quantization read, replace and release one
	// weight at a time (eachTarget, newInit), so they run on a streamed
	// model; static mode and method=gptq run the model in ONNX Runtime.
	Pass.StreamsWith = func(a passes.Args) bool {
		c, err := parseConfig(a)
		return err == nil && c.mode != "static" && !c.gptq
	}
	passes.Register(Pass)
}

// config is the checked options of one run.
type config struct {
	typ        qtype
	mode       string
	perChannel bool
	symmetric  bool
	block      int
	format     string
	ops        []string
	include    []string
	exclude    []string
	calib      calib.Config // static mode's calibration samples
	method     string
	percentile float64
	gptq       bool      // weight-only, method=gptq
	damp       float64   // method=gptq: Hessian dampening
	damps      []float64 // method=gptq: candidate dampenings, cross-validated per weight
	search     bool      // method=gptq, grid=mse: each group's range searched
	anchor     float64   // method=gptq, target=original: the refit's ridge (0: target=layer)
	gather     bool
	accuracy   int  // MatMulNBits accuracy_level
	dynConv    bool // dynamic mode: Conv as ConvInteger
}

// supportedOps are the op types the pass knows how to quantize.
var supportedOps = []string{"MatMul", "Gemm", "Conv"}

func parseConfig(a passes.Args) (*config, error) {
	c := &config{
		typ:        qtypes[a.String("type")],
		mode:       a.String("mode"),
		perChannel: a.Bool("per-channel"),
		symmetric:  a.Bool("symmetric"),
		block:      int(a.Int("block")),
		format:     a.String("format"),
		ops:        a.List("ops"),
		include:    a.List("include"),
		exclude:    a.List("exclude"),
		method:     a.String("method"),
		percentile: a.Float("percentile"),
		gptq:       a.String("method") == "gptq",
		damp:       a.Float("damp"),
		search:     a.String("grid") == "mse",
		gather:     a.Bool("gather"),
		accuracy:   int(a.Int("accuracy-level")),
		dynConv:    a.Bool("dynamic-conv"),
	}
	if c.typ.name == "" {
		return nil, fmt.Errorf("type %q is not int8, uint8, int4 or uint4", a.String("type"))
	}
	if c.typ.bits == 4 {
		if c.mode != "" && c.mode != "weight-only" {
			return nil, fmt.Errorf("type=%s is weight-only; mode=%s needs an 8-bit type", c.typ.name, c.mode)
		}
		c.mode = "weight-only"
		switch c.block {
		case 16, 32, 64, 128:
		default:
			return nil, fmt.Errorf("block=%d: 4-bit block size must be 16, 32, 64 or 128", c.block)
		}
	} else if c.mode == "" && c.gptq {
		c.mode = "weight-only"
	} else if c.mode == "" {
		c.mode = "dynamic"
	}
	switch {
	case c.method == "" && c.mode == "weight-only":
		c.method = "rtn"
	case c.method == "":
		c.method = "minmax"
	case c.mode == "weight-only" && !c.gptq && c.method != "rtn":
		return nil, fmt.Errorf("method=%s chooses activation ranges for mode=static; weight-only rounding is method=rtn or gptq", c.method)
	}
	for _, op := range c.ops {
		if !slices.Contains(supportedOps, op) {
			return nil, fmt.Errorf("ops: cannot quantize %q (supported: %s)", op, strings.Join(supportedOps, ", "))
		}
	}
	if !(c.damp > 0 && c.damp < 1e6) {
		return nil, fmt.Errorf("damp=%s: want a number > 0", a.String("damp"))
	}
	var err error
	if c.damps, err = a.PositiveFloats("damps"); err != nil {
		return nil, err
	}
	if c.anchor, err = calib.ConfigureTarget(a, c.gptq, "method=gptq", calib.TargetOriginal); err != nil {
		return nil, err
	}
	if len(c.damps) == 1 { // nothing to choose between
		c.damp, c.damps = c.damps[0], nil
	}
	if a.String("method") != "gptq" {
		if err := a.Unused("method=gptq", "damp", "damps", "grid"); err != nil {
			return nil, err
		}
	} else if a.Given("damp") && a.Given("damps") {
		return nil, fmt.Errorf("give damp= or damps=, not both")
	}
	if err := c.checkWeightOnly(a.String("method")); err != nil {
		return nil, err
	}
	if c.calib, err = calib.Configure(a); err != nil {
		return nil, err
	}
	if c.percentile <= 50 || c.percentile > 100 {
		return nil, fmt.Errorf("percentile=%v: want a value in (50, 100]", c.percentile)
	}
	return c, nil
}

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	c, err := parseConfig(a)
	if err != nil {
		return err
	}
	q := &quantizer{ctx: ctx, m: m, cfg: c, cache: map[cacheKey]*graph.Value{}, qcache: map[cacheKey]*quantized{}, forms: map[cacheKey]*nbitsForm{}}
	targets := q.targets()
	switch {
	case c.mode == "static":
		err = q.static(targets)
	case c.typ.bits == 4:
		err = q.weightOnly(targets, q.nbits)
	case c.mode == "dynamic":
		err = q.eachTarget(targets, q.dynamic)
	default: // weight-only, 8-bit
		err = q.weightOnly(targets, q.weightOnly8)
	}
	if err != nil {
		return err
	}
	ctx.Set("quantized_nodes", q.done)
	ctx.Set("mode", c.mode)
	ctx.Set("method", c.method)
	if c.gptq {
		target := calib.TargetLayer
		if c.anchor > 0 {
			target = calib.TargetOriginal
		}
		ctx.Set("target", target)
	}
	ctx.Set("type", c.typ.name)
	q.reportCasts()
	var sortErr error
	m.Graph.Walk(func(g *graph.Graph) {
		if err := g.Sort(); err != nil && sortErr == nil {
			sortErr = err
		}
	})
	return sortErr
}

// quantizer holds the state of one run of the pass.
type quantizer struct {
	ctx    *passes.Context
	m      *graph.Model
	cfg    *config
	cache  map[cacheKey]*graph.Value // quantized forms of shared weights
	qcache map[cacheKey]*quantized
	forms  map[cacheKey]*nbitsForm      // 4-bit forms shared by MatMulNBits and GatherBlockQuantized
	hess   map[*graph.Node]*obs.Hessian // method=gptq: the current stage's activation statistics
	// convHess: the same for 4-bit Convs, one per conv group, columns
	// in convBlocks' padded order.
	convHess map[*graph.Node][]*obs.Hessian
	// folds: with damps=, the even and the odd samples' Hessians of each
	// Hessian above; chosen counts the damps picked, for the report.
	folds map[*obs.Hessian]obs.Folds
	// cross: with target=original, the cross products of each Hessian's
	// input in the model being quantized and in ref, the model as the
	// pass found it.
	cross  map[*obs.Hessian]*obs.Cross
	ref    *graph.Model
	paired bool // the stage being fitted runs ref beside the model
	chosen map[float64]int
	few    calib.FewRows // GPTQ layers with under-determined Hessians
	done   int

	halfScales   int // 0 undecided, 1 float16 scales (opset 19), -1 float32 scales and Casts
	casts        int // Casts inserted, counted by reason
	castWhy      map[string]int
	castOrder    []string
	dqlCache     map[*graph.Value]*dynamicInput // DynamicQuantizeLinear per activation
	convIntNoted bool
	halfBias     []string // float16 biases static mode left float
	uint8Noted   bool
}

// cacheKey names one quantized form of a weight.
type cacheKey struct {
	w    *graph.Value
	form string
}

// targets lists the nodes to quantize in every graph, in graph order: the
// selected op types whose weight is a float constant, selected by node or
// weight name (passes.FindWeights, per node: quantizing writes new
// tensors, so a weight shared with an excluded node stays for that node).
func (q *quantizer) targets() []*graph.Node {
	sel := passes.Selection{Ops: q.cfg.ops, Include: q.cfg.include, Exclude: q.cfg.exclude, PerNode: true}
	if len(sel.Ops) == 0 {
		return nil // ops= given empty: nothing selected
	}
	return q.selected(sel)
}

// selected lists, in graph order, the nodes of every graph that read a
// weight sel chooses; weights stored in 16 bits behind a Cast to float32
// are skipped with the reason.
func (q *quantizer) selected(sel passes.Selection) []*graph.Node {
	want := map[*graph.Node]bool{}
	for _, w := range passes.FindWeights(q.m, sel, func(name, reason string) { q.ctx.Skip(name, "%s", reason) }) {
		if w.Cast != nil {
			q.ctx.Skip(w.Value.Name, "stored as %s behind a Cast: quantize the float32 computation of such a model after convert-float(to=float32)", onnx.DataTypeName(w.Tensor.DataType()))
			continue
		}
		for _, u := range w.Uses {
			want[u] = true
		}
	}
	var out []*graph.Node
	q.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if want[n] {
				out = append(out, n)
			}
		}
	})
	return out
}

// eachTarget applies fn to every target; fn returns a reason when it left
// the node alone.
func (q *quantizer) eachTarget(targets []*graph.Node, fn func(n *graph.Node) (string, error)) error {
	var total int64
	for _, n := range targets {
		total += constBytes(n)
	}
	prog := passes.NewWeightProgress(q.ctx, total)
	for _, n := range targets {
		// The weights n reads now, released once it is rewritten: in
		// streaming mode their bytes leave memory (new tensors do in
		// newInit).
		var held []*graph.Tensor
		for _, v := range n.Inputs() {
			if v == nil {
				continue
			}
			if t := v.Const(); t != nil {
				held = append(held, t)
			}
		}
		size := constBytes(n)
		why, err := fn(n)
		for _, t := range held {
			if rerr := t.Release(); err == nil && rerr != nil {
				err = rerr
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if why != "" {
			q.ctx.Skip(n.String(), "%s", why)
		} else {
			q.done++
		}
		prog.Add(size)
	}
	return nil
}

// constBytes is the size of the constants node n reads.
func constBytes(n *graph.Node) int64 {
	var b int64
	for _, v := range n.Inputs() {
		if v != nil && v.Const() != nil {
			b += v.Const().Bytes()
		}
	}
	return b
}
