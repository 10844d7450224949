// Package verify runs ONNX models through ONNX Runtime and compares their
// outputs: it is how onnxopt proves that a transformed model still computes
// what the original did.
//
// The pieces, each usable on its own:
//
//   - Session (session.go) runs one model. The ONNX Runtime implementation
//     (ort.go) needs cgo; a build without cgo compiles and reports ErrNoCgo
//     when a session is opened. LoadRuntime finds the library (libpath.go)
//     and loads it once per process.
//   - Value and Tensor (tensor.go, elements.go) hold inputs and outputs in
//     Go memory for every tensor type ONNX defines, plus sequences and
//     absent optionals.
//   - InputSpecs and GenerateInputs (inputs.go) make seeded random inputs;
//     ReadInputDir and ReadTestDataSet (testdata.go) read the ONNX
//     test-data layout.
//   - Compare and Tolerance (compare.go) measure the difference between two
//     outputs: max abs error, relative L2, cosine, top-1 agreement, and a
//     numpy.allclose verdict.
//   - Verify and Bench (verify.go, bench.go) put them together for the
//     `onnxopt verify` and `onnxopt bench` commands.
package verify
