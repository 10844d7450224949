// Package foldconstants defines the fold-constants pass: it evaluates nodes
// whose inputs are all constants (initializers or Constant nodes, in the
// main graph or any subgraph) and replaces their outputs by initializers of
// the same names, so graph outputs keep their names; then it removes what
// became dead with dce.Sweep (which also removes any other dead node or
// unused initializer).
//
// Only ops it can evaluate exactly as ONNX Runtime does are folded:
// Identity, Cast (between float32/float64, the integer types and bool,
// when every value converts exactly or, float to integer, truncates within
// range), Reshape, Transpose, Squeeze and Unsqueeze (attribute or input
// axes, by opset), Shape (of any value whose shape is fully known),
// Concat, Gather, Add/Sub/Mul/Div on float32, float64, int32 and int64
// with broadcasting (never an integer division by zero), Slice,
// ConstantOfShape and Range (integers). An initializer that is also a graph
// input is not a constant: a caller may feed it.
//
// A node is left alone, and reported as skipped, when its result would
// exceed max-bytes or it cannot be evaluated exactly.
package foldconstants
