package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// smallMLP writes a small MLP (about 10 KB of weights) to dir/name and
// returns its path.
func smallMLP(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := onnx.Encode(modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 2, Classes: 4}))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestRunNoPassIsByteIdentical(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	out := filepath.Join(dir, "out.onnx")
	if code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !bytes.Equal(readBytes(t, in), readBytes(t, out)) {
		t.Errorf("a run without passes changed the bytes")
	}
}

func TestRunPipelines(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	yaml := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(yaml, []byte("passes:\n  - fold-constants: {max-bytes: 1000}\n  - sparse-storage: {min-sparsity: 0.9}\n  - dce\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const text = "fold-constants(max-bytes=1000),sparse-storage(min-sparsity=0.9),dce"
	var outs [][]byte
	for i, args := range [][]string{
		{"run", "-p", text, in, "-o", "a.onnx", "-q"},       // flags before
		{"run", in, "-o", "b.onnx", "-q", "-p", text},       // flags after
		{"run", "-q", "-f", yaml, "--output", "c.onnx", in}, // pipeline file
	} {
		for k, a := range args {
			if strings.HasSuffix(a, ".onnx") && a != in {
				args[k] = filepath.Join(dir, a)
			}
		}
		code, _, stderr := runCaptured(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		outs = append(outs, readBytes(t, filepath.Join(dir, string(rune('a'+i))+".onnx")))
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Equal(outs[0], outs[2]) {
		t.Errorf("the same pipeline given three ways wrote different models")
	}
}

func TestRunRefusesToOverwriteInput(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	before := readBytes(t, in)
	code, _, stderr := runCaptured(t, "run", in, "-o", in, "-p", "dce", "-q")
	if code != exitUsage || !strings.Contains(stderr, "--in-place") {
		t.Fatalf("exit %d, stderr %q; want 2 and a hint about --in-place", code, stderr)
	}
	if !bytes.Equal(before, readBytes(t, in)) {
		t.Fatal("the refused run changed the input")
	}
	// The same file under another spelling is still the input.
	code, _, _ = runCaptured(t, "run", in, "-o", filepath.Join(dir, ".", "in.onnx"), "-q")
	if code != exitUsage {
		t.Errorf("-o %s/./in.onnx: exit %d, want 2", dir, code)
	}
	if code, _, stderr := runCaptured(t, "run", in, "-o", in, "-q", "--in-place", "-p", "sparse-storage"); code != 0 {
		t.Fatalf("--in-place: exit %d: %s", code, stderr)
	}
	if _, err := graph.ReadFile(in); err != nil {
		t.Errorf("the model written in place does not read: %v", err)
	}
}

func TestRunUsageAndLoadErrors(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	out := filepath.Join(dir, "out.onnx")
	corrupt := filepath.Join(dir, "corrupt.onnx")
	b := readBytes(t, in)
	if err := os.WriteFile(corrupt, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", in, "-o", out, "-p", "dce,nosuchpass"}, exitUsage, `unknown pass "nosuchpass"`},
		{[]string{"run", in, "-o", out, "-p", "sparse-storage(index-type=int4)"}, exitUsage, "index-type"},
		{[]string{"run", in, "-o", out, "-p", "dce", "-f", "x.yaml"}, exitUsage, "not both"},
		{[]string{"run", in}, exitUsage, "-o"},
		{[]string{"run", corrupt, "-o", out}, exitFailure, "corrupt.onnx"},
		{[]string{"run", filepath.Join(dir, "missing.onnx"), "-o", out}, exitFailure, "missing.onnx"},
	} {
		code, _, stderr := runCaptured(t, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
		if !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: stderr %q, want one line containing %q", tc.args, stderr, tc.want)
		}
		if exists(out) {
			t.Fatalf("%v: a failed run left %s", tc.args, out)
		}
	}
}

func TestRunReport(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	out := filepath.Join(dir, "out.onnx")
	repPath := filepath.Join(dir, "report.json")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q", "-p", "fold-constants,sparse-storage(min-sparsity=0),dce", "--report", repPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep passes.Report
	if err := json.Unmarshal(readBytes(t, repPath), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Input != in || rep.Output != out || rep.FileBytes != int64(len(readBytes(t, out))) {
		t.Errorf("report input %q output %q file_bytes %d", rep.Input, rep.Output, rep.FileBytes)
	}
	if len(rep.Passes) != 3 || rep.Passes[0].Pass != "fold-constants" || rep.Passes[2].Pass != "dce" {
		t.Fatalf("report passes %+v", rep.Passes)
	}
	for _, p := range rep.Passes {
		if p.Seconds <= 0 || p.Seconds > rep.Seconds {
			t.Errorf("%s took %vs of %vs", p.Pass, p.Seconds, rep.Seconds)
		}
		if p.Extra == nil || p.BytesBefore == 0 {
			t.Errorf("%s has no statistics: %+v", p.Pass, p)
		}
	}
	if rep.Passes[0].Options["max-bytes"] != "16777216" {
		t.Errorf("default option not reported: %v", rep.Passes[0].Options)
	}
}

func TestRunExternalThreshold(t *testing.T) {
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	out := filepath.Join(dir, "out.onnx")
	if code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q", "--external-threshold", "1KB"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	side := out + ".data"
	if !exists(side) {
		t.Fatalf("no side file %s", side)
	}
	if len(readBytes(t, out)) >= len(readBytes(t, in))/2 {
		t.Errorf("the model file (%d bytes) still holds the large tensors (input %d bytes)", len(readBytes(t, out)), len(readBytes(t, in)))
	}
	a, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Graph.DumpString() != b.Graph.DumpString() {
		t.Errorf("the re-read graph differs")
	}
	external := 0
	for i, v := range a.Graph.Initializers {
		w := b.Graph.Initializers[i]
		ra, err1 := v.Tensor.Raw()
		rb, err2 := w.Tensor.Raw()
		if err1 != nil || err2 != nil || !bytes.Equal(ra, rb) {
			t.Errorf("initializer %s differs after the round trip (%v, %v)", v.Name, err1, err2)
		}
		if w.Tensor.Proto.IsExternal() {
			external++
			if len(ra) < 1024 {
				t.Errorf("%s (%d bytes) moved out below the threshold", v.Name, len(ra))
			}
		} else if len(ra) >= 1024 {
			t.Errorf("%s (%d bytes) stayed inline above the threshold", v.Name, len(ra))
		}
	}
	if external == 0 {
		t.Errorf("no tensor is external")
	}
}

// TestRunSummarySaysHow: the summary line of a calibrated pass names the
// method and what the layers were fitted to, and a quantize pass its
// rounding method.
func TestRunSummarySaysHow(t *testing.T) {
	testenv.Runtime(t)
	dir := t.TempDir()
	in := smallMLP(t, dir, "in.onnx")
	for p, want := range map[string]string{
		"nm(method=sparsegpt)":                         "sparsegpt (target=original)",
		"prune(sparsity=0.5,method=wanda)":             "wanda (target=layer)",
		"quantize(type=int4,method=rtn)":               "rtn,",
		"quantize(type=int4,method=gptq,target=layer)": "gptq (target=layer)",
	} {
		code, stdout, stderr := runCaptured(t, "run", "-p", p, in, "-o", filepath.Join(dir, "out.onnx"))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, stderr)
		}
		if !strings.Contains(stdout, want) {
			t.Errorf("%s: summary %q does not say %q", p, stdout, want)
		}
	}
}
