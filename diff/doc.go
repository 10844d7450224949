// Package diff reports what changed between two models: nodes added,
// removed and changed, constants (dense, sparse, Constant nodes) with their
// data type, shape, size and sparsity before and after, weights replaced by
// quantized ones with the error of their reconstruction (DequantizeLinear,
// com.microsoft DynamicQuantizeMatMul, MatMulNBits and
// GatherBlockQuantized, ConvInteger with its rescale; a Conv weight whose
// BatchNormalization the pass folded in is compared with the folded
// weight), float weights converted to another float type with their
// rounding error (through the Casts convert-float inserts), changes to graph
// inputs and outputs, opsets and metadata, and, when run, the effect on the
// outputs and on matched intermediate values.
//
// Nodes are paired by structure, not only by name, because passes rename
// and insert nodes: first by unique node name, then by the name of the
// value they produce, then through already matched neighbours (the
// producers of matched inputs, the consumers of matched outputs), then by
// op type and position in topological order (a longest common subsequence
// of the unmatched nodes), and once more through neighbours. A node whose
// data input is quantized at run time (ConvInteger after
// DynamicQuantizeLinear) is paired with the consumer of the float input it
// replaces. Ops a pass substitutes for another (MatMul by MatMulNBits,
// Gather by GatherBlockQuantized, ...) pair their inputs by role, and a
// value read through a Cast, a Reshape of a packed constant or a
// DynamicQuantizeLinear still counts as its counterpart. Values follow
// their nodes: outputs of matched nodes, inputs at the same position of
// matched nodes, graph inputs and outputs by name and then position.
//
// Compare builds a Result; WriteText, WriteJSON and WriteHTML render it;
// RunOutputs (run.go) adds the effect on outputs through ONNX Runtime.
package diff
