package prune

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/oneshot"
)

// Pass zeroes the smallest-magnitude float weights (see the package doc).
var Pass = &passes.Pass{
	Name: "prune",
	Doc:  "zero the smallest-magnitude float weights (or, with method=wanda|sparsegpt, those calibration says matter least), to a target sparsity or below a threshold",
	Options: append([]passes.Option{
		{Name: "sparsity", Kind: passes.Float, Doc: "fraction of exact zeros to reach, 0 <= sparsity < 1 (exactly round(sparsity*n) of n)"},
		{Name: "threshold", Kind: passes.Float, Doc: "instead of sparsity: zero every weight with |w| < threshold"},
		{Name: "scope", Kind: passes.Enum, Values: []string{"tensor", "global"}, Doc: "sparsity per tensor (default) or ranked across all selected weights"},
		{Name: "ops", Kind: passes.List, Default: "MatMul|Gemm|Conv|ConvTranspose", Doc: "op types whose weight input is pruned (Gather: embedding tables)"},
		{Name: "include", Kind: passes.List, Doc: "only tensors or nodes whose name matches one of these globs"},
		{Name: "exclude", Kind: passes.List, Doc: "leave tensors or nodes whose name matches one of these globs"},
		{Name: "min-elements", Kind: passes.Int, Default: "16", Doc: "leave tensors with fewer elements alone"},
	}, append(oneshot.Options(), oneshot.LayersOption)...),
	NeedsRuntime: oneshot.Calibrated,
	Run:          run,
	StreamsWith:  func(a passes.Args) bool { return !oneshot.Calibrated(a) }, // calibrated methods run the model in ONNX Runtime
	Check:        func(a passes.Args) error { _, err := configure(a); return err },
}

func init() { passes.Register(Pass) }

// chunkElems is the size of the pieces global selection splits tensors
// into, so that one large tensor still spreads over all cores.
var chunkElems = 1 << 18

// item is one selected weight and its scan state.
type item struct {
	w       *passes.Weight
	n       int64     // elements
	v       []float32 // the values while held: a read-only view for float32, decoded for float64
	h       []uint16  // or, for float16 and bfloat16, a read-only view of their bits
	tab     *keyTable // h's key table
	chunks  []*chunk  // consecutive pieces of v or h
	offs    []int     // offset of each chunk in v or h
	zeros   int64
	changed int64 // nonzero elements the pass zeroes
	err     error
}

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	cfg, err := configure(a)
	if err != nil {
		return err
	}
	if cfg.method.Method != oneshot.Magnitude {
		return runCalibrated(ctx, m, cfg)
	}
	items, err := selectWeights(ctx, m, cfg.sel)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		ctx.Note("no float weights selected")
		return nil
	}
	var total int64 // bytes of weights, as stored
	for _, it := range items {
		total += it.w.Tensor.Bytes()
	}
	prog := passes.NewWeightProgress(ctx, total)
	// Streaming, the weights in flight stay within the store's budget.
	each := func(fn func(i int)) {
		passes.ParallelWithin(len(items), ctx.Threads, passes.StreamBudget(m), func(i int) int64 { return items[i].held() }, fn)
	}
	switch {
	case cfg.useThresh:
		t := key(cfg.threshold)
		each(func(i int) {
			it := items[i]
			if it.load() {
				it.split(it.len())
				for _, c := range it.chunks {
					c.countBelow(t)
				}
				it.finish(t)
			}
			it.release()
			prog.Add(it.w.Tensor.Bytes())
		})
	case cfg.global && streaming(m):
		// The model does not stay in memory: find the cut from histograms
		// first (no weights kept), then apply it tensor by tensor.
		cut, err := selectStreamed(items, cfg.sparsity, each)
		if err != nil {
			return err
		}
		each(func(i int) {
			it := items[i]
			if it.load() {
				it.split(it.len())
				c := it.chunks[0]
				c.countBelow(cut.t)
				c.quota = cut.quotas[i]
				it.finish(cut.t)
			}
			it.release()
			prog.Add(it.w.Tensor.Bytes())
		})
		ctx.Set("cut_magnitude", float64(math.Float32frombits(cut.t)))
	case cfg.global:
		var all []*chunk
		var n int64
		for _, it := range items {
			if !it.load() {
				return it.err
			}
			it.split(chunkElems)
			all = append(all, it.chunks...)
			n += int64(it.len())
		}
		k := int64(math.Round(cfg.sparsity * float64(n)))
		cut := countOrSelect(all, k, ctx.Threads)
		passes.Parallel(len(items), ctx.Threads, func(i int) {
			items[i].finish(cut.t)
			items[i].release()
			prog.Add(items[i].w.Tensor.Bytes())
		})
		ctx.Set("cut_magnitude", float64(math.Float32frombits(cut.t)))
	default:
		each(func(i int) {
			it := items[i]
			if it.load() {
				it.split(it.len())
				k := int64(math.Round(cfg.sparsity * float64(it.len())))
				cut := countOrSelect(it.chunks, k, 1)
				it.finish(cut.t)
			}
			it.release()
			prog.Add(it.w.Tensor.Bytes())
		})
	}
	return report(ctx, items)
}

// streaming reports whether the model's weights are read one at a time
// (Model.Stream), so that no pass may hold them all.
func streaming(m *graph.Model) bool { return m.Store != nil && m.Store.Streaming() }

// countOrSelect selects the k smallest keys of chunks, or, for k = 0,
// only counts their zeros.
func countOrSelect(chunks []*chunk, k int64, threads int) cut {
	if k > 0 {
		return selectSmallest(chunks, k, threads)
	}
	passes.Parallel(len(chunks), threads, func(i int) { chunks[i].countBelow(0) })
	return cut{}
}

// selectWeights finds the weights; their values are read when needed.
func selectWeights(ctx *passes.Context, m *graph.Model, sel passes.Selection) ([]*item, error) {
	ws := passes.FindWeights(m, sel, func(name, reason string) { ctx.Skip(name, "%s", reason) })
	seen := map[*onnx.TensorProto]bool{}
	var items []*item
	for _, w := range ws {
		if seen[w.Tensor.Proto] {
			continue
		}
		seen[w.Tensor.Proto] = true
		n, err := w.Tensor.Elements()
		if err != nil {
			return nil, fmt.Errorf("weight %q of %s: %w", w.Value.Name, w.Node, err)
		}
		items = append(items, &item{w: w, n: n})
	}
	return items, nil
}

// load reads the item's values (read-only), recording a failure in it.err.
// 16-bit floats are not decoded: their bits are ranked through a key table.
func (it *item) load() bool {
	t := it.w.Tensor
	if tab := keysOf(t.DataType()); tab != nil {
		raw, err := t.Raw()
		if err == nil && int64(len(raw)) != 2*it.n {
			err = fmt.Errorf("%d bytes of data for %d 16-bit values", len(raw), it.n)
		}
		if err != nil {
			it.err = fmt.Errorf("weight %q of %s: %w", it.w.Value.Name, it.w.Node, err)
			return false
		}
		it.h, it.tab = onnx.BytesAsUint16s(raw), tab
		return true
	}
	v, err := t.Floats()
	if err != nil {
		it.err = fmt.Errorf("weight %q of %s: %w", it.w.Value.Name, it.w.Node, err)
		return false
	}
	it.v = v
	return true
}

// held is how many bytes the item holds while loaded: the tensor's, and
// a decoded copy of a float64 tensor.
func (it *item) held() int64 {
	b := it.w.Tensor.Bytes()
	if it.w.Tensor.DataType() == int32(onnx.TensorProto_DOUBLE) {
		b += 4 * it.n
	}
	return b
}

// len returns the number of values held.
func (it *item) len() int {
	if it.tab != nil {
		return len(it.h)
	}
	return len(it.v)
}

// release lets the tensor's bytes go (to the output, when streaming) and
// drops the item's views of them.
func (it *item) release() {
	if err := it.w.Tensor.Release(); err != nil && it.err == nil {
		it.err = fmt.Errorf("weight %q: %w", it.w.Value.Name, err)
	}
	it.v, it.h, it.chunks, it.offs = nil, nil, nil, nil
}

// split cuts the item's values into chunks of at most size elements.
func (it *item) split(size int) {
	it.chunks, it.offs = nil, nil
	size = max(size, 1)
	n := it.len()
	for off := 0; ; off += size {
		end := min(off+size, n)
		c := &chunk{tab: it.tab}
		if it.tab != nil {
			c.h = it.h[off:end]
		} else {
			c.v = it.v[off:end]
		}
		it.chunks = append(it.chunks, c)
		it.offs = append(it.offs, off)
		if end == n {
			return
		}
	}
}

// finish applies the cut t to the item, whose chunks hold their counts,
// copying the values only when something changes. float32, float16 and
// bfloat16 tensors are changed in place (their own bytes, or a private
// copy: see graph.Tensor.MutableRaw), so values left alone keep their
// bits; float64 ones are zeroed in their decoded copy and written back.
func (it *item) finish(t uint32) {
	for _, c := range it.chunks {
		it.zeros += c.zeros
		it.changed += c.changes(t)
	}
	if it.changed == 0 {
		return
	}
	if err := it.zero(t); err != nil {
		it.err = fmt.Errorf("weight %q: %w", it.w.Value.Name, err)
	}
}

// zero applies the cut t to the tensor.
func (it *item) zero(t uint32) error {
	tensor := it.w.Tensor
	if it.tab != nil {
		raw, err := tensor.MutableRaw()
		if err != nil {
			return err
		}
		for i, c := range it.chunks {
			apply16(raw[2*it.offs[i]:], c.h, c.tab, t, c.quota)
		}
		return nil
	}
	v := it.v
	float32s := tensor.DataType() == int32(onnx.TensorProto_FLOAT)
	if float32s {
		var err error
		if v, err = tensor.MutableFloat32s(); err != nil {
			return err
		}
	}
	for i, c := range it.chunks {
		apply(v[it.offs[i]:it.offs[i]+len(c.v)], t, c.quota)
	}
	if !float32s {
		return tensor.SetFloats(v)
	}
	return nil
}

func report(ctx *passes.Context, items []*item) error {
	for _, it := range items {
		if it.err != nil {
			return it.err
		}
		n := float64(it.n)
		tr := passes.TensorReport{Name: it.w.Value.Name, Shape: it.w.Tensor.Dims(), DType: passes.DTypeOf(it.w.Tensor)}
		if n > 0 {
			tr.SparsityBefore = float64(it.zeros) / n
			tr.SparsityAfter = float64(it.zeros+it.changed) / n
		}
		tr.Detail = fmt.Sprintf("zeroed %d of %d", it.changed, it.n)
		ctx.Tensor(tr)
		if it.changed > 0 {
			ctx.Report.TensorsTouched++
			ctx.Report.WeightsZeroed += it.changed
		}
	}
	return nil
}
