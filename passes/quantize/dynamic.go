package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
)

// dynamic rewrites a MatMul or Gemm with a constant weight into
// com.microsoft.DynamicQuantizeMatMul: the weight is quantized offline to
// [K, N] 8-bit (per column when per-channel), the activation at run time.
// The op is float32 only: in a float16 model Casts convert its input and
// output, and its scales and bias are stored in float32. A Conv becomes
// ConvInteger with dynamic-conv=true (convint.go).
func (q *quantizer) dynamic(n *graph.Node) (string, error) {
	if n.OpType() == "Conv" {
		if q.cfg.dynConv {
			return q.convInteger(n)
		}
		return "dynamic mode leaves Conv in float unless dynamic-conv=true (DynamicQuantizeLinear + ConvInteger + rescale: half the file, but slower than float and than mode=static on CPU; see BENCHMARKS.md); use mode=static for Conv", nil
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
	bias, err := q.float32Bias(l)
	if err != nil {
		return "", err
	}
	const why32 = "DynamicQuantizeMatMul takes float32 only; Casts convert its input and output"
	inputs := []*graph.Value{q.castTo(n.Graph(), n.Input(0), l.dtype, tFloat, why32), bq, scale, zp, bias}
	if err := q.replaceLinear(l, "DynamicQuantizeMatMul", msDomain, inputs); err != nil {
		return "", err
	}
	if l.dtype != tFloat {
		y := l.node.Output(0)
		if l.add != nil {
			y = l.add.Output(0)
		}
		if err := q.castAfter(y, l.dtype, why32); err != nil {
			return "", err
		}
	}
	if l.add != nil {
		q.ctx.Note("%s: folded the following Add into the bias of DynamicQuantizeMatMul", l.node.Proto.GetName())
	}
	return "", cleanup(l.weight, oldBias, l.bias)
}

// float32Bias returns l's bias as float32, converting a constant of
// another float type into a new float32 initializer.
func (q *quantizer) float32Bias(l *linear) (*graph.Value, error) {
	b := l.bias
	if b == nil || b.Const() == nil || b.Const().DataType() == tFloat {
		return b, nil
	}
	f, err := b.Const().Floats()
	if err != nil {
		return nil, fmt.Errorf("bias %s: %w", b.Name, err)
	}
	return floatInit(b.Graph(), b.Name+"_float32", b.Const().Dims(), f), nil
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
