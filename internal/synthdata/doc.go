// Package synthdata draws realistic calibration and evaluation inputs for
// the real models the benchmarks use, without any download: calibrated
// compression (Wanda, SparseGPT, repair) exploits the statistics of the
// activations a network sees, and those exist only on inputs that look
// like its training data, not on uniform noise.
//
// Kinds (Generate, Kinds):
//
//   - ppocr-cls: one text line rendered with basicfont's 7x13 glyphs
//     (random digits, latin letters and punctuation, random scale, colours,
//     background gradient and noise), resized to height 48 keeping its
//     aspect (squeezed when wider than 192), padded right with zeros,
//     normalised (x/255-0.5)/0.5; half are turned by 180° (Label 1), the
//     direction classifier's task.
//   - ppocr-rec: the same text lines at 3x48x320, never turned.
//   - ppocr-det: page-like images (several text lines of mixed sizes on a
//     light or dark background), normalised with ImageNet mean and std;
//     Boxes gives the lines' rectangles.
//   - wakeword: a proxy for openWakeWord's input, [1, frames, 96] features
//     of Google's speech-embedding model, which onnxopt does not ship:
//     a stationary Gaussian stream with uneven per-feature means and
//     scales, low-rank correlation between features and AR(1) smoothness
//     in time. It is not audio; see the Kind's Doc.
//
// Sample i of a seed is the same whatever the count, so sets drawn with
// different seeds (calibration 1, evaluation 2) are disjoint draws of one
// distribution. WriteDir stores samples as ONNX test-data folders
// (test_data_set_N/input_0.pb), the layout `calib=DIR` and
// `onnxopt verify --inputs DIR` read.
package synthdata
