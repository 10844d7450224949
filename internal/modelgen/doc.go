// Package modelgen generates realistic float32 ONNX models for tests and
// benchmarks: a transformer-like MLP stack (MLP, MLPForBytes, WriteMLP), a
// small ResNet-like CNN (CNN, WriteCNN), a Llama-like decoder-only
// transformer at any size up to 7B (Llama, LlamaPreset, WriteLlama), plus
// Builder, a small helper that assembles graphs node by node for table
// tests.
//
// Every generated model is deterministic: the same options give the same
// bytes. Weights are drawn from math/rand/v2 PCG streams keyed by the seed
// and the tensor's name, in fixed-size chunks, so a tensor's values do not
// depend on the other tensors, can be drawn in parallel, and can be streamed
// straight to a file (WriteMLP) without holding the model in memory.
package modelgen
