package prune_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	_ "github.com/onnxopt/onnxopt/passes/nm" // streams too
	"github.com/onnxopt/onnxopt/passes/prune"
)

// writeExternalChain writes a chain of MatMuls whose weights (with many
// tied magnitudes) are in a side file, and returns the model's path.
func writeExternalChain(t *testing.T, dims []int64) string {
	t.Helper()
	b := modelgen.NewBuilder("chain")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, dims[0])
	for i := range len(dims) - 1 {
		v := gaussian(int(dims[i]*dims[i+1]), uint64(i+1), 0.1)
		if i == 1 {
			for j := range v {
				v[j] = float32(j%7) * 0.01 // heavy ties, and zeros
			}
		}
		w := b.Init(weightName(i), []int64{dims[i], dims[i+1]}, v)
		x = b.Op("mm"+string(rune('0'+i)), "MatMul", []string{x, w})
	}
	b.Output(x, onnx.TensorProto_FLOAT, 1, dims[len(dims)-1])
	path := filepath.Join(t.TempDir(), "chain.onnx")
	if err := onnx.WriteFile(path, b.Model(17), onnx.WriteOptions{ExternalThreshold: 64, ExternalLocation: "chain.bin"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// pruneFile runs pipeline over the model at in and writes it to a new
// folder, streaming or not; it returns the output folder and the most
// bytes of weights the store held at once.
func pruneFile(t *testing.T, in, pipeline string, stream bool, threads int, budget int64) (string, int64) {
	t.Helper()
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := filepath.Join(t.TempDir(), "out.onnx")
	if stream {
		if err := m.Stream(out, onnx.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		m.Store.SetHoldBudget(budget)
	}
	passtest.Run(t, m, pipeline, threads)
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, peak := m.Store.Held()
	return filepath.Dir(out), peak
}

// convertFile writes the model at in, converted by pipeline, to a new
// folder with its weights in a side file, and returns its path.
func convertFile(t *testing.T, in, pipeline string) string {
	t.Helper()
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	passtest.Run(t, m, pipeline, 1)
	if w := m.Graph.Lookup(weightName(0)).Const(); w.DataType() == int32(onnx.TensorProto_FLOAT) {
		t.Fatalf("%s left %s float32", pipeline, weightName(0))
	}
	out := filepath.Join(t.TempDir(), "chain.onnx")
	if err := m.WriteFile(out, onnx.WriteOptions{ExternalThreshold: 64, ExternalLocation: "chain.bin"}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStreamingPruneWritesTheSameBytes(t *testing.T) {
	dims := []int64{24, 40, 32, 48, 16}
	in := writeExternalChain(t, dims)
	t.Run("float32", func(t *testing.T) { testStreamingPrune(t, in, dims, 4) })
	// 16-bit weights are zeroed in their own bytes, never decoded.
	t.Run("float16", func(t *testing.T) { testStreamingPrune(t, convertFile(t, in, "convert-float(to=float16)"), dims, 2) })
	t.Run("bfloat16", func(t *testing.T) {
		testStreamingPrune(t, convertFile(t, in, "convert-float(to=bfloat16,compute=float32)"), dims, 2)
	})
}

// testStreamingPrune checks that pruning the chain at in (weights of size
// bytes per element) streamed writes what the in-memory run writes, within
// the memory bound.
func testStreamingPrune(t *testing.T, in string, dims []int64, size int64) {
	var largest int64
	for i := range len(dims) - 1 {
		largest = max(largest, size*dims[i]*dims[i+1])
	}
	// Small chunks make the in-memory global selection split tensors,
	// which the streamed one never does: the cut must not depend on it.
	defer prune.SetChunkElems(100)()
	for _, pipeline := range []string{
		"prune(sparsity=0.5)",
		"prune(sparsity=0.5,scope=global)",
		"prune(sparsity=0.37,scope=global)",
		"prune(sparsity=0,scope=global)",
		"prune(threshold=0.05)",
		"prune(sparsity=0.5),prune(sparsity=0.7,scope=global)",
		"nm(n=2,m=4)",
		"prune(sparsity=0.3),nm(n=2,m=4)",
	} {
		for _, tc := range []struct {
			threads int
			budget  int64
		}{{1, 0}, {2, 0}, {3, largest}} {
			threads := tc.threads
			t.Run(fmt.Sprintf("%s/threads=%d,budget=%d", pipeline, threads, tc.budget), func(t *testing.T) {
				want, _ := pruneFile(t, in, pipeline, false, threads, 0)
				got, peak := pruneFile(t, in, pipeline, true, threads, tc.budget)
				for _, name := range []string{"out.onnx", "chain.bin"} {
					a, err := os.ReadFile(filepath.Join(want, name))
					if err != nil {
						t.Fatal(err)
					}
					b, err := os.ReadFile(filepath.Join(got, name))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(a, b) {
						t.Errorf("%s differs between the in-memory and the streaming run", name)
					}
				}
				if entries, _ := os.ReadDir(got); len(entries) != 2 {
					t.Errorf("streaming left %d files in the output folder, want 2", len(entries))
				}
				// Memory bound: at most one weight per thread at a time,
				// and no more than the budget.
				bound := int64(threads) * largest
				if tc.budget > 0 {
					bound = tc.budget
				}
				if peak <= 0 || peak > bound {
					t.Errorf("peak held %d bytes; want at most %d (threads %d, largest weight %d, budget %d)", peak, bound, threads, largest, tc.budget)
				}
			})
		}
	}
}
