package ort_test

// These tests run models through ONNX Runtime; they are an external test
// package because internal/testenv, which loads the runtime, imports ort.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// TestReadTestData reads backend-suite test data: tensors by name, rank-0
// tensors, sequences, and an absent optional.
func TestReadTestData(t *testing.T) {
	suite := testenv.BackendSuite(t)
	for _, c := range []struct {
		test  string
		check func([]ort.Value) string
	}{
		{"node/test_loop11", func(v []ort.Value) string {
			if tt := v[0].(*ort.Tensor); tt.DType != ort.Int64 || len(tt.Shape) != 0 {
				return "trip_count is not an int64 scalar"
			}
			return ""
		}},
		{"node/test_sequence_insert_at_back", func(v []ort.Value) string {
			if _, ok := v[0].(ort.Sequence); !ok {
				return "input 0 is not a sequence"
			}
			return ""
		}},
		{"node/test_optional_has_element_empty", func(v []ort.Value) string {
			if _, ok := v[0].(ort.None); !ok {
				return "the empty optional is not ort.None"
			}
			return ""
		}},
	} {
		dir := filepath.Join(suite, c.test)
		m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := ort.ReadTestDataSet(filepath.Join(dir, "test_data_set_0"), m)
		if err != nil {
			t.Errorf("%s: %v", c.test, err)
			continue
		}
		if msg := c.check(in); msg != "" {
			t.Errorf("%s: %s", c.test, msg)
		}
		samples, err := ort.ReadInputDir(dir, ort.InputSpecs(m))
		if err != nil || len(samples) != 1 {
			t.Errorf("%s: ort.ReadInputDir on the test folder: %d samples, %v", c.test, len(samples), err)
		}
	}
}

// TestSessionErrors checks that bad inputs are refused with messages that
// name the input, and that an unavailable CUDA provider is an error.
func TestSessionErrors(t *testing.T) {
	suite := testenv.BackendSuite(t)
	testenv.Runtime(t)
	path := filepath.Join(suite, "node", "test_abs", "model.onnx")
	s, err := ort.Open(path, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Run(nil); err == nil || !strings.Contains(err.Error(), "has 1 inputs (x)") {
		t.Errorf("no inputs: %v", err)
	}
	if _, err := s.Run([]ort.Value{&ort.Tensor{DType: ort.Int64, Shape: []int64{3, 4, 5}, Raw: make([]byte, 8*60)}}); err == nil || !strings.Contains(err.Error(), `input "x"`) {
		t.Errorf("wrong dtype: %v", err)
	}
	if _, err := s.Run([]ort.Value{&ort.Tensor{DType: ort.Float32, Shape: []int64{2}, Raw: make([]byte, 8)}}); err == nil || !strings.Contains(err.Error(), "x") {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := ort.Open(path, ort.Options{EP: "tpu"}); err == nil {
		t.Error("unknown execution provider accepted")
	}
	if _, err := ort.OpenBytes([]byte("not a model"), ort.Options{}); err == nil {
		t.Error("garbage accepted as a model")
	}
	cs, err := ort.Open(path, ort.Options{EP: "cuda"})
	if err == nil {
		t.Log("the CUDA execution provider is available here")
		cs.Close()
		return
	}
	if !strings.Contains(err.Error(), "CUDA execution provider is not available") {
		t.Errorf("unclear CUDA error: %v", err)
	}
}
