package verify

import (
	"github.com/onnxopt/onnxopt/ort"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
)

// requireIdentical checks that a model verified against itself passes with
// zero error on every output.
func requireIdentical(t *testing.T, what string, rep *Report) {
	t.Helper()
	if !rep.Pass {
		t.Errorf("%s: verifying a model against itself fails", what)
	}
	if len(rep.Outputs) == 0 {
		t.Errorf("%s: no outputs compared", what)
	}
	for _, d := range rep.Outputs {
		if d.MaxAbsErr != 0 || d.RelL2 != 0 || d.Mismatched != 0 || d.NonFinite != 0 || !d.Pass {
			t.Errorf("%s: output %s: max abs err %g, rel L2 %g, %d mismatched: %s", what, d.Name, d.MaxAbsErr, d.RelL2, d.Mismatched, d.Summary(rep.Tolerance))
		}
	}
}

// TestIdentityControlFlow verifies If, Loop and Scan models (int64 and
// bool scalar inputs among them) against themselves, on generated inputs
// and on the suite's test data.
func TestIdentityControlFlow(t *testing.T) {
	suite := testenv.BackendSuite(t)
	testenv.Runtime(t)
	for _, c := range []struct {
		test      string
		generated bool // inputs can be generated (no sequence or optional inputs)
	}{
		{"node/test_if", true},
		{"node/test_if_seq", true},
		{"node/test_loop11", true}, // int64 trip count and bool condition, both scalars
		{"node/test_scan9_sum", true},
		{"node/test_scan_sum", true},
		{"node/test_loop16_seq_none", false},
		{"node/test_range_float_type_positive_delta_expanded", true}, // Loop inside a function body's expansion
	} {
		dir := filepath.Join(suite, c.test)
		path := filepath.Join(dir, "model.onnx")
		if c.generated {
			rep, err := Verify(path, path, Config{Tolerance: DefaultTolerance, Samples: 3, Seed: 5})
			if err != nil {
				t.Errorf("%s: %v", c.test, err)
			} else {
				requireIdentical(t, c.test, rep)
			}
		}
		rep, err := Verify(path, path, Config{Tolerance: DefaultTolerance, InputDir: dir})
		if err != nil {
			t.Errorf("%s with test data: %v", c.test, err)
			continue
		}
		requireIdentical(t, c.test+" with test data", rep)
	}
}

// TestIdentityPPOCR verifies the PP-OCR detector and classifier, whose
// inputs have dynamic dimensions, against themselves, with shapes given by
// input name and by symbolic dimension name.
func TestIdentityPPOCR(t *testing.T) {
	det := testenv.Model(t, "ppocr-det.onnx")
	cls := testenv.Model(t, "ppocr-cls.onnx")
	testenv.Runtime(t)
	for _, c := range []struct {
		model  string
		shapes ort.Shapes
		want   []int64 // first output's shape
	}{
		{det, ort.Shapes{"x": {1, 3, 64, 96}}, []int64{1, 1, 64, 96}},
		{det, ort.Shapes{"p2o.DynamicDimension.0": {2}, "p2o.DynamicDimension.1": {32}, "p2o.DynamicDimension.2": {64}}, []int64{2, 1, 32, 64}},
		{cls, ort.Shapes{"x": {1, 3, 48, 192}}, []int64{1, 2}},
		{cls, ort.Shapes{"p2o.DynamicDimension.0": {3}, "p2o.DynamicDimension.1": {48}, "p2o.DynamicDimension.2": {96}}, []int64{3, 2}},
	} {
		rep, err := Verify(c.model, c.model, Config{Tolerance: DefaultTolerance, Shapes: c.shapes, Samples: 2, Seed: 1})
		if err != nil {
			t.Errorf("%s %v: %v", filepath.Base(c.model), c.shapes, err)
			continue
		}
		requireIdentical(t, filepath.Base(c.model), rep)
		if got := rep.Outputs[0].Shape; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v: output shape %v, want %v", filepath.Base(c.model), c.shapes, got, c.want)
		}
		if rep.Samples != 2 {
			t.Errorf("%d samples, want 2", rep.Samples)
		}
	}
}

// changeOneWeight writes a copy of model with one element of its largest
// float initializer changed, and returns its path.
func changeOneWeight(t *testing.T, model string) string {
	t.Helper()
	m, err := onnx.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	var w *onnx.TensorProto
	for _, init := range m.GetGraph().GetInitializer() {
		if init.GetDataType() == int32(onnx.TensorProto_FLOAT) {
			if n, _ := init.Elements(); w == nil || n > mustElements(w) {
				w = init
			}
		}
	}
	if w == nil {
		t.Fatalf("%s has no float initializer", model)
	}
	v, err := onnx.Float32s(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	v = append([]float32{}, v...)
	v[0] += 0.5
	onnx.SetFloat32s(w, v)
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "changed.onnx")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustElements(t *onnx.TensorProto) int64 {
	n, _ := t.Elements()
	return n
}

// TestChangedWeightFails proves the verifier can fail: one weight changed
// by 0.5 is reported as a difference.
func TestChangedWeightFails(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	testenv.Runtime(t)
	changed := changeOneWeight(t, model)
	rep, err := Verify(model, changed, Config{Tolerance: DefaultTolerance, Samples: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass {
		t.Fatalf("a model with a changed weight passes: %+v", rep.Outputs[0])
	}
	if d := rep.Outputs[0]; d.MaxAbsErr == 0 || d.Mismatched == 0 {
		t.Errorf("changed weight: max abs err %g, %d mismatched", d.MaxAbsErr, d.Mismatched)
	}
	rep, err = Verify(model, model, Config{Tolerance: DefaultTolerance, Samples: 4})
	if err != nil {
		t.Fatal(err)
	}
	requireIdentical(t, "hello_deepa", rep)
}

// TestBindingFaults runs, through ort.Session, models whose inputs or outputs
// onnxruntime_go's own value handling gets wrong; each must match the
// suite's expected outputs exactly or within the suite's tolerance.
func TestBindingFaults(t *testing.T) {
	suite := testenv.BackendSuite(t)
	testenv.Runtime(t)
	for _, c := range []struct{ test, fault string }{
		{"node/test_constant", "no inputs (the binding indexes inputs[0])"},
		{"node/test_cast_FLOAT_to_FLOAT16", "float16 output (the binding copies one byte per element)"},
		{"node/test_cast_FLOAT16_to_FLOAT", "float16 input"},
		{"node/test_cast_BFLOAT16_to_FLOAT", "bfloat16 input (stored as uint16 by the suite)"},
		{"node/test_det_2d", "rank-0 float output (the binding rejects rank 0)"},
		{"node/test_dynamicquantizelinear", "rank-0 uint8 output"},
		{"node/test_loop11", "rank-0 int64 and bool inputs"},
		{"node/test_slice_start_out_of_bounds", "zero-element output"},
		{"node/test_tril_zero", "zero-element int64 input and output"},
		{"node/test_cast_STRING_to_FLOAT", "string input"},
		{"node/test_strnormalizer_export_monday_casesensintive_nochangecase", "string input and output"},
		{"node/test_sequence_insert_at_back", "sequence input and output"},
		{"node/test_optional_has_element_empty", "absent optional input"},
		{"node/test_if_opt", "optional output"},
	} {
		dir := filepath.Join(suite, c.test)
		m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		in, want, err := ort.ReadTestDataSet(filepath.Join(dir, "test_data_set_0"), m)
		if err != nil {
			t.Errorf("%s (%s): %v", c.test, c.fault, err)
			continue
		}
		s, err := ort.Open(filepath.Join(dir, "model.onnx"), ort.Options{})
		if err != nil {
			t.Errorf("%s (%s): %v", c.test, c.fault, err)
			continue
		}
		if _, err := runAndCheck(s, in, want, conformanceTolerance); err != nil {
			t.Errorf("%s (%s): %v", c.test, c.fault, err)
		}
		s.Close()
	}
}

// TestExternalData verifies a model whose weights live in a side file:
// from its path ONNX Runtime finds the file itself; from bytes it needs
// ort.Options.ExternalDataDir.
func TestExternalData(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	testenv.Runtime(t)
	m, err := onnx.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ext := filepath.Join(dir, "external.onnx")
	if err := onnx.WriteFile(ext, m, onnx.WriteOptions{ExternalThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ext + ".data"); err != nil {
		t.Fatalf("no side file was written: %v", err)
	}
	rep, err := Verify(model, ext, Config{Tolerance: DefaultTolerance, Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	requireIdentical(t, "external data", rep)

	b, err := os.ReadFile(ext)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.OpenBytes(b, ort.Options{ExternalDataDir: dir})
	if err != nil {
		t.Fatalf("from bytes with ExternalDataDir: %v", err)
	}
	defer s.Close()
	in, err := ort.GenerateInputs(ort.InputSpecs(m), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ort.Open(model, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(s, want, got, Tolerance{}); err != nil {
		t.Errorf("from bytes: %v", err)
	}
	if _, err := ort.OpenBytes(b, ort.Options{}); err == nil {
		t.Log("ONNX Runtime found the side file without ExternalDataDir (from the working folder?)")
	}
}

// TestVerifyPairsByPosition renames a model's input and output: inputs and
// outputs are then paired by position.
func TestVerifyPairsByPosition(t *testing.T) {
	suite := testenv.BackendSuite(t)
	testenv.Runtime(t)
	path := filepath.Join(suite, "node", "test_abs", "model.onnx")
	m, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	*g.Input[0].Name, *g.Output[0].Name = "renamed_in", "renamed_out"
	g.Node[0].Input[0], g.Node[0].Output[0] = "renamed_in", "renamed_out"
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "renamed.onnx")
	if err := os.WriteFile(renamed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(path, renamed, Config{Tolerance: DefaultTolerance})
	if err != nil {
		t.Fatal(err)
	}
	requireIdentical(t, "renamed", rep)
	if rep.Outputs[0].Name != "y / renamed_out" {
		t.Errorf("paired output is named %q", rep.Outputs[0].Name)
	}
}
