package sparsestorage_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// prunedExternal writes an MLP pruned to 90% zeros whose weights of at
// least 1 KB are in weights.bin, in a folder of its own.
func prunedExternal(t *testing.T) string {
	t.Helper()
	m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 96, Blocks: 2, Classes: 10, Seed: 5}), nil)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, m, "prune(sparsity=0.9)")
	path := filepath.Join(t.TempDir(), "pruned.onnx")
	if err := m.WriteFile(path, onnx.WriteOptions{ExternalThreshold: 1024, ExternalLocation: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// sparseFiles runs sparse-storage on the model at in, streamed or not, and
// returns the written files by name.
func sparseFiles(t *testing.T, in string, stream bool) (map[string][]byte, string, int64) {
	t.Helper()
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := filepath.Join(t.TempDir(), "sparse.onnx")
	if stream {
		if err := m.Stream(out, opts); err != nil {
			t.Fatal(err)
		}
	}
	runPipeline(t, m, "sparse-storage")
	if len(m.Graph.SparseInitializers) == 0 {
		t.Fatal("nothing stored sparse: the test tests nothing")
	}
	if stream {
		for _, v := range m.Graph.SparseInitializers {
			if vals := v.Sparse.GetValues(); onnx.StorageBytes(vals.GetDataType(), vals.GetDims()[0]) >= 1024 && vals.RawData != nil {
				t.Errorf("sparse values of %s still in memory after the pass", v.Name)
			}
		}
	}
	_, peak := m.Store.Held()
	if err := m.WriteFile(out, opts); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // removes the streamed run's scratch file
		t.Fatal(err)
	}
	return passtest.ReadFolder(t, filepath.Dir(out)), out, peak
}

func TestSparseStorageStreams(t *testing.T) {
	in := prunedExternal(t)
	want, _, _ := sparseFiles(t, in, false)
	got, out, peak := sparseFiles(t, in, true)
	if len(got) != len(want) {
		t.Fatalf("streamed run wrote %v, in-memory %v", keys(got), keys(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs between the in-memory and the streamed run", name)
		}
	}
	if _, ok := got["sparse.onnx.data"]; !ok {
		t.Error("no sparse values went to the side file")
	}
	// One dense weight at a time: the largest is 96 x 96 floats.
	if largest := int64(96 * 96 * 4); peak > largest {
		t.Errorf("streamed pass held %d bytes at its peak, over the largest weight (%d)", peak, largest)
	}

	// ONNX Runtime reads sparse values and indices from the side file.
	testenv.Runtime(t)
	x, err := ort.NewTensor(ort.Float32, []int64{4, 32})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(x.Raw); i += 4 {
		binary.LittleEndian.PutUint32(x.Raw[i:], math.Float32bits(float32(i%11)-5))
	}
	if !bytes.Equal(runModel(t, out, x), runModel(t, in, x)) {
		t.Error("outputs of the streamed sparse model differ from the dense pruned model's")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
