// Package ort runs ONNX models through ONNX Runtime and holds the values
// they take and return. verify (comparison), diff and the passes that need
// activations (passes/calib) build on it.
//
// The pieces, each usable on its own:
//
//   - Session (session.go) runs one model. The ONNX Runtime implementation
//     (ort.go) needs cgo; a build without cgo compiles and reports ErrNoCgo
//     when a session is opened. LoadRuntime finds the library (libpath.go)
//     and loads it once per process.
//   - Value and Tensor (tensor.go, elements.go) hold inputs and outputs in
//     Go memory for every tensor type ONNX defines, plus sequences and
//     absent optionals; TensorFromProto, TensorToProto and DecodeValue
//     (tensorproto.go) convert them to and from protobuf.
//   - InputSpecs, Shapes (the CLI's name=1x3 syntax, ParseShape) and
//     GenerateInputs (inputs.go) make seeded random inputs; ReadInputDir
//     and ReadTestDataSet (testdata.go) read the ONNX test-data layout.
package ort
