package prune_test

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes/prune"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestPerTensorExactCounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int64
		cols     int64
		sparsity float64
		preZero  int // every preZero-th element is zero beforehand (0: none)
	}{
		{"40x0.3", 8, 5, 0.3, 0},
		{"37x0.3 rounds down", 37, 1, 0.3, 0},
		{"25x0.5 rounds half up", 5, 5, 0.5, 0},
		{"zero sparsity", 8, 4, 0, 0},
		{"0.99 zeroes all 40", 8, 5, 0.99, 0},
		{"already sparser", 8, 8, 0.5, 1}, // all zero: left alone
		{"some zeros", 8, 8, 0.5, 5},
		{"more zeros than asked", 10, 10, 0.1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := int(tc.rows * tc.cols)
			orig := gaussian(n, uint64(n), 0.1)
			for i := range orig {
				if tc.preZero > 0 && i%tc.preZero == 0 {
					orig[i] = 0
				}
			}
			k := int(math.Round(tc.sparsity * float64(n)))
			want := pruneReference([][]float32{orig}, k)[0]
			for _, threads := range []int{1, 3} {
				m := chain(t, []int64{tc.rows, tc.cols}, [][]float32{orig})
				rep := run(t, m, fmt.Sprintf("prune(sparsity=%v,min-elements=0)", tc.sparsity), threads)
				got := values(t, m, "w0")
				if i, ok := equalBits(got, want); !ok {
					t.Fatalf("threads=%d: element %d is %v, want %v (orig %v)", threads, i, got[i], want[i], orig[i])
				}
				z0 := countZeros(orig)
				if z := countZeros(got); z != max(k, z0) {
					t.Errorf("threads=%d: %d zeros, want %d (k=%d, %d before)", threads, z, max(k, z0), k, z0)
				}
				if rep.WeightsZeroed != int64(countZeros(got)-z0) {
					t.Errorf("WeightsZeroed = %d, want %d", rep.WeightsZeroed, countZeros(got)-z0)
				}
				if len(rep.Tensors) != 1 || math.Abs(rep.Tensors[0].SparsityAfter-float64(countZeros(got))/float64(n)) > 1e-12 ||
					math.Abs(rep.Tensors[0].SparsityBefore-float64(z0)/float64(n)) > 1e-12 {
					t.Errorf("tensor report %+v, want sparsity %v -> %v", rep.Tensors, float64(z0)/float64(n), float64(countZeros(got))/float64(n))
				}
			}
		})
	}
}

func TestGlobalExact(t *testing.T) {
	defer prune.SetChunkElems(7)() // many chunks, ties across chunk edges
	dims := []int64{12, 10, 9, 6}
	var data [][]float32
	for i, std := range []float64{1, 0.1, 0.01} {
		data = append(data, gaussian(int(dims[i]*dims[i+1]), uint64(i+1), std))
	}
	data[1][3], data[1][4] = 0, 0
	n, z0 := 0, 0
	for _, v := range data {
		n += len(v)
		z0 += countZeros(v)
	}
	for _, s := range []float64{0.05, 0.4, 0.5, 0.9} {
		k := int(math.Round(s * float64(n)))
		want := pruneReference(data, k)
		for _, threads := range []int{1, 2, 4} {
			m := chain(t, dims, data)
			rep := run(t, m, fmt.Sprintf("prune(sparsity=%v,scope=global)", s), threads)
			zeros := 0
			for i := range data {
				got := values(t, m, weightName(i))
				if j, ok := equalBits(got, want[i]); !ok {
					t.Fatalf("s=%v threads=%d: %s[%d] = %v, want %v", s, threads, weightName(i), j, got[j], want[i][j])
				}
				zeros += countZeros(got)
			}
			if zeros != k {
				t.Errorf("s=%v: %d zeros overall, want %d", s, zeros, k)
			}
			if rep.WeightsZeroed != int64(k-z0) {
				t.Errorf("s=%v: WeightsZeroed = %d, want %d", s, rep.WeightsZeroed, k-z0)
			}
		}
	}
	// Per-layer scales differ, so global pruning is uneven: the small
	// layer loses most.
	m := chain(t, dims, data)
	rep := run(t, m, "prune(sparsity=0.5,scope=global)", 0)
	if !(rep.Tensors[2].SparsityAfter > 0.9 && rep.Tensors[0].SparsityAfter < 0.1) {
		t.Errorf("global pruning did not rank across tensors: %+v", rep.Tensors)
	}
}

func TestThresholdExact(t *testing.T) {
	const T = 0.02
	orig := []float32{
		T, -T, 0.0199999, -0.0199999, 0, float32(math.Copysign(0, -1)), 0.03, float32(math.NaN()),
		float32(math.Inf(-1)), 1e-45, -0.019, 0.021, math.Nextafter32(T, 0), -math.Nextafter32(T, 1), 5, -1e-3,
	}
	m := chain(t, []int64{4, 4}, [][]float32{orig})
	rep := run(t, m, "prune(threshold=0.02)", 0)
	got := values(t, m, "w0")
	newZeros := 0
	for i, w := range orig {
		small := float32(math.Abs(float64(w))) < float32(T)
		switch {
		case small && got[i] != 0:
			t.Errorf("w[%d] = %v: |w| < %v but kept", i, w, T)
		case !small && math.Float32bits(got[i]) != math.Float32bits(w):
			t.Errorf("w[%d] = %v: |w| >= %v (or NaN) but changed to %v", i, w, T, got[i])
		}
		if small && w != 0 {
			newZeros++
		}
	}
	if got[0] != T || got[1] != -T {
		t.Errorf("weights equal to ±threshold must stay: got %v, %v", got[0], got[1])
	}
	if rep.WeightsZeroed != int64(newZeros) || newZeros != 6 {
		t.Errorf("WeightsZeroed = %d, want %d (expected 6)", rep.WeightsZeroed, newZeros)
	}
}

func TestTiesByIndex(t *testing.T) {
	orig := make([]float32, 16)
	for i := range orig {
		orig[i] = float32(1 - 2*(i%2)) // +1, -1, ...
	}
	orig[15] = 0.5 // the one smaller magnitude goes first
	m := chain(t, []int64{4, 4}, [][]float32{orig})
	run(t, m, "prune(sparsity=0.5)", 0)
	got := values(t, m, "w0")
	for i, w := range got {
		wantZero := i < 7 || i == 15
		if (w == 0) != wantZero {
			t.Fatalf("w = %v: ties must be zeroed lowest index first (w[%d] = %v)", got, i, w)
		}
	}
}

func TestSharedWeightOnce(t *testing.T) {
	b := modelgen.NewBuilder("shared")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
	w := b.Init("w", []int64{8, 8}, gaussian(64, 3, 1))
	y := b.Op("a", "MatMul", []string{x, w})
	y = b.Op("b", "MatMul", []string{y, w})
	b.Output(y, onnx.TensorProto_FLOAT, 1, 8)
	m := model(t, b)
	rep := run(t, m, "prune(sparsity=0.25)", 0)
	if rep.WeightsZeroed != 16 || rep.TensorsTouched != 1 || len(rep.Tensors) != 1 {
		t.Errorf("shared weight: zeroed %d in %d tensors (%d reported), want 16 in 1", rep.WeightsZeroed, rep.TensorsTouched, len(rep.Tensors))
	}
	if z := countZeros(values(t, m, "w")); z != 16 {
		t.Errorf("%d zeros, want 16", z)
	}
}

// branch returns an If branch computing MatMul(x, w) with w a Constant
// node (constNode) or a subgraph initializer.
func branch(name, x string, data []float32, constNode bool) *onnx.GraphProto {
	b := modelgen.NewBuilder(name)
	w := name + ".w"
	if constNode {
		b.Node("Constant", nil, []string{w}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{8, 4}, data)))
	} else {
		b.Init(w, []int64{8, 4}, data)
	}
	y := b.Op(name+"/mm", "MatMul", []string{x, w})
	b.Output(y, onnx.TensorProto_FLOAT, 1, 4)
	return b.Graph()
}

func TestConstantNodesAndSubgraphs(t *testing.T) {
	b := modelgen.NewBuilder("if")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
	c := b.Input("cond", onnx.TensorProto_BOOL)
	b.Node("Constant", nil, []string{"wc"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{8, 8}, gaussian(64, 1, 1))))
	h := b.Op("top", "MatMul", []string{x, "wc"})
	y := b.Op("if", "If", []string{c},
		modelgen.AttrGraph("then_branch", branch("then", h, gaussian(32, 2, 1), true)),
		modelgen.AttrGraph("else_branch", branch("else", h, gaussian(32, 3, 1), false)))
	b.Output(y, onnx.TensorProto_FLOAT, 1, 4)
	m := model(t, b)
	rep := run(t, m, "prune(sparsity=0.5)", 0)
	for name, n := range map[string]int{"wc": 64, "then.w": 32, "else.w": 32} {
		if z := countZeros(values(t, m, name)); z != n/2 {
			t.Errorf("%s: %d zeros of %d, want %d", name, z, n, n/2)
		}
	}
	if rep.TensorsTouched != 3 {
		t.Errorf("TensorsTouched = %d, want 3", rep.TensorsTouched)
	}
}

func TestRuntimeWeightsSkipped(t *testing.T) {
	b := modelgen.NewBuilder("dynamic")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
	w := b.Input("wdyn", onnx.TensorProto_FLOAT, 8, 8)
	y := b.Op("mm", "MatMul", []string{x, w})
	y = b.Op("mm2", "MatMul", []string{y, b.Init("w", []int64{8, 8}, gaussian(64, 1, 1))})
	b.Output(y, onnx.TensorProto_FLOAT, 1, 8)
	m := model(t, b)
	rep := run(t, m, "prune(sparsity=0.5)", 0)
	found := false
	for _, s := range rep.Skipped {
		if s.Name == "wdyn" && strings.Contains(s.Reason, "run time") {
			found = true
		}
	}
	if !found || rep.TensorsTouched != 1 {
		t.Errorf("want wdyn skipped as computed at run time and w pruned; skipped %+v, touched %d", rep.Skipped, rep.TensorsTouched)
	}
}

func TestSelection(t *testing.T) {
	mk := func() *graph.Model {
		b := modelgen.NewBuilder("sel")
		x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
		ids := b.Input("ids", onnx.TensorProto_INT64, 1)
		e := b.Op("embed", "Gather", []string{b.Init("emb", []int64{10, 8}, gaussian(80, 5, 1)), ids})
		h := b.Op("add", "Add", []string{x, e})
		h = b.Op("fc1", "MatMul", []string{h, b.Init("fc1.w", []int64{8, 8}, gaussian(64, 1, 1))})
		h = b.Op("fc2", "MatMul", []string{h, b.Init("fc2.w", []int64{8, 2}, gaussian(16, 2, 1))})
		h = b.Op("head", "Gemm", []string{h, b.Init("head.w", []int64{2, 3}, gaussian(6, 3, 1))})
		b.Output(h, onnx.TensorProto_FLOAT, 1, 3)
		return model(t, b)
	}
	for _, tc := range []struct {
		opts    string
		touched []string
	}{
		{"", []string{"fc1.w", "fc2.w"}}, // head.w has 6 < 16 elements
		{",min-elements=0", []string{"fc1.w", "fc2.w", "head.w"}},
		{",ops=Gather", []string{"emb"}},
		{",ops=MatMul|Gather", []string{"emb", "fc1.w", "fc2.w"}},
		{",include=fc1*", []string{"fc1.w"}},
		{",include=fc2", []string{"fc2.w"}}, // node name
		{",exclude=fc1.w|head", []string{"fc2.w"}},
	} {
		m, orig := mk(), mk()
		rep := run(t, m, "prune(sparsity=0.5"+tc.opts+")", 0)
		var got []string
		for _, name := range []string{"emb", "fc1.w", "fc2.w", "head.w"} {
			if _, same := equalBits(values(t, m, name), values(t, orig, name)); !same {
				got = append(got, name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.touched, ",") || rep.TensorsTouched != len(tc.touched) {
			t.Errorf("prune(sparsity=0.5%s) touched %v (reported %d), want %v", tc.opts, got, rep.TensorsTouched, tc.touched)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct{ pipeline, want string }{
		{"prune(sparsity=0.5,bogus=1)", `prune has no option "bogus"`},
		{"prune(sparsity=0.5,threshold=0.1)", "prune: give exactly one of sparsity= or threshold="},
		{"prune", "prune: give exactly one of sparsity= or threshold="},
		{"prune(sparsity=1)", "prune: sparsity=1 is out of range"},
		{"prune(sparsity=-0.1)", "prune: sparsity=-0.1 is out of range"},
		{"prune(sparsity=NaN)", "prune: sparsity=NaN is out of range"},
		{"prune(sparsity=half)", "prune: option sparsity wants a number"},
		{"prune(threshold=-1)", "prune: threshold=-1 is not a finite number >= 0"},
		{"prune(threshold=0.1,scope=global)", "prune: scope=global applies to sparsity="},
		{"prune(sparsity=0.5,scope=layer)", "prune: option scope wants one of tensor|global"},
		{"prune(sparsity=0.5,ops=Relu)", `prune: ops: prune does not handle "Relu"`},
		{"prune(sparsity=0.5,min-elements=-1)", "prune: min-elements=-1 is negative"},
	} {
		m := chain(t, []int64{4, 4}, [][]float32{gaussian(16, 1, 1)})
		_, err := runErr(m, tc.pipeline, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.pipeline, err, tc.want)
		}
	}
}

func TestMLPAcceptance(t *testing.T) {
	opts := modelgen.MLPOptions{Dim: 64, Hidden: 192, Blocks: 2, Seed: 4}
	weights := []string{"block0.fc1.weight", "block0.fc2.weight", "block1.fc1.weight", "block1.fc2.weight", "head.weight"}
	load := func() *graph.Model {
		m, err := graph.FromProto(modelgen.MLP(opts), nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("tensor", func(t *testing.T) {
		m := load()
		rep := run(t, m, "prune(sparsity=0.5)", 0)
		if rep.TensorsTouched != len(weights) {
			t.Errorf("touched %d tensors, want %d", rep.TensorsTouched, len(weights))
		}
		for _, name := range weights {
			v := values(t, m, name)
			if s := float64(countZeros(v)) / float64(len(v)); math.Abs(s-0.5) > 0.005 {
				t.Errorf("%s: sparsity %.4f, want 0.5 ± 0.005", name, s)
			}
		}
	})
	t.Run("global", func(t *testing.T) {
		m := load()
		run(t, m, "prune(sparsity=0.5,scope=global)", 0)
		zeros, n := 0, 0
		for _, name := range weights {
			v := values(t, m, name)
			zeros += countZeros(v)
			n += len(v)
		}
		if s := float64(zeros) / float64(n); math.Abs(s-0.5) > 0.005 {
			t.Errorf("overall sparsity %.4f, want 0.5", s)
		}
	})
	t.Run("threshold", func(t *testing.T) {
		m, orig := load(), load()
		run(t, m, "prune(threshold=0.02)", 0)
		for _, name := range append(weights, "block0.fc1.bias") {
			before, after := values(t, orig, name), values(t, m, name)
			isWeight := name != "block0.fc1.bias"
			for i := range before {
				wantZero := isWeight && math.Abs(float64(before[i])) < float64(float32(0.02))
				if wantZero && after[i] != 0 || !wantZero && after[i] != before[i] {
					t.Fatalf("%s[%d]: %v became %v", name, i, before[i], after[i])
				}
			}
		}
	})
}

// TestGolden checks the dump and the weights of a tiny model before and
// after prune against testdata/tiny.golden (go test -update rewrites it).
func TestGolden(t *testing.T) {
	b := modelgen.NewBuilder("tiny")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	h := b.Op("fc", "MatMul", []string{x, b.Init("fc.w", []int64{4, 4}, gaussian(16, 11, 1))})
	b.Node("Constant", nil, []string{"proj.w"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{4, 4}, gaussian(16, 12, 1))))
	h = b.Op("proj", "Gemm", []string{h, "proj.w", b.Init("proj.b", []int64{4}, gaussian(4, 13, 1))}, modelgen.AttrInt("transB", 1))
	b.Output(h, onnx.TensorProto_FLOAT, 1, 4)
	m := model(t, b)
	var out strings.Builder
	dump := func(title string) {
		fmt.Fprintf(&out, "== %s\n%s", title, m.Graph.DumpString())
		for _, name := range []string{"fc.w", "proj.w", "proj.b"} {
			fmt.Fprintf(&out, "%s = %v\n", name, values(t, m, name))
		}
	}
	dump("before")
	run(t, m, "prune(sparsity=0.5)", 0)
	dump("after prune(sparsity=0.5)")
	passtest.Golden(t, "tiny.golden", out.String(), *update)
}
