// Package structured removes whole neurons and channels, so that every
// layer really gets smaller and faster (unlike scattered zeros).
//
// Analyze finds the channel groups of a model: the dimensions of the
// tensors that must shrink together when one neuron goes (a MatMul weight
// column, a Gemm row with transB, a Conv output filter), followed through
// bias adds and elementwise ops, activations, BatchNormalization's four
// vectors, residual Adds (all members shrink together or none does),
// Concat (at offsets), depthwise convolutions, Flatten, constant-shape
// Reshape, Transpose and pooling. Anything it cannot prove (graph inputs
// and outputs, unknown ops, subgraphs, run-time shapes, grouped or shared
// weights) leaves the group alone, with the reason in the report.
//
// Two passes use it:
//
//   - dead-neurons removes neurons that cannot influence the output: zero
//     outgoing weights; zero incoming weights whose activation is zero;
//     zero incoming weights with a constant output, folded into the next
//     layer's bias first. The result computes the same function.
//   - prune-channels ranks each group's channels by the L1 or L2 norm of
//     all their coupled weights and removes the smallest ratio of them
//     (min-channels, round-to, include and exclude refine the choice).
//
// Constant-node weights are handled exactly like initializers.
package structured
