package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
)

// dynamic rewrites a MatMul or Gemm with a constant weight into
// com.microsoft.DynamicQuantizeMatMul: the weight is quantized offline to
// [K, N] 8-bit (per column when per-channel), the activation at run time.
func (q *quantizer) dynamic(n *graph.Node) (string, error) {
	if n.OpType() == "Conv" {
		return "dynamic mode leaves Conv in float: ONNX Runtime has no fused dynamic-quantized Conv (ConvInteger needs uint8 activations from DynamicQuantizeLinear plus a per-channel rescale and bias around it); use mode=static for Conv", nil
	}
	l, why, err := q.asLinear(n)
	if l == nil {
		return why, err
	}
	key := cacheKey{l.weight, fmt.Sprintf("dq8/%s/%v/%v/%v/%v", q.cfg.typ.name, q.cfg.perChannel, q.cfg.symmetric, l.kMajor, l.alpha)}
	g := l.weight.Graph()
	bq, scale, zp := q.cache[key], q.cache[key.plus("s")], q.cache[key.plus("z")]
	if bq == nil {
		w := l.w
		if !l.kMajor {
			w = nd.Transpose(w, l.n, l.k)
		}
		axis := 1
		if !q.cfg.perChannel {
			axis = -1
		}
		dims := []int64{int64(l.k), int64(l.n)}
		r, err := quantizeTensor(w, dims, axis, q.cfg.typ, q.cfg.symmetric)
		if err != nil {
			return "", fmt.Errorf("weight %s: %w", l.weight.Name, err)
		}
		for i := range r.scale {
			r.scale[i] *= l.alpha
		}
		sdims := []int64{int64(len(r.scale))}
		if axis < 0 {
			sdims = nil
		}
		base := l.weight.Name
		bq = newInit(g, base+"_quantized", q.cfg.typ.onnx, dims, bytes8(r.q))
		scale = floatInit(g, base+"_scale", sdims, r.scale)
		if !allZero(r.zp) {
			zp = newInit(g, base+"_zero_point", q.cfg.typ.onnx, sdims, bytes8(r.zp))
		}
		q.cache[key], q.cache[key.plus("s")], q.cache[key.plus("z")] = bq, scale, zp
		after := bq.Tensor.Bytes() + scale.Tensor.Bytes()
		if zp != nil {
			after += zp.Tensor.Bytes()
		}
		q.report(l.weight, after, fmt.Sprintf("%s %s -> DynamicQuantizeMatMul", q.cfg.typ.name, granularity(q.cfg.perChannel)))
	}
	oldBias := l.node.Input(2)
	inputs := []*graph.Value{n.Input(0), bq, scale, zp, l.bias}
	if err := q.replaceLinear(l, "DynamicQuantizeMatMul", msDomain, inputs); err != nil {
		return "", err
	}
	if l.add != nil {
		q.ctx.Note("%s: folded the following Add into the bias of DynamicQuantizeMatMul", l.node.Proto.GetName())
	}
	return "", cleanup(l.weight, oldBias)
}

// cacheKey's suffixes name the companions of a cached quantized weight.
func (k cacheKey) plus(s string) cacheKey { return cacheKey{k.w, k.form + s} }

func cleanup(vs ...*graph.Value) error {
	for _, v := range vs {
		if err := dropIfUnused(v); err != nil {
			return err
		}
	}
	return nil
}

func allZero(v []int32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func granularity(perChannel bool) string {
	if perChannel {
		return "per-channel"
	}
	return "per-tensor"
}
