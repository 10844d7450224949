package synthdata_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/synthdata"
	"github.com/onnxopt/onnxopt/ort"
)

func TestGenerateIsSeededPerSample(t *testing.T) {
	for _, k := range synthdata.Kinds() {
		a, err := synthdata.Generate(k, nil, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := synthdata.Generate(k, nil, 2, 1)
		c, _ := synthdata.Generate(k, nil, 2, 2)
		if !slices.Equal(a[1].Input, b[1].Input) {
			t.Errorf("%s: sample 1 depends on the count", k)
		}
		if slices.Equal(a[0].Input, c[0].Input) || slices.Equal(a[0].Input, a[1].Input) {
			t.Errorf("%s: seeds or samples repeat", k)
		}
		kind, _ := synthdata.Lookup(k)
		n := 1
		for _, d := range kind.Shape {
			n *= int(d)
		}
		if len(a[0].Input) != n || !slices.Equal(a[0].Shape, kind.Shape) {
			t.Errorf("%s: %d values of shape %v, want %v", k, len(a[0].Input), a[0].Shape, kind.Shape)
		}
	}
}

// TestOCRNormalisation checks the value ranges PP-OCR's preprocessing
// gives: cls/rec in [-1, 1] with zero padding on the right, det around
// the ImageNet-normalised range; cls labels are balanced.
func TestOCRNormalisation(t *testing.T) {
	cls, _ := synthdata.Generate("ppocr-cls", nil, 40, 1)
	turned := 0
	padded := 0
	for _, s := range cls {
		turned += s.Label
		lo, hi := slices.Min(s.Input), slices.Max(s.Input)
		if lo < -1 || hi > 1 {
			t.Fatalf("cls values in [%v, %v], want [-1, 1]", lo, hi)
		}
		if s.Input[48*192-1] == 0 && s.Input[3*48*192-1] == 0 {
			padded++
		}
	}
	if turned < 10 || turned > 30 {
		t.Errorf("%d of 40 cls lines turned, want about half", turned)
	}
	if padded < 10 {
		t.Errorf("%d of 40 cls lines are padded on the right, want short lines padded", padded)
	}
	det, _ := synthdata.Generate("ppocr-det", []int64{1, 3, 64, 96}, 4, 1)
	for _, s := range det {
		lo, hi := slices.Min(s.Input), slices.Max(s.Input)
		if lo < -2.2 || hi > 2.7 || hi-lo < 1 {
			t.Errorf("det values in [%v, %v], want a spread within ImageNet's normalised range", lo, hi)
		}
		if len(s.Boxes) == 0 {
			t.Errorf("det page without text lines")
		}
	}
}

// TestWakewordStructure checks the proxy's stated structure: neighbouring
// frames correlate, and features have uneven scales.
func TestWakewordStructure(t *testing.T) {
	ss, _ := synthdata.Generate("wakeword", []int64{1, 25, 96}, 200, 1)
	var lag1, lag0 float64
	sd := make([]float64, 96)
	mean := make([]float64, 96)
	for _, s := range ss {
		for j := range 96 {
			mean[j] += float64(s.Input[j]) / float64(len(ss))
		}
	}
	for _, s := range ss {
		for tt := range 25 {
			for j := range 96 {
				d := float64(s.Input[tt*96+j]) - mean[j]
				sd[j] += d * d
				lag0 += d * d
				if tt > 0 {
					lag1 += d * (float64(s.Input[(tt-1)*96+j]) - mean[j])
				}
			}
		}
	}
	if r := lag1 / lag0; r < 0.4 {
		t.Errorf("lag-1 autocorrelation %.2f, want a smooth stream (>= 0.4)", r)
	}
	slices.Sort(sd)
	if ratio := math.Sqrt(sd[95] / sd[0]); ratio < 3 {
		t.Errorf("feature scales span %.1fx, want uneven (>= 3x)", ratio)
	}
}

func TestBadRequests(t *testing.T) {
	for _, c := range []struct {
		kind  string
		shape []int64
		n     int
		want  string
	}{
		{"mnist", nil, 1, "unknown input kind"},
		{"ppocr-det", []int64{1, 3, 100, 100}, 1, "multiples of 32"},
		{"ppocr-cls", []int64{3, 48, 192}, 1, "want [1, 3, H, W]"},
		{"wakeword", []int64{1, 0, 96}, 1, "frames"},
		{"wakeword", nil, 0, "sample count"},
	} {
		_, err := synthdata.Generate(c.kind, c.shape, c.n, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Generate(%s, %v, %d): error %v, want %q", c.kind, c.shape, c.n, err, c.want)
		}
	}
}

func TestWriteDirReadsBack(t *testing.T) {
	ss, _ := synthdata.Generate("wakeword", []int64{1, 4, 8}, 3, 5)
	dir := filepath.Join(t.TempDir(), "in")
	if err := synthdata.WriteDir(dir, "x", ss); err != nil {
		t.Fatal(err)
	}
	spec := ort.InputSpec{Name: "x", DType: ort.Float32, Kind: ort.KindTensor}
	got, err := ort.ReadInputDir(dir, []ort.InputSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d samples, want 3", len(got))
	}
	for i, g := range got {
		if !slices.Equal(g[0].(*ort.Tensor).Raw, ss[i].Tensor().Raw) {
			t.Errorf("sample %d changed on the way through the file", i)
		}
	}
	if err := synthdata.WriteDir(dir, "x", ss); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("writing over a test-data folder: %v, want a refusal", err)
	}
}
