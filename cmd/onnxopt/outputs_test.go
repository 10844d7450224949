package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
)

// TestOutputsNeverOverwriteInputs checks that every flag that writes a file
// refuses a path naming an input model, another output, or a folder, with
// a usage error and nothing changed.
func TestOutputsNeverOverwriteInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	other := filepath.Join(dir, "other.onnx")
	writeTiny(t, in)
	writeTiny(t, other)
	orig, _ := os.ReadFile(in)
	out := filepath.Join(dir, "out.onnx")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", in, "-o", out, "--report", in}, "--report " + in + " is an input model"},
		{[]string{"run", in, "-o", out, "--report", out}, "-o and --report name the same file"},
		{[]string{"run", in, "-o", dir}, "is a folder"},
		{[]string{"run", in, "-o", in}, "pass --in-place"},
		{[]string{"diff", "--html", in, in, other}, "--html " + in + " is an input model"},
		{[]string{"diff", "--html", dir, in, other}, "is a folder"},
		{[]string{"run", "-p", "prune(sparsity=1.5)", in, "-o", out}, "sparsity=1.5 is out of range"},
		{[]string{"run", "-p", "nm(n=4,m=2)", in, "-o", out}, "n=4 is out of range"},
		{[]string{"verify", "--shape", "batch=1000000000", in, other}, "give smaller --shape sizes"},
	}
	for _, c := range cases {
		code, _, stderr := runCaptured(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("onnxopt %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, stderr, exitUsage, c.want)
		}
		if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
			t.Fatalf("onnxopt %s changed the input model", strings.Join(c.args, " "))
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("onnxopt %s wrote %s", strings.Join(c.args, " "), out)
		}
	}
}

// TestVerifyRefusesModelsWithDifferentInputs checks the message names the
// input and both sizes instead of passing on ONNX Runtime's.
func TestVerifyRefusesModelsWithDifferentInputs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	writeTiny(t, a)
	if err := modelgen.WriteMLP(b, modelgen.MLPOptions{Dim: 16, Hidden: 16, Blocks: 1, Classes: 4}, false); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCaptured(t, "verify", a, b)
	if code != exitFailure || !strings.Contains(stderr, `dimension 1 of "input" is 8 in`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
