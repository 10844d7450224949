//go:build !((amd64 || arm64 || 386) && !race)

package onnx

// unalignedOK is false where unaligned float loads are not native (or are
// rejected by checkptr in race builds): misaligned tensor bytes are copied.
const unalignedOK = false
