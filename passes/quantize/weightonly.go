package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// weightAxes returns the roles of the axes of n's weight of shape dims
// (passes.LayoutOf), or why the weight does not fit n.
func weightAxes(n *graph.Node, dims []int64) (passes.Axes, string) {
	l, ok := passes.LayoutOf(n)
	if !ok {
		return passes.Axes{}, n.OpType() + " has no weight layout"
	}
	a, err := l.Axes(n, dims)
	if err != nil {
		return passes.Axes{}, err.Error()
	}
	if a.Out < 0 {
		return passes.Axes{}, fmt.Sprintf("weight of shape %v has no output-channel axis", dims)
	}
	return a, ""
}

// quantizedWeight returns DequantizeLinear(8-bit weight, scale, zero
// point, axis) for n's constant weight, shared between nodes using the same
// weight; nil with a reason when the weight cannot be quantized.
func (q *quantizer) quantizedWeight(n *graph.Node) (*graph.Value, *quantized, string, error) {
	wv := n.Input(1)
	if wv == nil {
		return nil, nil, "has no weight input", nil
	}
	t := wv.Const()
	if t == nil {
		return nil, nil, "weight " + wv.Name + " is computed at run time, not a constant", nil
	}
	if wv.IsInput() {
		return nil, nil, "weight " + wv.Name + " is also a graph input (a caller may replace it at run time)", nil
	}
	if !t.IsFloat() {
		return nil, nil, fmt.Sprintf("weight %s is %s, not a float type", wv.Name, onnx.DataTypeName(t.DataType())), nil
	}
	dims := t.Dims()
	if n.OpType() != "Conv" && len(dims) != 2 {
		return nil, nil, fmt.Sprintf("weight %s has shape %v, not 2-D", wv.Name, dims), nil
	}
	axes, why := weightAxes(n, dims)
	if why != "" {
		return nil, nil, why, nil
	}
	axis := axes.Out // per channel: one scale per output channel
	key := cacheKey{wv, fmt.Sprintf("w8/%d", axis)}
	if v := q.cache[key]; v != nil {
		return v, q.qcache[key], "", nil
	}
	w, err := t.Floats()
	if err != nil {
		return nil, nil, "", fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	qa := axis
	if !q.cfg.perChannel {
		qa = -1
	}
	if err := q.needOpset(13, "per-channel DequantizeLinear"); err != nil {
		return nil, nil, "", err
	}
	dt := t.DataType()
	st := q.scaleType(dt)
	var r *quantized
	how := ""
	if h := q.hess[n]; h != nil && qa >= 0 && len(dims) == 2 && st == int32(onnx.TensorProto_FLOAT) {
		r, how, err = q.gptqChannels(h, w, dims, axes)
		how = " " + how
	} else {
		r, err = quantizeTensorAs(w, dims, qa, q.cfg.typ, q.cfg.symmetric, st)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	g := wv.Graph()
	sdims := []int64{int64(len(r.scale))}
	if qa < 0 {
		sdims = nil
	}
	base := wv.Name
	wq := newInit(g, base+"_quantized", q.cfg.typ.onnx, dims, qformat.Pack(r.q, 8))
	zv := newInit(g, base+"_zero_point", q.cfg.typ.onnx, sdims, qformat.Pack(r.zp, 8))
	var attrs []*onnx.AttributeProto
	if qa >= 0 {
		attrs = append(attrs, attrInt("axis", int64(qa)))
	}
	dq, sv := q.dequantize(g, base, wq, zv, r.scale, sdims, st, dt, attrs...)
	q.cache[key] = dq
	q.qcache[key] = r
	q.report(wv, wq.Tensor.Bytes()+sv.Tensor.Bytes()+zv.Tensor.Bytes(), fmt.Sprintf("%s %s%s -> DequantizeLinear", q.cfg.typ.name, granularity(q.cfg.perChannel), how))
	return dq, r, "", nil
}

// weightOnly8 stores n's weight as 8-bit integers behind a
// DequantizeLinear; activations stay float.
func (q *quantizer) weightOnly8(n *graph.Node) (string, error) {
	deq, _, why, err := q.quantizedWeight(n)
	if deq == nil {
		return why, err
	}
	old := n.Input(1)
	n.SetInput(1, deq)
	return "", cleanup(old)
}
