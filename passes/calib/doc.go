// Package calib is calibration shared by every pass that needs
// activations (static quantization, Wanda, SparseGPT, GPTQ, repair).
//
// A pass appends Options() to its own options (calib, samples, seed,
// shapes), reads them with Configure, and opens a Capture on the model
// with the values it wants to see (typically the activation input of each
// MatMul, Gemm or Conv). Capture.Each runs every sample through ONNX
// Runtime and hands over each target's tensor; Rows views it as [rows,
// features] and Im2Col unfolds a Conv input into per-group patch matrices;
// the accumulators L2, Mean and Gram turn them into per-layer statistics
// (adapters over internal/obs: ColumnStats and Hessian, which the
// compression kernels take).
//
// Samples come from Config.Source: "random" (seeded, like `onnxopt
// verify`; dynamic dimensions other than the batch must be sized with
// shapes=) or a folder of ONNX test data (test_data_set_N/input_N.pb, one
// sample per folder, or a single folder of input_N.pb). A folder's data
// is checked against the model: a tensor named for no input, or of the
// wrong element type or shape, is an error naming the file and input.
//
// Memory: Each holds one sample's inputs and that sample's target tensors
// at a time, never the whole calibration set; what grows is what the
// caller keeps. Accumulators are O(features) (L2, Mean) or
// O(features²) float64 (Gram) per layer, whatever the number of samples,
// so with one accumulator per target the bound is one sample's
// activations plus the accumulators. A caller that cannot afford a Gram
// for every layer at once opens one Capture per layer (or per group of
// layers): Open encodes the in-memory model once and creates one session,
// which is also how layer-by-layer fitting recaptures after changing
// earlier layers.
package calib
