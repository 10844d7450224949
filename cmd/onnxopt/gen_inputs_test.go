package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
)

func TestGenInputs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cls")
	code, stdout, stderr := runCaptured(t, "gen", "inputs", "ppocr-cls", "--samples", "3", "--seed", "2", "-o", dir)
	if code != exitOK || !strings.Contains(stdout, "3 ppocr-cls samples of shape [1 3 48 192], seed 2") {
		t.Fatalf("gen inputs: exit %d, %q, %q", code, stdout, stderr)
	}
	for i := range 3 {
		st, err := os.Stat(filepath.Join(dir, "test_data_set_"+string(rune('0'+i)), "input_0.pb"))
		if err != nil || st.Size() < 3*48*192*4 {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gen", "inputs", "speech", "-o", filepath.Join(t.TempDir(), "a")}, "unknown input kind"},
		{[]string{"gen", "inputs", "ppocr-det", "--shape", "1x3x100x100", "-o", filepath.Join(t.TempDir(), "b")}, "multiples of 32"},
		{[]string{"gen", "inputs", "wakeword", "--shape", "1xax96", "-o", filepath.Join(t.TempDir(), "c")}, "--shape"},
		{[]string{"gen", "inputs", "wakeword"}, "-o DIR is required"},
	} {
		code, _, stderr := runCaptured(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("onnxopt %s: exit %d, %q; want usage error %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	code, _, stderr = runCaptured(t, "gen", "inputs", "ppocr-cls", "-o", dir)
	if code != exitFailure || !strings.Contains(stderr, "already holds test data") {
		t.Errorf("writing over a set: exit %d, %q", code, stderr)
	}
}

// TestGenInputsForModel: --model takes the input's name and fixed sizes
// from the model (hello_deepa takes 25 frames, the kind's default is 16).
func TestGenInputsForModel(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	dir := filepath.Join(t.TempDir(), "ww")
	code, stdout, stderr := runCaptured(t, "gen", "inputs", "wakeword", "--model", model, "--samples", "2", "-o", dir)
	if code != exitOK || !strings.Contains(stdout, "2 wakeword samples of shape [1 25 96]") {
		t.Fatalf("gen inputs --model: exit %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCaptured(t, "verify", "--inputs", dir, model, model)
	if code != exitOK {
		t.Errorf("verify --inputs on the written set: exit %d, %q, %q", code, stdout, stderr)
	}
	// --shape with --model: the model's name, the given sizes.
	det := testenv.Model(t, "ppocr-det.onnx")
	code, stdout, stderr = runCaptured(t, "gen", "inputs", "ppocr-det", "--model", det, "--shape", "1x3x64x96", "--samples", "1", "-o", filepath.Join(t.TempDir(), "det"))
	if code != exitOK || !strings.Contains(stdout, "shape [1 3 64 96]") {
		t.Errorf("gen inputs --model --shape: exit %d, %q, %q", code, stdout, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gen", "inputs", "ppocr-det", "--model", model, "-o", filepath.Join(t.TempDir(), "a")}, "no input of rank 4"},
		{[]string{"gen", "inputs", "wakeword", "--model", model, "--shape", "1x3x25x96", "-o", filepath.Join(t.TempDir(), "b")}, "rank 4"},
	} {
		code, _, stderr := runCaptured(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("onnxopt %s: exit %d, %q; want usage error %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

// TestVerifyInputsMustFit: verify --inputs refuses data of another shape
// or for another input name, naming the input, instead of handing it to
// ONNX Runtime (or feeding it by position).
func TestVerifyInputsMustFit(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	for _, c := range []struct {
		gen  []string
		want string
	}{
		{[]string{"wakeword"}, "has shape [1 16 96], but the model takes float32[1,25,96]"},
		{[]string{"wakeword", "--shape", "1x25x96", "--name", "frames"}, `tensor "frames" is not an input of the model`},
	} {
		dir := filepath.Join(t.TempDir(), "in")
		args := append(append([]string{"gen", "inputs"}, c.gen...), "--samples", "1", "-o", dir)
		if code, _, stderr := runCaptured(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d, %s", args, code, stderr)
		}
		code, _, stderr := runCaptured(t, "verify", "--inputs", dir, model, model)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("verify --inputs (%v): exit %d, %q; want a failure saying %q", c.gen, code, stderr, c.want)
		}
	}
}
