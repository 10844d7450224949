package quantize

import (
	"fmt"
	"slices"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// Dynamic Conv (mode=dynamic, dynamic-conv=true), the form ONNX Runtime's
// own dynamic quantizer gives a Conv:
//
//	x ─► DynamicQuantizeLinear ─► ConvInteger(x_q, W_q, x_zp[, W_zp]) ─► Cast(float32)
//	       │ x_scale                                                      │
//	       └──► Mul(x_scale, W_scale) ─────────────────────────────────► Mul ─► Add(bias) ─► y
//
// W is quantized offline, per output channel by default (ONNX Runtime's
// quantizer uses one scale per tensor here; the per-channel scales live in
// the rescale Mul, so ConvInteger still sees one weight zero point), and
// stored as uint8 whatever type= says (see convInteger). A
// BatchNormalization after the Conv is folded in first. DynamicQuantizeLinear
// and the rescale are float32 only: in a float16 model Casts convert x and
// y. One DynamicQuantizeLinear serves every Conv reading the same x.

// dynamicInput is an activation quantized at run time: the outputs of its
// DynamicQuantizeLinear.
type dynamicInput struct{ q, scale, zp *graph.Value }

// convAttrs are the Conv attributes ConvInteger shares.
var convAttrs = []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}

// convInteger rewrites Conv n as DynamicQuantizeLinear + ConvInteger +
// rescale, or says why it cannot.
func (q *quantizer) convInteger(n *graph.Node) (string, error) {
	x, wv := n.Input(0), n.Input(1)
	switch {
	case x == nil || wv == nil:
		return "has no data or weight input", nil
	case wv.Const() == nil:
		return "weight " + wv.Name + " is computed at run time, not a constant", nil
	case wv.IsInput():
		return "weight " + wv.Name + " is also a graph input (a caller may replace it at run time)", nil
	case !wv.Const().IsFloat():
		return fmt.Sprintf("weight %s is %s, not a float type", wv.Name, onnx.DataTypeName(wv.Const().DataType())), nil
	case len(wv.Const().Dims()) < 3:
		return fmt.Sprintf("weight %s has shape %v, not [M, C/group, k...]", wv.Name, wv.Const().Dims()), nil
	}
	if b := n.Input(2); b != nil && (b.Const() == nil || !b.Const().IsFloat() || len(b.Const().Dims()) != 1) {
		return "bias is not a constant float vector", nil
	}
	if err := q.foldBN(n); err != nil {
		return "", err
	}
	wv = n.Input(1)
	t := wv.Const()
	dims, dt := t.Dims(), t.DataType()
	axes, why := weightAxes(n, dims)
	if why != "" {
		return why, nil
	}
	qa := axes.Out
	if !q.cfg.perChannel {
		qa = -1
	}
	w, err := t.Floats()
	if err != nil {
		return "", fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	r, err := quantizeTensor(w, dims, qa, q.cfg.typ, q.cfg.symmetric)
	if err != nil {
		return "", fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	if slices.ContainsFunc(r.zp, func(z int32) bool { return z != r.zp[0] }) {
		return "ConvInteger takes one weight zero point, and asymmetric per-channel weights have one per channel: use symmetric=true or per-channel=false", nil
	}
	// ONNX Runtime's ConvInteger with int8 weights takes a slow path
	// (about 7x the uint8 one): int8 codes are stored as uint8 with the
	// zero point moved by 128, which dequantizes to the same values.
	wt := q.cfg.typ
	if wt.signed {
		wt = qtypes["uint8"]
		for i := range r.q {
			r.q[i] += 128
		}
		for i := range r.zp {
			r.zp[i] += 128
		}
		if !q.uint8Noted {
			q.uint8Noted = true
			q.ctx.Note("dynamic-conv: ConvInteger weights stored as uint8 (int8 codes + 128, zero point + 128: the same values), since ONNX Runtime's int8-weight ConvInteger is about 7x slower")
		}
	}
	g := n.Graph()
	base := wv.Name
	wq := newInit(g, base+"_quantized", wt.onnx, dims, bytes8(r.q))
	// The rescale broadcasts over [N, M, spatial...]: scales [1, M, 1, ...].
	bdims := make([]int64, len(dims))
	for i := range bdims {
		bdims[i] = 1
	}
	bdims[1] = dims[0]
	sdims := bdims
	if qa < 0 {
		sdims = nil
	}
	ws := floatInit(g, base+"_scale", sdims, r.scale)
	var wzp *graph.Value
	if r.zp[0] != 0 {
		wzp = newInit(g, base+"_zero_point", wt.onnx, nil, bytes8(r.zp[:1]))
	}
	after := wq.Tensor.Bytes() + ws.Tensor.Bytes()
	if wzp != nil {
		after += wzp.Tensor.Bytes()
	}
	q.report(wv, after, fmt.Sprintf("%s %s -> ConvInteger (stored %s)", q.cfg.typ.name, granularity(q.cfg.perChannel), wt.name))

	const why32 = "DynamicQuantizeLinear and the rescale after ConvInteger take float32 only; Casts convert the Conv's input and output"
	in := q.dynamicInput(g, x, dt, why32)
	y := n.Output(0)
	var attrs []*onnx.AttributeProto
	for _, a := range n.Proto.GetAttribute() {
		if slices.Contains(convAttrs, a.GetName()) {
			attrs = append(attrs, a)
		}
	}
	name := n.Name()
	if name == "" {
		name = y.Name
	}
	ci := g.NewNode("ConvInteger", name+"/ConvInteger", []*graph.Value{in.q, wq, in.zp, wzp}, []string{y.Name + "_int32"}, attrs...)
	if wzp == nil {
		ci.TruncateInputs(3)
	}
	cast := g.NewNode("Cast", name+"/Cast", []*graph.Value{ci.Output(0)}, []string{y.Name + "_int32_float"}, attrInt("to", int64(tFloat)))
	scale := g.NewNode("Mul", name+"/scales_mul", []*graph.Value{in.scale, ws}, []string{y.Name + "_scale"})
	oldW, oldB := wv, n.Input(2)
	if oldB == nil {
		rewrite(n, "Mul", "", name+"/rescale", []*graph.Value{cast.Output(0), scale.Output(0)})
	} else {
		bf, err := oldB.Const().Floats()
		if err != nil {
			return "", fmt.Errorf("bias %s: %w", oldB.Name, err)
		}
		bv := floatInit(g, oldB.Name+"_float32", bdims, bf)
		mul := g.NewNode("Mul", name+"/rescale", []*graph.Value{cast.Output(0), scale.Output(0)}, []string{y.Name + "_scaled"})
		rewrite(n, "Add", "", name+"/bias_add", []*graph.Value{mul.Output(0), bv})
	}
	if dt != tFloat {
		if err := q.castAfter(y, dt, why32); err != nil {
			return "", err
		}
	}
	if !q.convIntNoted {
		q.convIntNoted = true
		q.ctx.Note("dynamic-conv: Conv runs as DynamicQuantizeLinear + ConvInteger + rescale: about half the file, but on ONNX Runtime's CPU provider about 1.1-1.2x slower than the float model, where mode=static on a float32 model runs at about 0.3x (BENCHMARKS.md)")
	}
	return "", cleanup(oldW, oldB)
}

// dynamicInput returns the DynamicQuantizeLinear of x (of float type dt;
// a Cast to float32 in front when it is not float32), one per value.
func (q *quantizer) dynamicInput(g *graph.Graph, x *graph.Value, dt int32, why string) *dynamicInput {
	if q.dqlCache == nil {
		q.dqlCache = map[*graph.Value]*dynamicInput{}
	}
	if d := q.dqlCache[x]; d != nil && d.q.Graph() == g {
		return d
	}
	x32 := q.castTo(g, x, dt, tFloat, why)
	n := g.NewNode("DynamicQuantizeLinear", x.Name+"/DynamicQuantizeLinear", []*graph.Value{x32},
		[]string{x.Name + "_quantized", x.Name + "_scale", x.Name + "_zero_point"})
	d := &dynamicInput{n.Output(0), n.Output(1), n.Output(2)}
	q.dqlCache[x] = d
	return d
}
