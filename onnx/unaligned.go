//go:build (amd64 || arm64 || 386) && !race

package onnx

// unalignedOK: these processors load and store unaligned float32 values
// natively, so tensor bytes are viewed in place whatever their address.
// (Race builds enable checkptr, which rejects misaligned conversions.)
const unalignedOK = true
