package synthdata_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/synthdata"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/ort"
)

// run feeds each sample to the model and returns its first output.
func run(t *testing.T, model string, samples []synthdata.Sample) [][]float64 {
	t.Helper()
	testenv.Runtime(t)
	s, err := ort.Open(testenv.Model(t, model), ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var outs [][]float64
	for _, smp := range samples {
		out, err := s.Run([]ort.Value{smp.Tensor()})
		if err != nil {
			t.Fatal(err)
		}
		v, err := out[0].(*ort.Tensor).Float64s()
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, v)
	}
	return outs
}

// TestClsAgreesWithLabel shows the text lines are what PP-OCR's direction
// classifier was trained on: it tells upright from turned lines on most.
func TestClsAgreesWithLabel(t *testing.T) {
	samples, err := synthdata.Generate("ppocr-cls", nil, 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	outs := run(t, "ppocr-cls.onnx", samples)
	right := 0
	for i, o := range outs {
		pred := 0
		if o[1] > o[0] {
			pred = 1
		}
		if pred == samples[i].Label {
			right++
		}
	}
	t.Logf("cls agrees with the label on %d of %d", right, len(outs))
	if right < len(outs)*8/10 {
		t.Errorf("cls agrees with the label on %d of %d samples, want at least 80%%", right, len(outs))
	}
}

// TestDetFindsText shows the pages are what PP-OCR's detector was trained
// on: its probability map is high on the text lines and low elsewhere.
func TestDetFindsText(t *testing.T) {
	shape := []int64{1, 3, 160, 160}
	samples, err := synthdata.Generate("ppocr-det", shape, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	outs := run(t, "ppocr-det.onnx", samples)
	var in, out float64
	var nin, nout int
	h, w := int(shape[2]), int(shape[3])
	for i, o := range outs {
		text := make([]bool, h*w)
		for _, b := range samples[i].Boxes {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					text[y*w+x] = true
				}
			}
		}
		for p, v := range o {
			if text[p] {
				in += v
				nin++
			} else {
				out += v
				nout++
			}
		}
	}
	in, out = in/float64(nin), out/float64(nout)
	t.Logf("det mean probability: %.3f on text lines, %.3f elsewhere", in, out)
	if in < 0.25 || out > 0.05 {
		t.Errorf("det mean probability %.3f on text, %.3f elsewhere: want >= 0.25 and <= 0.05", in, out)
	}
}
