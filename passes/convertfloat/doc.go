// Package convertfloat defines the convert-float pass: it converts a
// model's float weights and computation between float32, float16 and
// bfloat16.
//
// convert-float(to=float16) stores every float32 constant that only
// float16 computation reads (initializers and Constant nodes, subgraphs
// included) as float16, and makes the ops
// compute in float16. An op stays in float32, with Casts around it, when
// ONNX Runtime's CPU provider has no kernel for it in the target type, when
// 16-bit floats would overflow or spoil its result (Resize scales, Range,
// TopK, reductions of squares: the blocked table, following
// onnxconverter-common and Olive), when the user lists it in block=, when
// a weight it reads lies beyond the float16 range (clamping would change
// the result; Clip bounds are clamped instead), when it is in another domain, when it holds subgraphs (its bodies are
// converted inside, with Casts at their boundary), or when an input's type
// is unknown. Casts to float32 inside the graph become Casts to the target.
// With keep-io=true (the default) graph inputs and outputs keep their
// types: Casts are inserted at the boundary and outputs keep their names.
//
// compute=float32 converts weights only ("stored half, computed in float"):
// constants of at least 16 elements are stored in the target type behind
// a Cast to their former type, and every op computes as before. It is the
// way to run bfloat16 weights on ONNX Runtime's CPU provider, which has
// few bfloat16 kernels.
//
// to=float32 converts float16 and bfloat16 models back.
//
// The report says how many constants were converted and clamped, how many
// Casts were inserted, and which ops stayed in their former type and why.
package convertfloat
