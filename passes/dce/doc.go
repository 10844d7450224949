// Package dce defines the dce pass: it removes nodes whose outputs nobody
// uses, transitively, in the main graph and in every subgraph, then the
// initializers (dense and sparse) that no node uses any more.
//
// The roots are the outputs of every graph: the model's outputs and each
// subgraph's outputs, which may name values of an enclosing graph. Graph
// inputs are never removed, nor initializers that are also graph inputs.
// ONNX operators are pure functions, so a node none of whose outputs is
// used (including one without outputs) is dead, whatever its domain.
//
// Sweep is the same clean-up as a function, for passes that leave garbage
// behind (fold-constants uses it).
package dce
