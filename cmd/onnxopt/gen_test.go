package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
)

func TestGen(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args  []string
		nodes int // at least
	}{
		{[]string{"gen", "mlp", "--dim", "16", "--hidden", "32", "--blocks", "2", "-o", filepath.Join(dir, "mlp.onnx")}, 10},
		{[]string{"gen", "cnn", "-o", filepath.Join(dir, "cnn.onnx")}, 10},
	} {
		if code, _, stderr := runCaptured(t, c.args...); code != exitOK {
			t.Fatalf("onnxopt %s: exit %d: %s", strings.Join(c.args, " "), code, stderr)
		}
		m, err := graph.ReadFile(c.args[len(c.args)-1])
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Graph.Check(); err != nil || len(m.Graph.Nodes) < c.nodes {
			t.Fatalf("%s: %d nodes, check %v", c.args[1], len(m.Graph.Nodes), err)
		}
	}
	code, _, stderr := runCaptured(t, "gen", "mlp", filepath.Join(dir, "x.onnx"))
	if code != exitUsage || !strings.Contains(stderr, "give the output file with -o") {
		t.Fatalf("positional output: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCaptured(t, "gen", "mlp", "--size", "1XB", "-o", filepath.Join(dir, "y.onnx"))
	if code != exitUsage {
		t.Fatalf("bad size: exit %d, %q", code, stderr)
	}
}

func TestGenLlama(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny.onnx")
	code, stdout, stderr := runCaptured(t, "gen", "llama", "--preset", "tiny", "-o", tiny)
	if code != exitOK || !strings.Contains(stdout, "vocab 256, hidden 64") || !strings.Contains(stdout, "tied head") {
		t.Fatalf("gen llama: exit %d, %q, %q", code, stdout, stderr)
	}
	// Flags override the preset; derived sizes follow the new width.
	custom := filepath.Join(dir, "custom.onnx")
	code, stdout, stderr = runCaptured(t, "gen", "llama", "--preset", "7b", "--vocab", "500", "--hidden", "128",
		"--heads", "4", "--layers", "1", "--tied=false", "--external", "-o", custom)
	if code != exitOK || !strings.Contains(stdout, "vocab 500, hidden 128, intermediate 384, 1 layers, 4 heads (4 kv, size 32), untied") {
		t.Fatalf("gen llama with overrides: exit %d, %q, %q", code, stdout, stderr)
	}
	for _, path := range []string{tiny, custom} {
		m, err := graph.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Graph.Check(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m.Graph.Lookup("logits") == nil || m.Graph.Lookup("input_ids") == nil {
			t.Errorf("%s: no input_ids or logits", path)
		}
	}
	if m, _ := graph.ReadFile(custom); m.Graph.Lookup("lm_head.weight") == nil {
		t.Errorf("--tied=false: no lm_head.weight")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "70b"}, "unknown preset"},
		{[]string{"--heads", "5"}, "not a multiple of heads"},
		{[]string{"--kv-heads", "3"}, "not a multiple of kv-heads"},
		{[]string{"--vocab", "-1"}, "--vocab must be positive"},
	} {
		args := append([]string{"gen", "llama", "-o", filepath.Join(dir, "bad.onnx")}, c.args...)
		code, _, stderr := runCaptured(t, args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("gen llama %v: exit %d, %q; want usage error about %q", c.args, code, stderr, c.want)
		}
	}
}
