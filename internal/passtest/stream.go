package passtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// RunFile runs pipeline on the model file in, in memory or streamed
// (graph.Model.Stream), writes the result with opts to a new folder and
// returns the written files by name, the output path and the peak of
// weight bytes the store held while the passes ran.
func RunFile(t testing.TB, in, pipeline string, stream bool, opts onnx.WriteOptions) (files map[string][]byte, out string, peak int64) {
	t.Helper()
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out = filepath.Join(t.TempDir(), "out.onnx")
	if stream {
		if err := m.Stream(out, opts); err != nil {
			t.Fatal(err)
		}
	}
	p, err := passes.Parse(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(p, m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	_, peak = m.Store.Held()
	if err := m.WriteFile(out, opts); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // a streamed run's scratch file goes
		t.Fatal(err)
	}
	return ReadFolder(t, filepath.Dir(out)), out, peak
}

// ReadFolder returns the files of dir by name.
func ReadFolder(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// SameFiles fails the test unless the two runs wrote the same files with
// the same bytes.
func SameFiles(t testing.TB, want, got map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("wrote %d files, want %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs between the in-memory and the streamed run", name)
		}
	}
}

// ExternalBytes returns the total and the largest size of the external
// tensors of the model file in.
func ExternalBytes(t testing.TB, in string) (total, largest int64) {
	t.Helper()
	p, err := onnx.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	onnx.WalkTensors(p, func(tp *onnx.TensorProto, _ onnx.TensorSite) {
		if tp.IsExternal() {
			n, _ := tp.Elements()
			b := onnx.StorageBytes(tp.GetDataType(), n)
			total, largest = total+b, max(largest, b)
		}
	})
	return total, largest
}
