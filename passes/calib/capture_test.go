package calib_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
	"google.golang.org/protobuf/proto"
)

func runtime(t *testing.T) { t.Helper(); testenv.Runtime(t) }

// mlpProto is x[N,4] -> MatMul -> h -> Relu -> r -> MatMul -> y[N,3];
// cut, when set, makes it the model's only output instead of y.
func mlpProto(cut string) *onnx.ModelProto {
	b := modelgen.NewBuilder("mlp")
	f := onnx.TensorProto_FLOAT
	b.Input("x", f, "N", 4)
	w1 := b.InitNormal("w1", []int64{4, 8}, 0, 1)
	w2 := b.InitNormal("w2", []int64{8, 3}, 0, 1)
	b.Node("MatMul", []string{"x", w1}, []string{"h"})
	b.Node("Relu", []string{"h"}, []string{"r"})
	b.Node("MatMul", []string{"r", w2}, []string{"y"})
	if cut == "" {
		b.Output("y", f, "N", 3)
	} else {
		b.Output(cut, f, "N", 8)
	}
	return b.Model(13)
}

func mlp(t *testing.T) *graph.Model {
	m, err := graph.FromProto(mlpProto(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// capture returns every sample's tensor of each target.
func capture(t *testing.T, m *graph.Model, cfg calib.Config, targets ...string) map[string][]*ort.Tensor {
	t.Helper()
	c, err := calib.Open(m, cfg, targets)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := map[string][]*ort.Tensor{}
	err = c.Each(func(i int, name string, x *ort.Tensor) error {
		if len(got[name]) != i {
			t.Errorf("%s: sample %d arrived as number %d", name, i, len(got[name]))
		}
		got[name] = append(got[name], x)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestCaptureMatchesCut checks that a captured intermediate value equals
// the output of the model cut at that value, on the same random samples,
// and that a captured graph input is the sample itself.
func TestCaptureMatchesCut(t *testing.T) {
	runtime(t)
	cfg := calib.Config{Source: calib.Random, Samples: 3, Seed: 5, Shapes: ort.Shapes{"N": {6}}}
	got := capture(t, mlp(t), cfg, "h", "x")
	b, err := onnx.Encode(mlpProto("h"))
	if err != nil {
		t.Fatal(err)
	}
	cut, err := ort.OpenBytes(b, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	specs := ort.InputSpecs(mlpProto(""))
	for i := 0; i < 3; i++ {
		in, err := ort.GenerateInputs(specs, cfg.Shapes, cfg.Seed, i)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cut.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		h := got["h"][i]
		if w := want[0].(*ort.Tensor); !slices.Equal(h.Shape, w.Shape) || !slices.Equal(h.Raw, w.Raw) {
			t.Errorf("sample %d: captured h %v differs from the cut model's %v", i, h.Shape, w.Shape)
		}
		if x := got["x"][i]; !slices.Equal(x.Raw, in[0].(*ort.Tensor).Raw) {
			t.Errorf("sample %d: captured input x is not the sample", i)
		}
		if rows, err := calib.Rows(h); err != nil || rows.Rows != 6 || rows.Cols != 8 {
			t.Errorf("sample %d: Rows(h) = %d×%d, %v; want 6×8", i, rows.Rows, rows.Cols, err)
		}
	}
}

// writeSet writes one test_data_set folder holding tensor x.
func writeSet(t *testing.T, dir string, k int, x *ort.Tensor, name string) {
	t.Helper()
	set := filepath.Join(dir, "test_data_set_"+string(rune('0'+k)))
	if err := os.MkdirAll(set, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(ort.TensorToProto(x, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(set, "input_0.pb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func floats(shape []int64, v ...float32) *ort.Tensor {
	return &ort.Tensor{DType: ort.Float32, Shape: shape, Raw: onnx.Float32sAsBytes(v)}
}

// TestFolderSource captures from a folder of test data sets: the captured
// input is the data, sets come in order, samples= bounds how many are read.
func TestFolderSource(t *testing.T) {
	runtime(t)
	dir := t.TempDir()
	a := floats([]int64{1, 4}, 1, 2, 3, 4)
	b := floats([]int64{2, 4}, -1, 0, 1, 2, 3, 4, 5, 6)
	writeSet(t, dir, 0, a, "x")
	writeSet(t, dir, 1, b, "x")
	writeSet(t, dir, 2, b, "x")
	got := capture(t, mlp(t), calib.Config{Source: dir, Samples: 2}, "x", "y")
	if len(got["x"]) != 2 || !slices.Equal(got["x"][0].Raw, a.Raw) || !slices.Equal(got["x"][1].Raw, b.Raw) {
		t.Errorf("captured %d samples of x, want the first two sets in order", len(got["x"]))
	}
	if y := got["y"][1]; !slices.Equal(y.Shape, []int64{2, 3}) {
		t.Errorf("y of set 1 has shape %v, want [2 3]", y.Shape)
	}
	// calib=DIR without samples= reads the whole folder; samples= bounds it.
	for _, c := range []struct {
		opts []passes.KV
		want int
	}{
		{[]passes.KV{{Key: "calib", Value: dir}}, 3},
		{[]passes.KV{{Key: "calib", Value: dir}, {Key: "samples", Value: "2"}}, 2},
		{nil, calib.DefaultSamples},
	} {
		step, err := passes.NewStep("calib-example", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := calib.Configure(step.Args())
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Source == calib.Random {
			if cfg.Samples != c.want {
				t.Errorf("%v: %d random samples, want %d", c.opts, cfg.Samples, c.want)
			}
			continue
		}
		if got := capture(t, mlp(t), cfg, "x"); len(got["x"]) != c.want {
			t.Errorf("%v: captured %d samples, want %d", c.opts, len(got["x"]), c.want)
		}
	}
	// The same folder, read as the pass option would.
	if err := (calib.Config{Source: dir, Samples: 8}).Check(ort.InputSpecs(mlpProto(""))); err != nil {
		t.Errorf("Check on good data: %v", err)
	}
}

// TestBadFolder checks that data that does not fit the model is refused
// with an error naming the input.
func TestBadFolder(t *testing.T) {
	m := mlp(t)
	for _, c := range []struct {
		name string
		x    *ort.Tensor
		file string
		want string
	}{
		{"name", floats([]int64{1, 4}, 1, 2, 3, 4), "image", `tensor "image" is not an input of the model (it takes x)`},
		{"type", &ort.Tensor{DType: ort.Int64, Shape: []int64{1, 4}, Raw: make([]byte, 32)}, "x", `input "x" is int64`},
		{"shape", floats([]int64{1, 5}, 1, 2, 3, 4, 5), "x", `input "x" has shape [1 5]`},
		{"rank", floats([]int64{4}, 1, 2, 3, 4), "x", `input "x" has shape [4]`},
	} {
		dir := t.TempDir()
		writeSet(t, dir, 0, c.x, c.file)
		cfg := calib.Config{Source: dir, Samples: 8}
		err := cfg.Check(ort.InputSpecs(mlpProto("")))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check error %v, want one with %q", c.name, err, c.want)
		}
		if _, err := calib.Open(m, cfg, []string{"h"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open error %v, want one with %q", c.name, err, c.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	m := mlp(t)
	cfg := calib.Config{Source: calib.Random, Samples: 1}
	for _, c := range []struct {
		targets []string
		want    string
	}{
		{nil, "no values"},
		{[]string{"nope"}, `no value "nope"`},
		{[]string{"w1"}, `"w1" is a constant`},
		{[]string{"h", "h"}, "listed twice"},
	} {
		if _, err := calib.Open(m, cfg, c.targets); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("targets %v: error %v, want one with %q", c.targets, err, c.want)
		}
	}
}

// TestPair checks that Pair hands fn each sample's target from both
// models, the same sample of each, in order: the original's equal to
// what capturing the original alone gives, the other model's to what
// capturing it alone gives.
func TestPair(t *testing.T) {
	runtime(t)
	cfg := calib.Config{Source: calib.Random, Samples: 3, Seed: 7, Shapes: ort.Shapes{"N": {5}}}
	ref, cur := mlp(t), mlp(t)
	w1 := cur.Graph.Lookup("w1").Const()
	v, err := w1.Floats()
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		v[i] *= -2
	}
	if err := w1.SetFloats(v); err != nil {
		t.Fatal(err)
	}
	wantRef := capture(t, ref, cfg, "r", "x")
	wantCur := capture(t, cur, cfg, "r", "x")
	next := map[string]int{}
	err = calib.Pair(ref, cur, cfg, []string{"r", "x"}, func(i int, name string, a, b *ort.Tensor) error {
		if next[name] != i {
			t.Errorf("%s: sample %d arrived as number %d", name, i, next[name])
		}
		next[name]++
		if !slices.Equal(a.Raw, wantRef[name][i].Raw) {
			t.Errorf("%s, sample %d: the original's tensor is not the original model's", name, i)
		}
		if !slices.Equal(b.Raw, wantCur[name][i].Raw) {
			t.Errorf("%s, sample %d: the compressed model's tensor is not its own", name, i)
		}
		if name == "r" && slices.Equal(a.Raw, b.Raw) {
			t.Errorf("sample %d: both models gave the same r though w1 differs", i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next["r"] != 3 || next["x"] != 3 {
		t.Errorf("saw %v samples, want 3 of each", next)
	}
	if err := calib.Pair(ref, cur, cfg, []string{"nope"}, func(int, string, *ort.Tensor, *ort.Tensor) error { return nil }); err == nil {
		t.Error("a value neither model has was accepted")
	}
}
