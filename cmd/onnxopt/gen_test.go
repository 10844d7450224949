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
