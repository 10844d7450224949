package quantize

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// static inserts QuantizeLinear/DequantizeLinear pairs on the activation
// input and the output of each target, quantizes its weight per channel
// behind a DequantizeLinear and its bias to int32, with activation ranges
// from calibration. Activations are uint8 asymmetric. A Conv followed by
// BatchNormalization has the BN folded into it first, so the weight is
// quantized as it will be used.
func (q *quantizer) static(targets []*graph.Node) error {
	act := qtypes["uint8"]
	// Refuse unusable calibration settings before changing anything.
	if err := q.cfg.calib.Check(ort.InputSpecs(q.m.ToProto())); err != nil {
		return err
	}
	var keep []*graph.Node
	for _, n := range targets {
		if n.Graph() != q.m.Graph {
			q.ctx.Skip(n.String(), "static mode quantizes the main graph only; this node is in a subgraph")
			continue
		}
		if n.OpType() == "Gemm" && n.AttrInt("transA", 0) != 0 {
			q.ctx.Skip(n.String(), "Gemm with transA=1")
			continue
		}
		w := n.Input(1)
		if w == nil || w.Const() == nil || !w.Const().IsFloat() {
			q.ctx.Skip(n.String(), "weight is not a float constant")
			continue
		}
		if n.OpType() == "Conv" {
			if err := q.foldBN(n); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		keep = append(keep, n)
	}
	if len(keep) == 0 {
		return nil
	}
	if err := q.needOpset(13, "per-channel QuantizeLinear/DequantizeLinear"); err != nil {
		return err
	}
	// Activations to calibrate: each target's input and output, of the
	// float type of its weight.
	var vals []*graph.Value
	var types []int32
	index := map[*graph.Value]int{}
	for _, n := range keep {
		for _, v := range []*graph.Value{n.Input(0), n.Output(0)} {
			if _, ok := index[v]; !ok && v != nil {
				index[v] = len(vals)
				vals = append(vals, v)
				types = append(types, n.Input(1).Const().DataType())
			}
		}
	}
	for k, v := range vals {
		if v.ElemType() == 0 && v.Info == nil {
			// Calibration declares it as an output, float32 when unknown.
			name, dt := v.Name, types[k]
			v.Info = &onnx.ValueInfoProto{Name: &name, Type: &onnx.TypeProto{
				Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: &dt}}}}
		}
	}
	lo, hi, err := q.calibrate(vals)
	if err != nil {
		return err
	}
	scales := make([]float32, len(vals))
	zps := make([]int32, len(vals))
	g := q.m.Graph
	for k, v := range vals {
		if isBad(lo[k]) || isBad(hi[k]) {
			lo[k], hi[k] = 0, 0
		}
		scales[k], zps[k] = params(lo[k], hi[k], act, false)
		scales[k] = storableScale(scales[k], q.scaleType(types[k]))
		q.ctx.Tensor(passesTensor(v.Name, fmt.Sprintf("activation range [%g, %g] (%s) -> uint8 scale %g zero point %d", lo[k], hi[k], q.cfg.method, scales[k], zps[k])))
	}
	// Weights and biases first (they need the input scale), then the
	// activation Q/DQ pairs.
	for _, n := range keep {
		old := n.Input(1)
		deq, r, why, err := q.quantizedWeight(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if deq == nil {
			q.ctx.Skip(n.String(), "%s", why)
			continue
		}
		n.SetInput(1, deq)
		if err := cleanup(old); err != nil {
			return err
		}
		if b := n.Input(2); b != nil && q.cfg.typ.signed && q.cfg.symmetric {
			if err := q.quantizeBias(n, b, scales[index[n.Input(0)]], r, types[index[n.Input(0)]]); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		q.done++
	}
	if len(q.halfBias) > 0 {
		q.ctx.Note("%d float16 biases left float (their int32 scale, input scale × weight scale, is below float16's normal range): %s", len(q.halfBias), strings.Join(q.halfBias, ", "))
	}
	const why = "QuantizeLinear/DequantizeLinear take float32 below opset 19; Casts convert around each pair"
	for k, v := range vals {
		dt := types[k]
		st := q.scaleType(dt)
		zv := newInit(g, v.Name+"_zero_point", act.onnx, nil, []byte{byte(zps[k])})
		uses := append([]graph.Use(nil), v.Uses()...)
		sv := floatInitAs(g, v.Name+"_scale", nil, []float32{scales[k]}, st)
		qn := g.NewNode("QuantizeLinear", v.Name+"/QuantizeLinear", []*graph.Value{q.castTo(g, v, dt, st, why), sv, zv}, []string{v.Name + "_quantized"})
		dn := g.NewNode("DequantizeLinear", v.Name+"/DequantizeLinear", []*graph.Value{qn.Output(0), sv, zv}, []string{v.Name + "_dequantized"})
		out := q.castTo(g, dn.Output(0), st, dt, why)
		for _, u := range uses {
			u.Node.SetInput(u.Index, out)
		}
	}
	return nil
}

// quantizeBias stores a constant float bias [C] as int32 with scale
// input scale × weight scale per channel, behind a DequantizeLinear, the
// form ONNX Runtime's QDQ fusions want. dt is the model's float type at n:
// a bias scale float16 would hold only roughly (below its normal range)
// leaves the bias float.
func (q *quantizer) quantizeBias(n *graph.Node, b *graph.Value, inScale float32, w *quantized, dt int32) error {
	t := b.Const()
	if t == nil || !t.IsFloat() || len(t.Dims()) != 1 {
		return nil // left float
	}
	st := q.scaleType(dt)
	f, err := t.Floats()
	if err != nil {
		return err
	}
	if len(w.scale) != 1 && len(w.scale) != len(f) {
		return nil
	}
	codes := make([]int32, len(f))
	sc := make([]float32, len(f))
	for i, x := range f {
		ws := w.scale[0]
		if len(w.scale) > 1 {
			ws = w.scale[i]
		}
		sc[i] = inScale * ws
		if st == tFloat16 && math.Abs(float64(sc[i])) < minNormalHalf {
			q.halfBias = append(q.halfBias, b.Name)
			return nil
		}
		sc[i] = roundTo(sc[i], st)
		r := math.RoundToEven(float64(x) / float64(sc[i]))
		if sc[i] == 0 || math.Abs(r) > 1<<30 || math.IsNaN(r) {
			// A near-empty activation range makes the bias scale tiny:
			// int32 would saturate, so the bias stays float.
			q.ctx.Note("%s: bias %s left float: it does not fit int32 at scale %g", n, b.Name, sc[i])
			return nil
		}
		codes[i] = int32(r)
	}
	g := n.Graph()
	qv := int32Init(g, b.Name+"_quantized", []int64{int64(len(f))}, codes)
	zv := int32Init(g, b.Name+"_zero_point", []int64{int64(len(f))}, make([]int32, len(f)))
	dq, _ := q.dequantize(g, b.Name, qv, zv, sc, []int64{int64(len(f))}, st, dt, attrInt("axis", 0))
	n.SetInput(2, dq)
	return cleanup(b)
}

// foldBN folds a BatchNormalization that is the only consumer of Conv n's
// output into n's weight and bias.
func (q *quantizer) foldBN(n *graph.Node) error {
	y := n.Output(0)
	if y == nil || len(y.Uses()) != 1 || y.IsOutput() {
		return nil
	}
	bn := y.Uses()[0].Node
	if bn.OpType() != "BatchNormalization" || bn.Domain() != "" || y.Uses()[0].Index != 0 || len(bn.Outputs()) != 1 || bn.Output(0).IsOutput() {
		return nil
	}
	var p [4][]float32
	for i := range p {
		v := bn.Input(i + 1)
		if v == nil || v.Const() == nil || !v.Const().IsFloat() {
			return nil
		}
		f, err := v.Const().Floats()
		if err != nil {
			return err
		}
		p[i] = f
	}
	wt := n.Input(1).Const()
	dims := wt.Dims()
	if len(dims) < 1 || int(dims[0]) != len(p[0]) {
		return nil
	}
	w, err := wt.Floats()
	if err != nil {
		return err
	}
	c := int(dims[0])
	for i := 1; i < 4; i++ {
		if len(p[i]) != c {
			return nil
		}
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	bias := make([]float32, c)
	if b := n.Input(2); b != nil {
		bt := b.Const()
		if bt == nil {
			return nil
		}
		bf, err := bt.Floats()
		if err != nil || len(bf) != c {
			return err
		}
		copy(bias, bf)
	}
	nw := make([]float32, len(w))
	per := len(w) / c
	for o := 0; o < c; o++ {
		s := float64(p[0][o]) / math.Sqrt(float64(p[3][o])+eps)
		for j := 0; j < per; j++ {
			nw[o*per+j] = float32(float64(w[o*per+j]) * s)
		}
		bias[o] = float32((float64(bias[o])-float64(p[2][o]))*s + float64(p[1][o]))
	}
	g := n.Graph()
	oldW, oldB := n.Input(1), n.Input(2)
	n.SetInput(1, floatInitAs(g, oldW.Name+"_bn", dims, nw, wt.DataType()))
	n.SetInput(2, floatInitAs(g, n.Name()+"_bias", []int64{int64(c)}, bias, wt.DataType()))
	bnParams := append([]*graph.Value(nil), bn.Inputs()[1:]...)
	bn.Output(0).ReplaceAllUsesWith(y)
	if err := g.RemoveNode(bn); err != nil {
		return err
	}
	q.ctx.Note("%s: folded %s into it", n, bn)
	return cleanup(append([]*graph.Value{oldW, oldB}, bnParams...)...)
}
