// Package nm is the onnxopt pass "nm": N:M structured sparsity of float32
// weights, the pattern sparse tensor cores accelerate (2:4 by default).
//
// In every group of M consecutive weights along the reduction (input
// channel) dimension the pass keeps the N largest magnitudes and zeroes the
// rest; among equal magnitudes the lower index is kept. The reduction axis
// depends on the consumer, as passes.LayoutOf describes it (the groups are
// M consecutive columns of the weight's passes.Matrix):
//
//	MatMul         B [.., K, N]          axis -2 (K; axis 0 for a 1-D B)
//	Gemm           B [K, N], transB=0    axis 0
//	               B [N, K], transB=1    axis 1
//	Conv           W [O, I/g, kh, kw]    axis 1 (input channels)
//	ConvTranspose  W [I, O/g, kh, kw]    axis 0 (input channels); groups of
//	                                     M never straddle two conv groups
//
// A weight whose reduction size is not a multiple of M, and a weight shared
// by nodes that reduce it along different axes, are left alone and
// reported as skipped. Weights are the constants (initializers or Constant
// nodes, subgraphs included) feeding the weight input of the selected ops
// (ops=, default all four); include= and exclude= filter them by tensor or
// node name. Weights computed at run time are skipped.
//
// method=wanda or method=sparsegpt chooses the kept weights of every
// group from calibration activations (Wanda's |W|·‖X‖, or SparseGPT's
// OBS saliency with the error compensated on later groups), through
// passes/oneshot, over the same groups.
//
// Every tensor the pass makes N:M sparse is recorded in the model's
// metadata_props under "onnxopt.sparsity": a JSON object mapping tensor
// names to their pattern ("2:4"), merged with what an earlier run wrote.
package nm
