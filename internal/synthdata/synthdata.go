package synthdata

import (
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// Sample is one drawn input.
type Sample struct {
	Shape []int64
	Input []float32 // Shape's elements, row-major
	// Label is the ground truth where the kind has one (ppocr-cls: 0
	// upright, 1 turned by 180°), else -1.
	Label int
	// Text is the string a text line shows (ppocr-cls, ppocr-rec).
	Text string
	// Boxes are the text lines' rectangles in input pixels (ppocr-det).
	Boxes []image.Rectangle
}

// Tensor returns the sample as a float32 tensor.
func (s Sample) Tensor() *ort.Tensor {
	return &ort.Tensor{DType: ort.Float32, Shape: append([]int64{}, s.Shape...), Raw: append([]byte{}, onnx.Float32sAsBytes(s.Input)...)}
}

// Kind describes one generator.
type Kind struct {
	Name  string
	Doc   string
	Input string  // the input name of the model it is drawn for (openWakeWord's exported heads: onnx::Flatten_0)
	Shape []int64 // default shape
	check func(shape []int64) error
	draw  func(rng *rand.Rand, shape []int64) Sample
}

var kinds = map[string]Kind{
	"ppocr-cls": {
		Name: "ppocr-cls", Input: "x", Shape: []int64{1, 3, 48, 192},
		Doc:   "PP-OCR direction classifier: rendered text lines, half turned by 180° (Label 1), resized to height 48 and padded right, (x/255-0.5)/0.5",
		check: image4(8),
		draw:  clsSample,
	},
	"ppocr-rec": {
		Name: "ppocr-rec", Input: "x", Shape: []int64{1, 3, 48, 320},
		Doc:   "PP-OCR recogniser: rendered text lines resized to height 48 and padded right, (x/255-0.5)/0.5",
		check: image4(8),
		draw:  recSample,
	},
	"ppocr-det": {
		Name: "ppocr-det", Input: "x", Shape: []int64{1, 3, 320, 320},
		Doc:   "PP-OCR detector: pages of rendered text lines of mixed sizes, ImageNet mean/std normalisation",
		check: image4(32),
		draw:  detSample,
	},
	"wakeword": {
		Name: "wakeword", Input: "onnx::Flatten_0", Shape: []int64{1, 16, 96},
		Doc: "openWakeWord proxy (NOT audio): [1, frames, 96] stand-ins for speech-embedding features, " +
			"a stationary Gaussian stream with uneven per-feature means and scales, rank-8 correlation " +
			"and AR(1) smoothness in time (rho 0.85)",
		check: func(s []int64) error {
			if len(s) != 3 || s[0] != 1 || s[1] < 1 || s[2] < 1 {
				return fmt.Errorf("want [1, frames, features], got %v", s)
			}
			return nil
		},
		draw: wakeSample,
	},
}

// image4 checks an NCHW shape of one 3-channel image whose height and
// width are at least min (and multiples of it for the detector).
func image4(min int64) func([]int64) error {
	return func(s []int64) error {
		if len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] < min || s[3] < min {
			return fmt.Errorf("want [1, 3, H, W] with H, W >= %d, got %v", min, s)
		}
		if min == 32 && (s[2]%32 != 0 || s[3]%32 != 0) {
			return fmt.Errorf("the detector wants H and W multiples of 32, got %v", s)
		}
		return nil
	}
}

// Kinds returns the generators' names, sorted.
func Kinds() []string {
	var names []string
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the generator called name.
func Lookup(name string) (Kind, error) {
	k, ok := kinds[name]
	if !ok {
		return Kind{}, fmt.Errorf("unknown input kind %q (have %s)", name, strings.Join(Kinds(), ", "))
	}
	return k, nil
}

// Generate draws n samples of kind with the given seed; shape nil takes
// the kind's default. Sample i depends only on (seed, i).
func Generate(kind string, shape []int64, n int, seed int64) ([]Sample, error) {
	k, err := Lookup(kind)
	if err != nil {
		return nil, err
	}
	if shape == nil {
		shape = k.Shape
	}
	if err := k.check(shape); err != nil {
		return nil, fmt.Errorf("%s inputs: %v", kind, err)
	}
	if n < 1 {
		return nil, fmt.Errorf("%s inputs: sample count %d, want at least 1", kind, n)
	}
	out := make([]Sample, n)
	for i := range out {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		s := k.draw(rng, shape)
		s.Shape = append([]int64{}, shape...)
		out[i] = s
	}
	return out, nil
}

// WriteDir writes samples as ONNX test data under dir: one folder
// test_data_set_N per sample holding input_0.pb, a TensorProto named
// input. dir is created; existing test_data_set folders are an error, so a
// set is never silently mixed with an older one.
func WriteDir(dir, input string, samples []Sample) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*")); len(old) > 0 {
		return fmt.Errorf("%s already holds test data (%s); write to an empty folder", dir, filepath.Base(old[0]))
	}
	for i, s := range samples {
		set := filepath.Join(dir, fmt.Sprintf("test_data_set_%d", i))
		if err := os.Mkdir(set, 0o755); err != nil {
			return err
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ort.TensorToProto(s.Tensor(), input))
		if err != nil {
			return fmt.Errorf("sample %d: %v", i, err)
		}
		if err := os.WriteFile(filepath.Join(set, "input_0.pb"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
