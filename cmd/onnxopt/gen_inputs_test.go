package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
