// Package sparsestorage defines the sparse-storage pass: it stores float
// initializers that are mostly zeros as ONNX sparse initializers, a values
// tensor of the nonzeros plus their linear indices, so a pruned model's file
// shrinks. ONNX Runtime densifies them when it loads the model, so outputs
// are bit-identical and speed is unchanged.
//
// Only elements whose bits are all zero (+0.0) are left implicit; -0.0 is
// stored as a value, so densifying gives back the exact tensor. Indices are
// int64 by default, the only type the ONNX checker accepts; int32, int16
// and int8 are smaller and ONNX Runtime loads them, but other tools may
// not. A tensor is left dense (and reported as skipped) when the sparse
// form would not be smaller, when its linear indices do not fit the index
// type, when it is also a graph input (a caller may replace it), or when it
// is a Constant node's value.
package sparsestorage
