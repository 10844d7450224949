// Package repair is the repair pass: after a lossy pass (prune, nm,
// prune-channels, quantize), it fits each changed layer back to the
// original layer's outputs on calibration data, e.g.
// `prune-channels(ratio=0.25),repair` or `prune(sparsity=0.5),repair`.
//
// The original. The pass declares passes.Pass.NeedsReference, so
// passes.Run keeps a copy-on-write clone of the model as it entered the
// pipeline (ctx.Reference(); tensors are shared until the pipeline writes
// them, so this costs one proto copy without the weight bytes). repair
// therefore compares against the model before the whole pipeline, not
// before the previous step; it runs outside passes.Run with an error.
//
// Matching. A layer is a MatMul (2-D weight), Gemm (transA=0) or Conv
// (1-D or 2-D) whose weight is a float32 constant used by that node only.
// It is matched to the reference node producing the same output value
// name with the same op type. It is changed when its weight's shape or
// values differ from the reference's. Output channels: the same count
// means the same channels; fewer (prune-channels) are matched to the
// original rows holding the same nonzero values (each kept row's values
// vote for the original row they come from), and the target is the
// original outputs of those channels. Input features need no matching: the
// fit regresses on whatever the layer now sees, which is how it absorbs
// input channels removed upstream. A grouped Conv is fitted group by
// group; each compressed group must draw on one original group.
//
// With layers=downstream (the default) unchanged layers whose input is
// downstream of a changed layer are refitted too, so that later layers
// compensate for what earlier ones lost (a classifier head behind pruned
// blocks); layers=changed refits only the changed ones.
//
// Statistics. Layers are fitted level by level (calib.Levels, as
// passes/oneshot does): the layers of one level are captured together in
// one run of each model, after the levels before them are refitted, so
// each layer sees X', its input in the model being repaired (which
// reflects the layers repaired before it). The target is the original
// layer's output Y = X·origᵀ on its input X in the reference model, for
// the same samples. mode=lsq accumulates X'ᵀX' (obs.Hessian) and X'ᵀY
// with the means (obs.Targets); mode=bias only the means of X' and of X
// (one run of the reference serves every level).
//
// Modes. mode=bias adds E[Y] − E[X'·W'] to each output's bias (bias
// correction). mode=lsq (the default) first re-fits the kept weights by
// ridge least squares on centred activations to the original outputs —
// zeros stay zero, so a sparsity mask is respected — then corrects the
// bias; together that is the best affine fit with the mask (obs.Refit:
// one Cholesky per distinct kept set, or conjugate gradients over all rows
// when the rows have many). ridge= is λ per input feature, as a fraction
// of that feature's variance; it pulls each weight towards the value the
// lossy pass left (not towards zero), so what few calibration rows cannot
// determine — a layer after global pooling sees one row per sample — keeps
// its weight, and an unchanged layer with unchanged inputs stays as it is.
// ridges= lists candidates instead: the even and the odd calibration
// samples are accumulated apart, and each layer (each group of a grouped
// Conv) takes the candidate whose refit on one half best predicts the
// other half's targets, both ways round (obs.ChooseRidge), then is
// refitted on all samples with it. Each candidate costs two refits.
//
// Bias. A Gemm or Conv without one gets a new initializer; one whose bias
// is shared gets its own copy. A MatMul whose only use is an Add of a
// float32 vector constant used once has its correction folded into that
// constant; any other MatMul gets a new Add after it.
//
// Skipped, with the reason in the report: layers not matched in the
// reference, layers with more output channels than the original, rows
// whose original cannot be told (values changed beyond removal, e.g.
// pruned and then quantized by round-to-nearest), quantized layers
// (DequantizeLinear weights, MatMulNBits: they have no float weight to
// refit; bias correction for them is not done yet), shared, batched or
// non-float32 weights, and float16 activations. Nothing changed is a note,
// not an error.
package repair
