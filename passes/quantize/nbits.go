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
// opset-21 DequantizeLinear feeding the original op (format=qdq).
func (q *quantizer) nbits(n *graph.Node) (string, error) {
	if n.OpType() == "Conv" {
		return "4-bit quantization covers MatMul and Gemm; Conv stays float (use an 8-bit type)", nil
	}
	l, why, err := q.asLinear(n)
	if l == nil {
		return why, err
	}
	if q.cfg.format == "qdq" {
		return q.blockedQDQ(l)
	}
	key := cacheKey{l.weight, fmt.Sprintf("nbits/%s/%d/%v/%v/%v", q.cfg.typ.name, q.cfg.block, q.cfg.symmetric, l.kMajor, l.alpha)}
	g := l.weight.Graph()
	bq, scale, zp := q.cache[key], q.cache[key.plus("s")], q.cache[key.plus("z")]
	nb := (l.k + q.cfg.block - 1) / q.cfg.block
	if bq == nil {
		b, err := quantizeBlocked(l.w, l.k, l.n, q.cfg.block, l.kMajor, q.cfg.typ, q.cfg.symmetric)
		if err != nil {
			return "", fmt.Errorf("weight %s: %w", l.weight.Name, err)
		}
		packed, scales, zps, err := b.matMulNBits(q.cfg.typ.signed)
		if err != nil {
			return "", fmt.Errorf("weight %s: %w", l.weight.Name, err)
		}
		for i := range scales {
			scales[i] *= l.alpha
		}
		base := l.weight.Name
		u8 := int32(onnx.TensorProto_UINT8)
		bq = newInit(g, base+"_q4", u8, []int64{int64(l.n), int64(nb), int64(q.cfg.block / 2)}, packed)
		scale = floatInit(g, base+"_scales", []int64{int64(l.n * nb)}, scales)
		if zps != nil {
			zp = newInit(g, base+"_zero_points", u8, []int64{int64(len(zps))}, zps)
		}
		q.cache[key], q.cache[key.plus("s")], q.cache[key.plus("z")] = bq, scale, zp
		after := bq.Tensor.Bytes() + scale.Tensor.Bytes()
		if zp != nil {
			after += zp.Tensor.Bytes()
		}
		q.report(l.weight, after, fmt.Sprintf("%s block %d -> MatMulNBits", q.cfg.typ.name, q.cfg.block))
	}
	oldBias := l.node.Input(2)
	inputs := []*graph.Value{n.Input(0), bq, scale, zp, nil, l.bias}
	err = q.replaceLinear(l, "MatMulNBits", msDomain, inputs,
		attrInt("K", int64(l.k)), attrInt("N", int64(l.n)), attrInt("bits", 4),
		attrInt("block_size", int64(q.cfg.block)), attrInt("accuracy_level", 4))
	if err != nil {
		return "", err
	}
	return "", cleanup(l.weight, oldBias)
}

// blockedQDQ replaces l's weight by DequantizeLinear(int4 or uint4
// weight, scales [K/block, N], axis=0, block_size) (for Gemm with transB,
// the [N, K] layout with axis=1), raising the model to opset 21.
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
		b, err := quantizeBlocked(l.w, l.k, l.n, q.cfg.block, l.kMajor, q.cfg.typ, q.cfg.symmetric)
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
		sv := floatInit(g, base+"_scales", sdims, scales)
		in := []*graph.Value{wq, sv}
		after := wq.Tensor.Bytes() + sv.Tensor.Bytes()
		if !allZero(zps) {
			zv := newInit(g, base+"_zero_points", q.cfg.typ.onnx, sdims, qformat.Pack(zps, 4))
			in = append(in, zv)
			after += zv.Tensor.Bytes()
		}
		dq := g.NewNode("DequantizeLinear", base+"/DequantizeLinear", in, []string{base + "_dequantized"},
			attrInt("axis", axis), attrInt("block_size", int64(q.cfg.block)))
		deq = dq.Output(0)
		q.cache[key] = deq
		q.report(l.weight, after, fmt.Sprintf("%s block %d -> DequantizeLinear", q.cfg.typ.name, q.cfg.block))
	}
	// A Gemm keeps its own alpha, beta and C.
	l.node.SetInput(1, deq)
	return "", cleanup(l.weight, l.bias)
}
