// Package prune is the onnxopt pass "prune": magnitude pruning of float
// weights (float32, float16, bfloat16, float64), each kept in its type.
//
// The weights are the constants (initializers or Constant nodes, in any
// graph, subgraphs included) feeding the weight input of the selected ops:
// MatMul, Gemm, Conv and ConvTranspose by default; ops= may add Gather
// (embedding tables). A weight shared by several nodes is pruned once.
// Weights computed at run time are left alone and reported as skipped.
//
// Exactly one of two criteria is given:
//
//	sparsity=S   zero the round(S*n) smallest magnitudes (0 <= S < 1), so
//	             that exactly that many elements are zero. With scope=tensor
//	             (the default) every tensor gets S on its own; with
//	             scope=global the magnitudes of all selected tensors are
//	             ranked together and the smallest S of them all are zeroed.
//	             Existing zeros count: a tensor (or, globally, the set of
//	             tensors) that already has enough zeros is left as it is.
//	             Ties are broken by position: among equal magnitudes, the
//	             one earlier in the tensor (and, globally, in the earlier
//	             tensor, in graph order) is zeroed first.
//	threshold=T  zero every weight with |w| < T (T >= 0, compared in
//	             float32): a weight whose magnitude equals T is kept.
//
// include= and exclude= are '|'-separated glob patterns on the tensor name
// or the consuming node's name; min-elements=N (default 16) leaves tensors
// of fewer than N elements alone, as pruning them saves nothing.
//
// method=wanda or method=sparsegpt (with sparsity=, per tensor) ranks
// weights by a score computed from calibration activations instead of
// their magnitude, and prunes round(sparsity·features) weights of every
// output row (mask=row, Wanda's default) or round(sparsity·size) of the
// weight ranked together (mask=layer, SparseGPT's default; a grouped
// conv's groups ranked together). layers=error or layers=owl spread the
// fraction over the layers instead of giving it to each (the same
// fraction of all weights removed); passes/oneshot does the work and
// documents the calibration options and the memory bound.
//
// The k smallest magnitudes are found by radix selection on the bits of
// |w| (three histogram passes over the data, no sort and no copy), in
// parallel across tensors (scope=tensor) or across chunks of all the
// tensors (scope=global); results do not depend on the thread count.
// float16 and bfloat16 weights are never decoded: the 15 magnitude bits of
// each value index a table of the float32 key of the same number, so they
// rank exactly as their float32 values would (mixed types included), and
// the chosen elements are zeroed in the tensor's own 16-bit bytes.
package prune
