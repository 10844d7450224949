package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

func init() {
	passes.Register(&passes.Pass{Name: "test-cli-fail", Doc: "test pass that always fails",
		Run: func(*passes.Context, *graph.Model, passes.Args) error { return errors.New("no luck") }})
}

func TestRunPrintIRAfter(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	out := filepath.Join(dir, "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q", "-p", "fold-constants,dce", "--print-ir-after=dce")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "// IR after pass 2 of 2: dce\ngraph ") || strings.Contains(stderr, "fold-constants") {
		t.Errorf("--print-ir-after=dce printed:\n%.300s", stderr)
	}
	// The dump is the written model's.
	m, err := graph.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := m.Graph.DumpString(); !strings.HasSuffix(stderr, want) {
		t.Errorf("the dump after dce is not the written model's:\n%.300s", stderr)
	}

	code, _, stderr = runCaptured(t, "run", in, "-o", out, "-q", "-p", "dce,dce", "--print-ir-after=all")
	if code != 0 || strings.Count(stderr, "// IR after pass") != 2 || !strings.Contains(stderr, "// IR after pass 2 of 2: dce\n") {
		t.Errorf("--print-ir-after=all: exit %d, printed:\n%.300s", code, stderr)
	}

	code, _, stderr = runCaptured(t, "run", in, "-o", out, "-p", "dce", "--print-ir-after=nm")
	if code != exitUsage || !strings.Contains(stderr, `--print-ir-after: pass "nm" is not in the pipeline`) {
		t.Errorf("--print-ir-after for a pass not run: exit %d, %s", code, stderr)
	}
}

func TestRunFailurePrintsReproducer(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "my model.onnx")
	out := filepath.Join(dir, "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "-p", "dce,test-cli-fail,prune(sparsity=0.5)")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	want := "pass test-cli-fail: no luck; to reproduce: onnxopt run " + shellQuote(in) + " -o " + shellQuote(out) + " -p dce,test-cli-fail\n"
	if !strings.HasSuffix(stderr, want) || !strings.Contains(stderr, "'") {
		t.Errorf("stderr %q\nwant it to end with %q (the path quoted)", stderr, want)
	}
	if exists(out) {
		t.Error("a failed run wrote its output")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"model.onnx":           "model.onnx",
		"dce,nm(n=2,m=4)":      "'dce,nm(n=2,m=4)'",
		"it's":                 `'it'\''s'`,
		"":                     "''",
		"/a/b-c_d.onnx":        "/a/b-c_d.onnx",
		`prune(include="a b")`: `'prune(include="a b")'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
