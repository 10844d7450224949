package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/nd"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
)

// nbits quantizes a MatMul or Gemm weight to 4 bits in blocks along K:
// as com.microsoft.MatMulNBits (format=matmulnbits) or as a blocked
// opset-21 DequantizeLinear feeding the original op (format=qdq). A Conv
// weight takes the second form only, in blocks along its input channels
// (convblock.go).
func (q *quantizer) nbits(n *graph.Node) (_ string, err error) {
	var out *graph.Value // the output MatMulNBits computes
	if n.OpType() == "Conv" {
		return q.blockedConv(n) // convblock.go
	}
	l, why, err := q.asLinear(n)
	if l == nil {
		return why, err
	}
	if q.cfg.format == "qdq" {
		return q.blockedQDQ(l)
	}
	st := nbitsScaleType(l.dtype)
	f, err := q.nbitsOf(n, l.weight, l.w, l.k, l.n, l.kMajor, l.alpha, st)
	if err != nil {
		return "", err
	}
	oldBias := l.node.Input(2)
	x, bias := n.Input(0), l.bias
	if st != l.dtype { // MatMulNBits computes in float32 here: Casts around it
		why := fmt.Sprintf("MatMulNBits has no %s kernel on CPU; Casts to float32 and back", onnx.DataTypeName(l.dtype))
		x = q.castTo(n.Graph(), x, l.dtype, st, why)
		if bias, err = floatCopy(bias, st); err != nil {
			return "", err
		}
		defer func() {
			if err == nil {
				err = q.castAfter(out, l.dtype, why)
			}
		}()
	}
	out = l.node.Output(0)
	if l.add != nil {
		out = l.add.Output(0)
	}
	inputs := []*graph.Value{x, f.b, f.scales, f.zps, nil, bias}
	err = q.replaceLinear(l, "MatMulNBits", msDomain, inputs,
		attrInt("K", int64(l.k)), attrInt("N", int64(l.n)), attrInt("bits", 4),
		attrInt("block_size", int64(q.cfg.block)), attrInt("accuracy_level", int64(q.cfg.accuracy)))
	if err != nil {
		return "", err
	}
	return "", cleanup(l.weight, oldBias, l.bias)
}

// nbitsForm is a weight quantized to 4 bits in blocks along K, in
// MatMulNBits' layout: B uint8 [N, K/block, block/2], scales float
// [N, K/block] and packed zero points uint8 [N, ceil(K/block/2)] (nil when
// every zero point is 8). The same initializers serve every MatMulNBits
// and GatherBlockQuantized reading the weight: an embedding table
// [vocab, hidden] read by a Gather is, for a tied LM head
// Gemm(transB=1), B with N = vocab and K = hidden.
type nbitsForm struct {
	k, n           int
	b, scales, zps *graph.Value
	// rows is B reshaped to [N, K/2] for GatherBlockQuantized, made on
	// first use.
	rows *graph.Value
}

// nbitsOf returns the 4-bit form of weight wv, whose float data w is
// [K, N] when kMajor and [N, K] otherwise, with scales multiplied by
// alpha and stored in float type st; made once per weight and layout. The codes are node's GPTQ fit
// when it has calibration statistics (method=gptq), else rounded to
// nearest.
func (q *quantizer) nbitsOf(node *graph.Node, wv *graph.Value, w []float32, k, n int, kMajor bool, alpha float32, st int32) (*nbitsForm, error) {
	key := cacheKey{wv, fmt.Sprintf("nbits/%s/%d/%v/%v/%v", q.cfg.typ.name, q.cfg.block, q.cfg.symmetric, kMajor, alpha)}
	if f := q.forms[key]; f != nil {
		return f, nil
	}
	packed, scales, zps, how, err := q.nbitsCodes(node, w, k, n, kMajor, st)
	if err != nil {
		return nil, fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	nb := len(scales) / n
	if alpha != 1 {
		for i := range scales {
			scales[i] = storableScale(scales[i]*alpha, st)
		}
	}
	g := wv.Graph()
	base := wv.Name
	u8 := int32(onnx.TensorProto_UINT8)
	f := &nbitsForm{k: k, n: n}
	f.b = newInit(g, base+"_q4", u8, []int64{int64(n), int64(nb), int64(q.cfg.block / 2)}, packed)
	f.scales = floatInitAs(g, base+"_scales", []int64{int64(n), int64(nb)}, scales, st)
	after := f.b.Tensor.Bytes() + f.scales.Tensor.Bytes()
	if zps != nil {
		f.zps = newInit(g, base+"_zero_points", u8, []int64{int64(n), int64(len(zps) / n)}, zps)
		after += f.zps.Tensor.Bytes()
	}
	q.forms[key] = f
	q.report(wv, after, fmt.Sprintf("%s block %d %s -> MatMulNBits layout", q.cfg.typ.name, q.cfg.block, how))
	return f, nil
}

// nbitsCodes quantizes w as nbitsOf describes, in MatMulNBits' layout:
// by GPTQ when node has calibration statistics, else to nearest straight
// into the packed bytes (nbitsRTN).
func (q *quantizer) nbitsCodes(node *graph.Node, w []float32, k, n int, kMajor bool, st int32) (packed []byte, scales []float32, zps []byte, how string, err error) {
	if q.hess[node] == nil {
		packed, scales, zps, err = nbitsRTN(w, k, n, q.cfg.block, kMajor, q.cfg.typ, q.cfg.symmetric, st)
		return packed, scales, zps, "rtn", err
	}
	b, how, err := q.blocked(node, w, k, n, kMajor, st)
	if err != nil {
		return nil, nil, nil, "", err
	}
	packed, scales, zps, err = b.matMulNBits(q.cfg.typ.signed)
	return packed, scales, zps, how, err
}

// blockedQDQ replaces l's weight by DequantizeLinear(int4 or uint4
// weight, scales [K/block, N], axis=0, block_size) (for Gemm with transB,
// the [N, K] layout with axis=1), raising the model to opset 21. Scales
// are float16 for a float16 weight (scaleType), float32 otherwise, with a
// Cast to bfloat16 after the DequantizeLinear for a bfloat16 one.
func (q *quantizer) blockedQDQ(l *linear) (string, error) {
	if err := q.needOpset(21, "blocked DequantizeLinear (block_size) with INT4/UINT4 weights"); err != nil {
		return "", err
	}
	if l.bias != nil && l.node.OpType() == "MatMul" {
		l.add, l.bias = nil, nil // the Add stays as it is
	}
	key := cacheKey{l.weight, fmt.Sprintf("qdq4/%s/%d/%v", q.cfg.typ.name, q.cfg.block, q.cfg.symmetric)}
	g := l.weight.Graph()
	deq := q.cache[key]
	if deq == nil {
		st := q.scaleType(l.dtype)
		b, how, err := q.blocked(l.node, l.w, l.k, l.n, l.kMajor, st)
		if err != nil {
			return "", fmt.Errorf("weight %s: %w", l.weight.Name, err)
		}
		codes, scales, zps := b.q, b.scale, b.zp
		wdims, sdims, axis := []int64{int64(l.k), int64(l.n)}, []int64{int64(b.nb), int64(l.n)}, int64(0)
		if !l.kMajor { // keep Gemm's [N, K] layout: blocks along axis 1
			codes, scales, zps = nd.Transpose(codes, l.k, l.n), nd.Transpose(scales, b.nb, l.n), nd.Transpose(zps, b.nb, l.n)
			wdims, sdims, axis = []int64{int64(l.n), int64(l.k)}, []int64{int64(l.n), int64(b.nb)}, 1
		}
		base := l.weight.Name
		wq := newInit(g, base+"_q4", q.cfg.typ.onnx, wdims, qformat.Pack(codes, 4))
		after := wq.Tensor.Bytes()
		var zv *graph.Value
		if !allZero(zps) {
			zv = newInit(g, base+"_zero_points", q.cfg.typ.onnx, sdims, qformat.Pack(zps, 4))
			after += zv.Tensor.Bytes()
		}
		var sv *graph.Value
		deq, sv = q.dequantize(g, base, wq, zv, scales, sdims, st, l.dtype, attrInt("axis", axis), attrInt("block_size", int64(q.cfg.block)))
		after += sv.Tensor.Bytes()
		q.cache[key] = deq
		q.report(l.weight, after, fmt.Sprintf("%s block %d %s -> DequantizeLinear", q.cfg.typ.name, q.cfg.block, how))
	}
	// A Gemm keeps its own alpha, beta and C.
	l.node.SetInput(1, deq)
	return "", cleanup(l.weight, l.bias)
}
