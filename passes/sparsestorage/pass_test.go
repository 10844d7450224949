package sparsestorage_test

import (
	"encoding/binary"
	"flag"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/sparsestorage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// withZeros returns n float32 values, every value zero except at the
// positions where keep(i) is true, which hold i+1.
func withZeros(n int, keep func(i int) bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		if keep(i) {
			v[i] = float32(i + 1)
		}
	}
	return v
}

// tinyModel has: w (8x8, 75% zeros, one of them -0.0), dense (8x8, 25%
// zeros), wc (a Constant node, 90% zeros) and winput (an initializer that
// is also a graph input, 90% zeros).
func tinyModel(t *testing.T) (*graph.Model, map[string][]float32) {
	t.Helper()
	b := modelgen.NewBuilder("tiny")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
	data := map[string][]float32{
		"w":      withZeros(64, func(i int) bool { return i%4 == 0 }),
		"dense":  withZeros(64, func(i int) bool { return i%4 != 0 }),
		"wc":     withZeros(64, func(i int) bool { return i%10 == 0 }),
		"winput": withZeros(64, func(i int) bool { return i%10 == 0 }),
	}
	data["w"][1] = float32(math.Copysign(0, -1)) // -0.0 must survive as a value
	w := b.Init("w", []int64{8, 8}, data["w"])
	d := b.Init("dense", []int64{8, 8}, data["dense"])
	b.Node("Constant", nil, []string{"wc"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{8, 8}, data["wc"])))
	b.Input("winput", onnx.TensorProto_FLOAT, 8, 8)
	b.Init("winput", []int64{8, 8}, data["winput"])
	y := b.Op("mm1", "MatMul", []string{x, w})
	y = b.Op("mm2", "MatMul", []string{y, d})
	y = b.Op("mm3", "MatMul", []string{y, "wc"})
	y = b.Op("mm4", "MatMul", []string{y, "winput"})
	b.Output(y, onnx.TensorProto_FLOAT, 1, 8)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

func runPipeline(t *testing.T, m *graph.Model, text string) *passes.Report {
	t.Helper()
	p, err := passes.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(p, m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func find(g *graph.Graph, name string) *graph.Value {
	for _, v := range append(append([]*graph.Value(nil), g.Initializers...), g.SparseInitializers...) {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// densify expands a sparse float32 tensor with linear indices of any
// integer type into its dense bits.
func densify(t *testing.T, s *onnx.SparseTensorProto) []uint32 {
	t.Helper()
	n, err := onnx.NumElements(s.GetDims())
	if err != nil {
		t.Fatal(err)
	}
	vals, err := onnx.Float32s(s.GetValues(), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := onnx.RawBytes(s.GetIndices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := onnx.ElemBits(s.GetIndices().GetDataType()) / 8
	if got := s.GetIndices().GetDims(); len(got) != 1 || got[0] != int64(len(vals)) {
		t.Fatalf("indices dims %v, want [%d] (linear form)", got, len(vals))
	}
	out := make([]uint32, n)
	for k, v := range vals {
		var i int64
		switch w {
		case 8:
			i = int64(binary.LittleEndian.Uint64(raw[8*k:]))
		case 4:
			i = int64(int32(binary.LittleEndian.Uint32(raw[4*k:])))
		case 2:
			i = int64(int16(binary.LittleEndian.Uint16(raw[2*k:])))
		case 1:
			i = int64(int8(raw[k]))
		}
		if i < 0 || i >= n {
			t.Fatalf("index %d out of range [0,%d)", i, n)
		}
		if k > 0 && out[i] != 0 {
			t.Fatalf("index %d repeated", i)
		}
		out[i] = math.Float32bits(v)
	}
	return out
}

func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func TestSparseStorage(t *testing.T) {
	for _, tc := range []struct {
		indexType string
		width     int
	}{{"int64", 8}, {"int32", 4}, {"int16", 2}} {
		t.Run(tc.indexType, func(t *testing.T) {
			m, data := tinyModel(t)
			rep := runPipeline(t, m, "sparse-storage(index-type="+tc.indexType+")")
			g := m.Graph

			w := find(g, "w")
			if w == nil || w.Sparse == nil {
				t.Fatalf("w is not a sparse initializer")
			}
			if got := w.Sparse.GetIndices().GetDataType(); onnx.ElemBits(got)/8 != tc.width {
				t.Errorf("indices are %s, want %s", onnx.DataTypeName(got), tc.indexType)
			}
			// 16 nonzeros plus the -0.0 kept as a value.
			if nnz := w.Sparse.GetValues().GetDims()[0]; nnz != 17 {
				t.Errorf("w has %d stored values, want 17 (16 nonzeros and -0.0)", nnz)
			}
			if got := densify(t, w.Sparse); !slices.Equal(got, bits(data["w"])) {
				t.Errorf("densified w differs from the original bits")
			}
			if d := find(g, "dense"); d == nil || d.Tensor == nil {
				t.Errorf("dense (25%% zeros) should stay dense")
			}
			if wi := find(g, "winput"); wi == nil || wi.Tensor == nil {
				t.Errorf("winput is a graph input and should stay dense")
			}

			pr := rep.Passes[0]
			if pr.TensorsTouched != 1 || len(pr.Tensors) != 1 {
				t.Fatalf("touched %d tensors, reported %d; want 1", pr.TensorsTouched, len(pr.Tensors))
			}
			tr := pr.Tensors[0]
			wantAfter := int64(17 * (4 + tc.width))
			if tr.Name != "w" || tr.BytesBefore != 256 || tr.BytesAfter != wantAfter {
				t.Errorf("tensor report %+v, want w 256 -> %d bytes", tr, wantAfter)
			}
			if pr.BytesBefore-pr.BytesAfter != 256-wantAfter {
				t.Errorf("constants %d -> %d bytes, want a saving of %d", pr.BytesBefore, pr.BytesAfter, 256-wantAfter)
			}
			reasons := map[string]string{}
			for _, s := range pr.Skipped {
				reasons[s.Name] = s.Reason
			}
			if !strings.Contains(reasons["wc"], "Constant node") {
				t.Errorf("wc skip reason %q, want it to name the Constant node", reasons["wc"])
			}
			if !strings.Contains(reasons["winput"], "graph input") {
				t.Errorf("winput skip reason %q, want it to name the graph input", reasons["winput"])
			}
			if _, ok := reasons["dense"]; ok {
				t.Errorf("dense is below min-sparsity and should not be reported as skipped")
			}
		})
	}
}

func TestSparseStorageSkips(t *testing.T) {
	// 60% zeros: int64 linear indices (12 bytes a nonzero) would be
	// larger than dense (4 bytes an element).
	b := modelgen.NewBuilder("skips")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 10)
	w60 := b.Init("w60", []int64{10, 10}, withZeros(100, func(i int) bool { return i%5 < 2 }))
	// 90% zeros but 200 elements: linear int8 indices cannot reach them.
	w90 := b.Init("w90", []int64{10, 20}, withZeros(200, func(i int) bool { return i%10 == 0 }))
	y := b.Op("mm1", "MatMul", []string{x, w60})
	y = b.Op("mm2", "MatMul", []string{y, w90})
	b.Output(y, onnx.TensorProto_FLOAT, 1, 20)
	for _, tc := range []struct {
		pipeline   string
		sparse     []string
		skipReason map[string]string
	}{
		{"sparse-storage", []string{"w90"}, map[string]string{"w60": "would not be smaller"}},
		{"sparse-storage(index-type=int32,min-sparsity=0.55)", []string{"w60", "w90"}, nil},
		{"sparse-storage(index-type=int8)", []string{"w60"}, map[string]string{"w90": "do not fit int8"}},
		{"sparse-storage(min-sparsity=0.95)", nil, nil},
	} {
		t.Run(tc.pipeline, func(t *testing.T) {
			m, err := graph.FromProto(b.Model(17), nil)
			if err != nil {
				t.Fatal(err)
			}
			rep := runPipeline(t, m, tc.pipeline)
			var got []string
			for _, v := range m.Graph.SparseInitializers {
				got = append(got, v.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.sparse, ",") {
				t.Errorf("sparse initializers %v, want %v", got, tc.sparse)
			}
			skipped := map[string]string{}
			for _, s := range rep.Passes[0].Skipped {
				skipped[s.Name] = s.Reason
			}
			for name, want := range tc.skipReason {
				if !strings.Contains(skipped[name], want) {
					t.Errorf("%s skip reason %q, want it to contain %q", name, skipped[name], want)
				}
			}
		})
	}
}

func TestSparseStorageBadOption(t *testing.T) {
	m, _ := tinyModel(t)
	p, err := passes.Parse("sparse-storage(min-sparsity=1.5)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = passes.Run(p, m, passes.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "sparse-storage") || !strings.Contains(err.Error(), "min-sparsity") {
		t.Fatalf("got %v, want an error naming the pass and the option", err)
	}
}

// TestSparseStorageFile writes the result and reads it back: the sparse
// initializer survives the codec, and the IR dump matches the golden file.
func TestSparseStorageFile(t *testing.T) {
	m, data := tinyModel(t)
	runPipeline(t, m, "sparse-storage")
	path := filepath.Join(t.TempDir(), "sparse.onnx")
	if err := m.WriteFile(path, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Graph.Check(); err != nil {
		t.Fatal(err)
	}
	w := find(back.Graph, "w")
	if w == nil || w.Sparse == nil {
		t.Fatalf("w is not sparse after a write and read")
	}
	if got := densify(t, w.Sparse); !slices.Equal(got, bits(data["w"])) {
		t.Errorf("densified w differs after a write and read")
	}
	passtest.Golden(t, "tiny.golden", back.Graph.DumpString(), *update)
}
