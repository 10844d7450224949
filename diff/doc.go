// Package diff reports what changed between two models: nodes added,
// removed and changed, constants (dense, sparse, Constant nodes) with their
// data type, shape, size and sparsity before and after, weights replaced by
// quantized ones with the error of their reconstruction, changes to graph
// inputs and outputs, opsets and metadata, and, when run, the effect on the
// outputs and on matched intermediate values.
//
// Nodes are paired by structure, not only by name, because passes rename
// and insert nodes: first by unique node name, then by the name of the
// value they produce, then through already matched neighbours (the
// producers of matched inputs, the consumers of matched outputs), then by
// op type and position in topological order (a longest common subsequence
// of the unmatched nodes), and once more through neighbours. Values follow
// their nodes: outputs of matched nodes, inputs at the same position of
// matched nodes, graph inputs and outputs by name and then position.
//
// Compare builds a Result; WriteText, WriteJSON and WriteHTML render it;
// RunOutputs (run.go) adds the effect on outputs through ONNX Runtime.
package diff
