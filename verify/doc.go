// Package verify runs ONNX models through ONNX Runtime (package ort) and
// compares their outputs: it is how onnxopt proves that a transformed model
// still computes what the original did.
//
// Models are run through package ort (sessions, values, inputs); verify
// adds the judging:
//
//   - Compare and Tolerance (compare.go) measure the difference between two
//     outputs: max abs error, relative L2, cosine, top-1 agreement, and a
//     numpy.allclose verdict.
//   - Verify and Bench (verify.go, bench.go) put them together for the
//     `onnxopt verify` and `onnxopt bench` commands.
package verify
