// Package quantize is the onnxopt pass that stores weights (and, in static
// mode, activations) in 8-bit or 4-bit integers, in the graph forms ONNX
// Runtime's CPU kernels run fast:
//
//   - mode=dynamic (8-bit): MatMul and Gemm become
//     com.microsoft.DynamicQuantizeMatMul with int8 weights quantized offline
//     per output channel; activations are quantized at run time. A bias Add
//     that follows is folded into the op. With dynamic-conv=true, Conv
//     becomes DynamicQuantizeLinear + ConvInteger (uint8 weights) + a float
//     rescale and bias, the form ONNX Runtime's quantize_dynamic gives it:
//     half the file, but slower than float on CPU (off by default; see
//     BENCHMARKS.md).
//   - mode=static (8-bit): QuantizeLinear/DequantizeLinear pairs around the
//     activations and outputs of MatMul, Gemm and Conv, with activation
//     ranges measured by running the model on calibration samples (minmax,
//     percentile or entropy); weights per channel, biases int32. Random
//     samples need every dynamic dimension but the batch sized (shapes=):
//     an image model calibrated on 1x1 images gets ranges nothing like
//     real ones.
//   - mode=weight-only: weights stored as integers behind a
//     DequantizeLinear; for 4-bit types, blocked along K (symmetric blocks
//     map their largest magnitude to -8, as ONNX Runtime does), either as
//     com.microsoft.MatMulNBits (format=matmulnbits) or as the standard
//     opset-21 blocked DequantizeLinear (format=qdq). MatMulNBits gets
//     accuracy_level from accuracy-level= (default 4, int8 activations,
//     the fast CPU kernel). method=rtn rounds to nearest; method=gptq fits
//     the codes with GPTQ (act-order, groups = the blocks, or one per
//     output channel for 8-bit) on calibration activations captured
//     through ONNX Runtime, stage by stage so that each layer sees the
//     outputs of the already quantized layers before it (gptq.go).
//     damp= is the Hessian dampening; damps= lists candidates instead,
//     and each weight takes the one obs.ChooseDamp picks by split-half
//     cross-validation on the calibration samples (even and odd).
//     With format=qdq, 4-bit Conv weights are blocked along the input
//     channels at each kernel tap (DequantizeLinear axis=1; scales
//     [M, ceil(C/group/block), kh, kw]) and GPTQ fits them on the im2col
//     Hessian in that column order; depthwise Convs stay float
//     (convblock.go).
//     gather=true also stores embedding tables read by Gather as
//     com.microsoft.GatherBlockQuantized in the MatMulNBits layout, so a
//     table shared with a Gemm(transB=1) head is stored once (gather.go).
//     Weights are quantized one at a time; the float data of each is
//     dropped once nothing reads it.
//
// Targets are the selected op types (ops=) whose weight is a float
// constant (float32, or float16/bfloat16 in the 8-bit modes; float.go says
// which scale types and Casts each op gets), found by passes.FindWeights; include= and exclude= select them
// by node or weight name. Quantizing writes new tensors, so a weight shared
// with an excluded node is quantized for the others and stays float for
// that node. Which weight axis holds the output channels (the per-channel
// scales) and which holds K comes from passes.LayoutOf.
//
// The numeric core (quant.go) is plain Go with exact-byte tests; the graph
// rewrites are in dynamic.go, nbits.go and static.go; calibration, which
// needs ONNX Runtime, is in calib.go.
package quantize
