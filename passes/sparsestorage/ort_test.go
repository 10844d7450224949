package sparsestorage_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	_ "github.com/onnxopt/onnxopt/passes/prune"
)

func runModel(t *testing.T, path string, x *ort.Tensor) []byte {
	t.Helper()
	s, err := ort.Open(path, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run([]ort.Value{x})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].(*ort.Tensor).Raw
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestPrunedMLPAcceptance: prune(sparsity=0.9),sparse-storage on an MLP
// gives a file at most 35% of the dense original, whose outputs in ONNX
// Runtime are bit-identical to the dense pruned model's.
func TestPrunedMLPAcceptance(t *testing.T) {
	testenv.Runtime(t)
	dir := t.TempDir()
	dense := modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Classes: 10})
	densePath := filepath.Join(dir, "dense.onnx")
	if err := onnx.WriteFile(densePath, dense, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := graph.FromProto(dense, nil)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, m, "prune(sparsity=0.9)")
	prunedPath := filepath.Join(dir, "pruned.onnx")
	if err := m.WriteFile(prunedPath, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rep := runPipeline(t, m, "sparse-storage")
	sparsePath := filepath.Join(dir, "sparse.onnx")
	if err := m.WriteFile(sparsePath, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.SparseInitializers) != 5 {
		t.Errorf("%d sparse initializers, want the 5 MatMul weights", len(m.Graph.SparseInitializers))
	}
	ds, ss := fileSize(t, densePath), fileSize(t, sparsePath)
	ratio := float64(ss) / float64(ds)
	t.Logf("dense %d bytes, pruned+sparse %d bytes (%.3fx); constants %d -> %d bytes", ds, ss, ratio, rep.Passes[0].BytesBefore, rep.Passes[0].BytesAfter)
	if ratio > 0.35 {
		t.Errorf("sparse file is %.3fx the dense original, want at most 0.35x", ratio)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	x, err := ort.NewTensor(ort.Float32, []int64{8, 64})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(x.Raw); i += 4 {
		binary.LittleEndian.PutUint32(x.Raw[i:], math.Float32bits(float32(rng.NormFloat64())))
	}
	want := runModel(t, prunedPath, x)
	got := runModel(t, sparsePath, x)
	if !bytes.Equal(got, want) {
		t.Errorf("outputs of the sparse model differ from the dense pruned model's")
	}
	if orig := runModel(t, densePath, x); bytes.Equal(orig, want) {
		t.Errorf("pruning 90%% of the weights left the outputs unchanged: the comparison proves nothing")
	}
}

// TestIndexTypesLoadInRuntime checks that ONNX Runtime loads every index
// type the pass writes and densifies it to the same outputs.
func TestIndexTypesLoadInRuntime(t *testing.T) {
	testenv.Runtime(t)
	dir := t.TempDir()
	base := modelgen.MLP(modelgen.MLPOptions{Dim: 8, Hidden: 16, Blocks: 1, Classes: 4})
	m, err := graph.FromProto(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, m, "prune(sparsity=0.9,min-elements=0)")
	refPath := filepath.Join(dir, "ref.onnx")
	if err := m.WriteFile(refPath, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	x, _ := ort.NewTensor(ort.Float32, []int64{2, 8})
	for i := 0; i < len(x.Raw); i += 4 {
		binary.LittleEndian.PutUint32(x.Raw[i:], math.Float32bits(float32(i%7)-3))
	}
	want := runModel(t, refPath, x)
	for _, it := range []string{"int64", "int32", "int16", "int8"} {
		m, err := graph.ReadFile(refPath)
		if err != nil {
			t.Fatal(err)
		}
		runPipeline(t, m, "sparse-storage(index-type="+it+")")
		if len(m.Graph.SparseInitializers) == 0 {
			t.Fatalf("%s: nothing stored sparse", it)
		}
		p := filepath.Join(dir, it+".onnx")
		if err := m.WriteFile(p, onnx.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := runModel(t, p, x); !bytes.Equal(got, want) {
			t.Errorf("%s indices: outputs differ from the dense model's", it)
		}
	}
}
