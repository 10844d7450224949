package prune_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// gaussian returns n seeded N(0, std) values, rounded to a grid of 1/64 of
// std so that many magnitudes tie.
func gaussian(n int, seed uint64, std float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Round(r.NormFloat64()*64) / 64 * std)
	}
	return v
}

// mag orders like the pass does: by |w|.
func mag(w float32) float64 { return math.Abs(float64(w)) }

// pruneReference zeroes the k smallest magnitudes of the concatenation of
// tensors, ties broken by position, unless it already has k zeros: the
// specification, computed with a sort.
func pruneReference(tensors [][]float32, k int) [][]float32 {
	var flat []float32
	for _, v := range tensors {
		flat = append(flat, v...)
	}
	zeros := 0
	for _, w := range flat {
		if w == 0 {
			zeros++
		}
	}
	idx := make([]int, len(flat))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return mag(flat[idx[a]]) < mag(flat[idx[b]]) })
	out := append([]float32(nil), flat...)
	if zeros < k {
		for _, i := range idx[:k] {
			out[i] = 0
		}
	}
	var res [][]float32
	for _, v := range tensors {
		res = append(res, out[:len(v)])
		out = out[len(v):]
	}
	return res
}

// chain builds x -> MatMul(w_0) -> MatMul(w_1) ..., one MatMul per tensor,
// each w_i an initializer of shape [d_i, d_{i+1}].
func chain(t *testing.T, dims []int64, data [][]float32) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("chain")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, dims[0])
	for i, v := range data {
		w := b.Init(weightName(i), []int64{dims[i], dims[i+1]}, v)
		x = b.Op("mm"+string(rune('0'+i)), "MatMul", []string{x, w})
	}
	b.Output(x, onnx.TensorProto_FLOAT, 1, dims[len(dims)-1])
	return model(t, b)
}

func weightName(i int) string { return "w" + string(rune('0'+i)) }

func model(t *testing.T, b *modelgen.Builder) *graph.Model { return passtest.Build(t, b) }

// run runs a pipeline over m and fails the test on error.
func run(t testing.TB, m *graph.Model, pipeline string, threads int) *passes.PassReport {
	t.Helper()
	return passtest.Run(t, m, pipeline, threads)
}

func runErr(m *graph.Model, pipeline string, threads int) (*passes.Report, error) {
	return passtest.RunErr(m, pipeline, threads)
}

func values(t testing.TB, m *graph.Model, name string) []float32 {
	t.Helper()
	return passtest.Values(t, m, name)
}

func countZeros(v []float32) int {
	z := 0
	for _, w := range v {
		if w == 0 {
			z++
		}
	}
	return z
}

func equalBits(a, b []float32) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] == 0 && b[i] == 0) {
			return i, false
		}
	}
	return 0, true
}
