// Package channels finds the channel groups of a model, for the passes
// that remove whole neurons and channels (prune-channels, dead-neurons),
// so that every layer really gets smaller and faster (unlike scattered
// zeros). It defines no pass itself.
//
// Analyze finds the channel groups: the dimensions of the tensors that
// must shrink together when one neuron goes (a MatMul weight column, a
// Gemm row with transB, a Conv output filter), followed through bias adds
// and elementwise ops, activations, BatchNormalization's four vectors,
// residual Adds (all members shrink together or none does), Concat (at
// offsets), depthwise convolutions, Flatten, constant-shape Reshape,
// Transpose and pooling. Anything it cannot prove (graph inputs and
// outputs, unknown ops, subgraphs, run-time shapes, grouped or shared
// weights) leaves the group alone, with the reason in Group.Reason.
// Analysis.Remove then deletes chosen channels from every tensor of their
// groups.
//
// The files follow the analysis: group.go (what it finds), analyze.go (the
// driver: a union-find over value dimensions, explored from each layer's
// output), rules.go (the table of operators it follows, one rule each, with
// layers.go and layout.go), finish.go (dimensions into groups), shapes.go
// (static shapes), remove.go (the rewrite).
//
// Constant-node weights are handled exactly like initializers.
package channels
