package nm_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/passes"
)

// gaussian returns n seeded N(0, 1) values on a grid of 1/16, so that
// magnitudes often tie.
func gaussian(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Round(r.NormFloat64()*16) / 16)
	}
	return v
}

// strides returns (outer, size, inner) of dims around axis.
func strides(dims []int64, axis int) (outer, size, inner int) {
	outer, inner = 1, 1
	for _, d := range dims[:axis] {
		outer *= int(d)
	}
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	return outer, int(dims[axis]), inner
}

// groups calls fn with the positions of every group of m consecutive
// elements along axis.
func groups(dims []int64, axis, m int, fn func(pos []int)) {
	outer, size, inner := strides(dims, axis)
	for o := 0; o < outer; o++ {
		for g := 0; g+m <= size; g += m {
			for i := 0; i < inner; i++ {
				pos := make([]int, m)
				for j := range pos {
					pos[j] = (o*size+g+j)*inner + i
				}
				fn(pos)
			}
		}
	}
}

// satisfies reports whether every group of m along axis has at most n
// nonzeros.
func satisfies(v []float32, dims []int64, axis, n, m int) bool {
	ok := true
	groups(dims, axis, m, func(pos []int) {
		nz := 0
		for _, p := range pos {
			if v[p] != 0 {
				nz++
			}
		}
		if nz > n {
			ok = false
		}
	})
	return ok
}

// reference keeps the n largest magnitudes of each group along axis, the
// lower index first among ties: the specification, by sorting.
func reference(v []float32, dims []int64, axis, n, m int) []float32 {
	out := append([]float32(nil), v...)
	groups(dims, axis, m, func(pos []int) {
		sort.SliceStable(pos, func(a, b int) bool { return math.Abs(float64(v[pos[a]])) > math.Abs(float64(v[pos[b]])) })
		for _, p := range pos[n:] {
			out[p] = 0
		}
	})
	return out
}

func model(t *testing.T, b *modelgen.Builder) *graph.Model { return passtest.Build(t, b) }

func run(t testing.TB, m *graph.Model, pipeline string) *passes.PassReport {
	t.Helper()
	return passtest.Run(t, m, pipeline, 0)
}

func runErr(m *graph.Model, pipeline string) (*passes.Report, error) {
	return passtest.RunErr(m, pipeline, 0)
}

func values(t testing.TB, m *graph.Model, name string) []float32 {
	t.Helper()
	return passtest.Values(t, m, name)
}

func equal(a, b []float32) (int, bool) {
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
			return i, false
		}
	}
	return 0, len(a) == len(b)
}

func skipped(rep *passes.PassReport, name string) string {
	for _, s := range rep.Skipped {
		if s.Name == name {
			return s.Reason
		}
	}
	return ""
}
