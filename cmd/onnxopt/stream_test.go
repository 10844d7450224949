package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// externalMLP writes an MLP with its weights in a side file, in a folder
// of its own, and returns its path and the model file's size.
func externalMLP(t *testing.T) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := modelgen.WriteMLP(path, modelgen.MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Seed: 5}, true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, st.Size()
}

func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestRunStreamsWhatDoesNotFit: a model whose external data is over
// --max-memory is streamed when its passes can stream, with the bytes the
// in-memory run writes; forcing --stream gives the same.
func TestRunStreamsWhatDoesNotFit(t *testing.T) {
	in, modelSize := externalMLP(t)
	fitsOnlyTheModelFile := strconv.FormatInt(modelSize+1024, 10)
	for _, pipeline := range []string{"prune(sparsity=0.5)", "prune(sparsity=0.5,scope=global),nm(n=2,m=4)", ""} {
		var outs []string
		for _, extra := range [][]string{{"--max-memory", "0"}, {"--max-memory", fitsOnlyTheModelFile}, {"--stream"}} {
			out := filepath.Join(t.TempDir(), "out.onnx")
			args := append([]string{"run", in, "-o", out}, extra...)
			if pipeline != "" {
				args = append(args, "-p", pipeline)
			}
			code, _, stderr := runCaptured(t, args...)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			if extra[0] != "--max-memory" || extra[1] != "0" {
				if !strings.Contains(stderr, "streaming") {
					t.Errorf("%v: no note that the model is streamed: %q", extra, stderr)
				}
			}
			if names := folderNames(t, filepath.Dir(out)); len(names) != 2 {
				t.Errorf("%v: output folder holds %v, want the model and its side file", extra, names)
			}
			outs = append(outs, out)
		}
		for _, out := range outs[1:] {
			for _, name := range folderNames(t, filepath.Dir(outs[0])) {
				a := readBytes(t, filepath.Join(filepath.Dir(outs[0]), name))
				if !bytes.Equal(a, readBytes(t, filepath.Join(filepath.Dir(out), name))) {
					t.Errorf("%q: %s differs between the in-memory and the streamed run", pipeline, name)
				}
			}
		}
	}
}

// TestRunRefusesWhatCannotStream: a pass that holds the model is refused,
// naming it, when the model does not fit; nothing is written.
func TestRunRefusesWhatCannotStream(t *testing.T) {
	in, modelSize := externalMLP(t)
	out := filepath.Join(t.TempDir(), "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "-p", "prune(sparsity=0.5),fold-constants",
		"--max-memory", strconv.FormatInt(modelSize+1024, 10))
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	checkOneLineError(t, stderr, "fold-constants cannot stream")
	if !strings.Contains(stderr, "over --max-memory") {
		t.Errorf("the error does not say the model is over --max-memory: %q", stderr)
	}
	if names := folderNames(t, filepath.Dir(out)); len(names) != 0 {
		t.Errorf("a refused run wrote %v", names)
	}
}

// TestStreamFlagRefusesWhatCannotStream: --stream with a pass that holds
// every weight, or that runs the model in ONNX Runtime, is a usage error
// before anything runs, whatever the model's size.
func TestStreamFlagRefusesWhatCannotStream(t *testing.T) {
	in, _ := externalMLP(t)
	for _, p := range []string{"prune(sparsity=0.5),repair", "prune(method=wanda,sparsity=0.5)", "fold-constants"} {
		out := filepath.Join(t.TempDir(), "out.onnx")
		code, _, stderr := runCaptured(t, "run", in, "-o", out, "--stream", "-p", p)
		if code != exitUsage {
			t.Fatalf("%s: exit %d, want %d: %s", p, code, exitUsage, stderr)
		}
		checkOneLineError(t, stderr, "cannot stream")
		if names := folderNames(t, filepath.Dir(out)); len(names) != 0 {
			t.Errorf("%s: a refused run wrote %v", p, names)
		}
	}
}

// failAfterSpill changes and releases every weight (spilling it to the
// output's folder) and then fails.
var failAfterSpill = &passes.Pass{
	Name:    "test-fail-after-spill",
	Doc:     "test only: spill every weight, then fail",
	Streams: true,
	Run: func(ctx *passes.Context, m *graph.Model, a passes.Args) error {
		for _, v := range m.Graph.Initializers {
			w, err := v.Tensor.MutableFloat32s()
			if err != nil {
				return err
			}
			w[0] = 1
			if err := v.Tensor.Release(); err != nil {
				return err
			}
		}
		return errors.New("failed on purpose")
	},
}

func init() { passes.Register(failAfterSpill) }

// TestRunStreamedFailureLeavesNothing: a pass that fails after weights
// were spilled leaves no file in the output folder.
func TestRunStreamedFailureLeavesNothing(t *testing.T) {
	in, _ := externalMLP(t)
	out := filepath.Join(t.TempDir(), "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "--stream", "-p", "prune(sparsity=0.5),test-fail-after-spill")
	if code != exitFailure || !strings.Contains(stderr, "failed on purpose") {
		t.Fatalf("exit %d, want %d with the pass's error: %s", code, exitFailure, stderr)
	}
	if names := folderNames(t, filepath.Dir(out)); len(names) != 0 {
		t.Errorf("a failed streamed run left %v", names)
	}
}

// TestRunStreamedInterrupted sends SIGINT while a streamed pass is
// spilling weights to the output's folder: the run exits with 130 and
// leaves no file there.
func TestRunStreamedInterrupted(t *testing.T) {
	bin := binary(t)
	in := filepath.Join(t.TempDir(), "model.onnx")
	if err := modelgen.WriteMLP(in, modelgen.MLPForBytes(160<<20, modelgen.MLPOptions{}), true); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	interruptOnceWriting(t, outDir, bin, "run", in, "-o", filepath.Join(outDir, "out.onnx"), "-q", "--stream", "--threads", "1", "-p", "prune(sparsity=0.5)")
	if names := folderNames(t, outDir); len(names) > 0 {
		t.Errorf("an interrupted streamed run left %v", names)
	}
}

// TestRunStreamsQuantizeByMode: weight-only quantize streams a model over
// --max-memory, with the in-memory run's bytes; a calibrated method is
// refused, named by its pass.
func TestRunStreamsQuantizeByMode(t *testing.T) {
	in, modelSize := externalMLP(t)
	limit := strconv.FormatInt(modelSize+1024, 10)
	var outs []string
	for _, mem := range []string{"0", limit} {
		out := filepath.Join(t.TempDir(), "out.onnx")
		code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q", "-p", "quantize(type=int4,block=32)", "--max-memory", mem)
		if code != exitOK {
			t.Fatalf("--max-memory %s: exit %d: %s", mem, code, stderr)
		}
		outs = append(outs, filepath.Dir(out))
	}
	for _, name := range folderNames(t, outs[0]) {
		if !bytes.Equal(readBytes(t, filepath.Join(outs[0], name)), readBytes(t, filepath.Join(outs[1], name))) {
			t.Errorf("%s differs between the in-memory and the streamed run", name)
		}
	}
	out := filepath.Join(t.TempDir(), "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "-p", "quantize(type=int8,mode=static)", "--max-memory", limit)
	if code != exitFailure {
		t.Fatalf("static quantize of a model over --max-memory: exit %d, want %d: %s", code, exitFailure, stderr)
	}
	checkOneLineError(t, stderr, "quantize cannot stream")
}
