package graph_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// externalModel writes an MLP whose weights of at least 1 KB are in
// weights.bin beside it, in a folder of its own, and returns its path.
func externalModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 48, Blocks: 2, Seed: 3})
	path := filepath.Join(dir, "m.onnx")
	if err := onnx.WriteFile(path, p, onnx.WriteOptions{ExternalThreshold: 1024, ExternalLocation: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyModel copies the files of the model's folder into a new folder.
func copyModel(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, filepath.Base(path))
}

// edit changes the model's external weights one at a time, releasing each:
// every other value zeroed in place, and, with replace, one tensor given
// new bytes (which the writer appends rather than keeping its slot).
func edit(t *testing.T, m *graph.Model, replace bool) {
	t.Helper()
	for i, v := range m.Graph.Initializers {
		tn := v.Tensor
		if !tn.Proto.IsExternal() {
			continue
		}
		if replace && i == 1 {
			n, _ := tn.Elements()
			nv := make([]float32, n)
			for j := range nv {
				nv[j] = float32(j)
			}
			if err := tn.SetFloat32s(nv); err != nil {
				t.Fatal(err)
			}
		} else {
			w, err := tn.MutableFloat32s()
			if err != nil {
				t.Fatal(err)
			}
			for j := 0; j < len(w); j += 2 {
				w[j] = 0
			}
		}
		if err := tn.Release(); err != nil {
			t.Fatal(err)
		}
	}
}

// folderFiles returns the names and bytes of the files in dir.
func folderFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameFolders(t *testing.T, want, got string) {
	t.Helper()
	a, b := folderFiles(t, want), folderFiles(t, got)
	if len(a) != len(b) {
		t.Fatalf("in-memory path wrote %d files, streaming %d", len(a), len(b))
	}
	for name, x := range a {
		y, ok := b[name]
		if !ok {
			t.Fatalf("streaming wrote no %s", name)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between the in-memory and the streaming path", name)
		}
	}
}

func TestStreamingWritesTheSameBytes(t *testing.T) {
	in := externalModel(t)
	for _, tc := range []struct {
		name    string
		replace bool
		beside  bool // output in the input's folder (side file relocated)
		twice   bool // edited in place, then replaced: the spilled layout no longer holds
	}{
		{"in place, other folder", false, false, false},
		{"replaced, other folder", true, false, false},
		{"in place, beside the input", false, true, false},
		{"replaced, beside the input", true, true, false},
		{"in place then replaced, other folder", true, false, true},
		{"in place then replaced, beside the input", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs := [2]string{}
			for i, stream := range []bool{false, true} {
				src := copyModel(t, in)
				out := filepath.Join(t.TempDir(), "out.onnx")
				if tc.beside {
					out = filepath.Join(filepath.Dir(src), "out.onnx")
				}
				m, err := graph.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if stream {
					if err := m.Stream(out, onnx.WriteOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				if tc.twice {
					edit(t, m, false)
				}
				edit(t, m, tc.replace)
				if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
				outs[i] = filepath.Dir(out)
			}
			sameFolders(t, outs[0], outs[1])
			// The result reads back with the edits.
			m, err := graph.ReadFile(filepath.Join(outs[1], "out.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			w, err := m.Graph.Initializers[0].Tensor.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			if w[0] != 0 || w[2] != 0 || w[1] == 0 {
				t.Errorf("edits lost: %v", w[:4])
			}
		})
	}
}

func TestStreamingHoldsOneTensorAtATime(t *testing.T) {
	in := externalModel(t)
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := m.Stream(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var largest, total int64
	for _, v := range m.Graph.Initializers {
		if v.Tensor.Proto.IsExternal() {
			largest = max(largest, v.Tensor.Bytes())
			total += v.Tensor.Bytes()
		}
	}
	edit(t, m, false)
	now, peak := m.Store.Held()
	if now != 0 {
		t.Errorf("%d bytes still held after every tensor was released", now)
	}
	if peak != largest || peak >= total {
		t.Errorf("peak held %d bytes; want the largest tensor, %d (model: %d)", peak, largest, total)
	}
	// Reading a spilled tensor back finds the changed bytes.
	w, err := m.Graph.Initializers[0].Tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if w[0] != 0 || w[1] == 0 {
		t.Errorf("spilled tensor reads back as %v", w[:2])
	}
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestStreamingLeavesNothingWhenNotWritten(t *testing.T) {
	in := externalModel(t)
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	if err := m.Stream(filepath.Join(outDir, "out.onnx"), onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	edit(t, m, true) // spills into both the side file and the scratch file
	if len(folderFiles(t, outDir)) == 0 {
		t.Fatal("nothing was spilled: the test does not test anything")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if left := folderFiles(t, outDir); len(left) != 0 {
		var names []string
		for n := range left {
			names = append(names, n)
		}
		t.Errorf("a streaming run that failed left %s", strings.Join(names, ", "))
	}
}
