// Package oneshot is the layer-by-layer driver of calibrated one-shot
// sparsification that the prune and nm passes share: Wanda (Sun et al.,
// 2023) and SparseGPT (Frantar & Alistarh, 2023), whose kernels live in
// internal/obs.
//
// Given the weights to sparsify and the pattern each must reach (a
// fraction, or N:M along the layout Matrix's columns), Run
// captures the activations that multiply each weight through ONNX Runtime
// (passes/calib) and fits the weight to them. Layers are processed in
// dependency order: a layer's level is the number of selected layers on
// its longest path from the model's inputs, and the layers of one level
// are captured together, on the model as the earlier levels left it, so
// layer l is fitted on the inputs that the already-sparsified layers
// 1..l-1 produce. One level is one calib.Capture (one ONNX Runtime session
// over the in-memory model with the layers' inputs exposed as outputs);
// a level whose statistics would exceed MaxStatsBytes is split.
//
// Per layer only statistics are kept, accumulated sample by sample: for
// Wanda the L2 norm of every input feature (O(features)), for SparseGPT
// XᵀX (O(features²) float64). A MatMul or Gemm input [.., K] gives rows
// of K features; a Conv input is unfolded by calib.Im2Col, one matrix per
// conv group, and its columns reordered to the layout Matrix's order
// (kernel tap outer, input channel inner) so that N:M groups are M
// consecutive input channels at one tap, as nm defines them. Memory is
// therefore bounded by one calibration sample's activations of the
// level's layers (im2col-unfolded for a Conv) plus the statistics, never
// the whole calibration set.
//
// An unstructured fraction is ranked per output row or over the whole
// layer (mask=row|layer, Config.Scope). The default follows each paper:
// SparseGPT ranks per layer (per column block, the saliencies of all rows
// compared, so the layer total is exact while rows that matter more keep
// more weights), Wanda per row. A grouped conv's groups are matrices of
// their own with their own statistics; mask=layer still ranks them
// together (obs.SparseGPTGroups, obs.WandaGroups), so a depthwise conv,
// one row of a few taps per group, keeps more taps in the channels that
// matter instead of the same share of every channel.
//
// Config.Layers (prune's layers=) may spread an unstructured fraction
// over the layers instead of giving it to each: Error ranks every
// weight's estimated share of its layer's output error over all layers
// (obs.SpreadSparsity; Wanda's or SparseGPT's own estimate), OWL follows
// each layer's outlier ratio. Either takes one capture of the unpruned
// model before the first level (feature norms, or for Error with
// SparseGPT the Hessians, captured in groups of up to MaxStatsBytes) and
// sets each layer's Pattern.Sparsity; the levels then run as above.
//
// Config.Anchor (target=original) changes what a layer is fitted to: the
// original layer's outputs on the original model's inputs rather than
// its own output on the inputs it now receives. Each level then runs the
// model as the pass found it (a clone taken before the first level)
// beside the one being pruned, sample by sample (calib.Pair), and
// accumulates per group the Hessian of the current inputs X' and the
// cross products X'ᵀX with the original inputs X (obs.Cross; Wanda takes
// the Hessian too). The weight is refitted to the original outputs
// (obs.Anchor, ridge towards the weight), the method chooses its mask on
// that weight, and the kept weights, the mask fixed, take a few
// conjugate-gradient steps towards the least-squares fit of the original
// outputs (obs.RefitAnchored). Statistics per group: the
// cross products, one more Cols×Cols float64 matrix beside the Hessian
// (or its folds, with damps=). The clone keeps the original weights
// while the pruned ones are written, and each capture holds one
// sample's activations of both models: peak memory is about twice
// target=layer's. With damps= the damp is cross-validated on the folds
// against the weight refitted on all samples, so the held-out fold is
// not quite held out of the refit.
//
// Handled: MatMul with a 2-D weight, Gemm (transA=0), 1-D and 2-D Conv
// (groups included) in the main graph, float32 activations. Other uses
// (ConvTranspose, batched MatMul weights, nodes inside subgraphs) are
// reported as skipped; a weight also read by Gather (a tied embedding) is
// fitted on the activations of its other uses.
package oneshot
