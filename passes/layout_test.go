package passes_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// node returns a bare node of op with attributes, enough for LayoutOf.
func node(op string, attrs ...*onnx.AttributeProto) *graph.Node {
	name := "n"
	return &graph.Node{Proto: &onnx.NodeProto{OpType: &op, Name: &name, Attribute: attrs}}
}

// layoutCase is one weight: its op, shape and the matrix expected of it.
type layoutCase struct {
	name       string
	n          *graph.Node
	dims       []int64
	rows, cols int
	features   int
	// elements are hand-computed (row, col) -> flat index and the
	// feature (data-input channel) column col of row row multiplies.
	elements [][4]int
	// out, feature, dataFeature, outputChannel are the expected axis roles.
	out, feature, dataFeature, outputChannel int
}

var layoutCases = []layoutCase{
	{name: "MatMul [K=3,N=4]", n: node("MatMul"), dims: []int64{3, 4}, rows: 4, cols: 3, features: 3,
		// w[k][n] = flat k*4+n; row n, col k.
		elements: [][4]int{{1, 2, 9, 2}, {3, 0, 3, 0}, {0, 1, 4, 1}},
		out:      1, feature: 0, dataFeature: -1, outputChannel: -1},
	{name: "MatMulInteger [K=3,N=4]", n: node("MatMulInteger"), dims: []int64{3, 4}, rows: 4, cols: 3, features: 3,
		elements: [][4]int{{1, 2, 9, 2}},
		out:      1, feature: 0, dataFeature: -1, outputChannel: -1},
	{name: "MatMul 1-D [K=5]", n: node("MatMul"), dims: []int64{5}, rows: 1, cols: 5, features: 5,
		elements: [][4]int{{0, 3, 3, 3}},
		out:      -1, feature: 0, dataFeature: -1, outputChannel: passes.NoAxis},
	{name: "MatMul batched [B=2,K=3,N=4]", n: node("MatMul"), dims: []int64{2, 3, 4}, rows: 8, cols: 3, features: 3,
		// row b*4+n, col k -> b*12 + k*4 + n.
		elements: [][4]int{{5, 1, 17, 1}, {7, 2, 23, 2}, {0, 0, 0, 0}},
		out:      2, feature: 1, dataFeature: -1, outputChannel: -1},
	{name: "Gemm transB=0 [K=3,N=4]", n: node("Gemm"), dims: []int64{3, 4}, rows: 4, cols: 3, features: 3,
		elements: [][4]int{{1, 2, 9, 2}},
		out:      1, feature: 0, dataFeature: 1, outputChannel: 1},
	{name: "Gemm transB=1 [N=4,K=3]", n: node("Gemm", modelgen.AttrInt("transB", 1)), dims: []int64{4, 3}, rows: 4, cols: 3, features: 3,
		// row n, col k -> n*3 + k.
		elements: [][4]int{{1, 2, 5, 2}, {3, 0, 9, 0}},
		out:      0, feature: 1, dataFeature: 1, outputChannel: 1},
	{name: "Gemm transA=1", n: node("Gemm", modelgen.AttrInt("transA", 1)), dims: []int64{3, 4}, rows: 4, cols: 3, features: 3,
		elements: [][4]int{{1, 2, 9, 2}},
		out:      1, feature: 0, dataFeature: 0, outputChannel: 1},
	{name: "Conv [M=4,C=3,kh=2,kw=2]", n: node("Conv"), dims: []int64{4, 3, 2, 2}, rows: 4, cols: 12, features: 3,
		// col tap*3 + c, tap = kh*2 + kw -> m*12 + c*4 + tap.
		elements: [][4]int{{1, 0, 12, 0}, {2, 7, 2*12 + 1*4 + 2, 1}, {3, 11, 47, 2}},
		out:      0, feature: 1, dataFeature: 1, outputChannel: 1},
	{name: "Conv group=2 [M=4,C/g=2,kh=2,kw=3]", n: node("Conv", modelgen.AttrInt("group", 2)), dims: []int64{4, 2, 2, 3}, rows: 4, cols: 12, features: 2,
		// row 3 is in group 1; col 7 = tap 3 (kh 1, kw 0), c 1 -> 3*12 + 1*6 + 1*3 + 0;
		// it reads input channel 1*2 + 1.
		elements: [][4]int{{3, 7, 45, 3}, {1, 0, 12, 0}, {2, 1, 24 + 6, 3}},
		out:      0, feature: 1, dataFeature: 1, outputChannel: 1},
	{name: "ConvTranspose [C=2,M=3,1,1]", n: node("ConvTranspose"), dims: []int64{2, 3, 1, 1}, rows: 3, cols: 2, features: 2,
		// row m, col c -> c*3 + m.
		elements: [][4]int{{2, 1, 5, 1}, {0, 1, 3, 1}},
		out:      1, feature: 0, dataFeature: 1, outputChannel: 1},
	{name: "ConvTranspose group=2 [C=4,M/g=3,kh=2,kw=2]", n: node("ConvTranspose", modelgen.AttrInt("group", 2)), dims: []int64{4, 3, 2, 2}, rows: 6, cols: 8, features: 2,
		// row g*3 + m, col tap*2 + cc -> (g*2 + cc)*12 + m*4 + tap.
		// Row 4 = group 1, m 1; col 5 = tap 2, cc 1 -> 3*12 + 4 + 2, input channel 3.
		elements: [][4]int{{4, 5, 42, 3}, {2, 0, 8, 0}, {3, 1, 36, 3}},
		out:      1, feature: 0, dataFeature: 1, outputChannel: 1},
	{name: "Gather [V=5,D=3]", n: node("Gather"), dims: []int64{5, 3}, rows: 5, cols: 3, features: 0,
		elements: [][4]int{{4, 2, 14, -1}, {1, 0, 3, -1}},
		out:      0, feature: -1, dataFeature: passes.NoAxis, outputChannel: passes.NoAxis},
	{name: "Gather axis=1 [2,V=5,3]", n: node("Gather", modelgen.AttrInt("axis", 1)), dims: []int64{2, 5, 3}, rows: 5, cols: 6, features: 0,
		// col a0*3 + a2 -> a0*15 + v*3 + a2.
		elements: [][4]int{{4, 4, 28, -1}},
		out:      1, feature: -1, dataFeature: passes.NoAxis, outputChannel: passes.NoAxis},
	{name: "Gather axis=-1 [4,V=5]", n: node("Gather", modelgen.AttrInt("axis", -1)), dims: []int64{4, 5}, rows: 5, cols: 4, features: 0,
		elements: [][4]int{{2, 3, 17, -1}},
		out:      1, feature: -1, dataFeature: passes.NoAxis, outputChannel: passes.NoAxis},
}

// TestLayoutMatrix checks each op's matrix view against hand-computed
// flat indices, and that Pos inverts Index over the whole tensor.
func TestLayoutMatrix(t *testing.T) {
	for _, tc := range layoutCases {
		t.Run(tc.name, func(t *testing.T) {
			l, ok := passes.LayoutOf(tc.n)
			if !ok {
				t.Fatalf("no layout for %s", tc.n.OpType())
			}
			a, err := l.Axes(tc.n, tc.dims)
			if err != nil {
				t.Fatal(err)
			}
			if a.Out != tc.out || a.Feature != tc.feature || a.DataFeature != tc.dataFeature || a.OutputChannel != tc.outputChannel {
				t.Errorf("axes out %d feature %d data feature %d output channel %d, want %d %d %d %d",
					a.Out, a.Feature, a.DataFeature, a.OutputChannel, tc.out, tc.feature, tc.dataFeature, tc.outputChannel)
			}
			m, err := l.Matrix(tc.n, tc.dims)
			if err != nil {
				t.Fatal(err)
			}
			if m.Rows != tc.rows || m.Cols != tc.cols || m.Features != tc.features {
				t.Fatalf("matrix %dx%d with %d features, want %dx%d with %d", m.Rows, m.Cols, m.Features, tc.rows, tc.cols, tc.features)
			}
			for _, e := range tc.elements {
				if got := m.Index(e[0], e[1]); got != e[2] {
					t.Errorf("Index(%d, %d) = %d, want %d", e[0], e[1], got, e[2])
				}
				if got := m.Feature(e[0], e[1]); got != e[3] {
					t.Errorf("Feature(%d, %d) = %d, want %d", e[0], e[1], got, e[3])
				}
			}
			seen := make([]bool, m.Rows*m.Cols)
			for r := 0; r < m.Rows; r++ {
				for c := 0; c < m.Cols; c++ {
					i := m.Index(r, c)
					if i < 0 || i >= len(seen) || seen[i] {
						t.Fatalf("Index(%d, %d) = %d: out of range or repeated", r, c, i)
					}
					seen[i] = true
					if r2, c2 := m.Pos(i); r2 != r || c2 != c {
						t.Fatalf("Pos(%d) = (%d, %d), want (%d, %d)", i, r2, c2, r, c)
					}
					if c+1 < m.Cols && m.Features > 0 && (c+1)%m.Features != 0 {
						if d := m.Index(r, c+1) - i; d != m.FeatureStride {
							t.Fatalf("features %d and %d of row %d are %d apart, FeatureStride %d", c, c+1, r, d, m.FeatureStride)
						}
					}
				}
			}
			w := make([]float32, len(seen))
			for i := range w {
				w[i] = float32(i)
			}
			rows, err := m.ToRows(w)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.elements {
				if got := rows[e[0]*m.Cols+e[1]]; got != float32(e[2]) {
					t.Errorf("ToRows[%d][%d] = %v, want %d", e[0], e[1], got, e[2])
				}
			}
			back := make([]float32, len(w))
			if err := m.FromRows(back, rows); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back, w) {
				t.Errorf("FromRows(ToRows(w)) = %v, want %v", back, w)
			}
		})
	}
}

// TestLayoutGroupsMatchAxis checks that groups of consecutive columns of
// the matrix (2, or a whole run of odd length) are exactly nm's groups:
// as many consecutive elements along the feature axis, never straddling a
// conv group.
func TestLayoutGroupsMatchAxis(t *testing.T) {
	for _, tc := range layoutCases {
		if tc.feature < 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			l, _ := passes.LayoutOf(tc.n)
			a, _ := l.Axes(tc.n, tc.dims)
			m := a.Matrix(tc.dims)
			size := 2
			if m.Features%size != 0 {
				size = m.Features
			}
			var got []string
			for r := 0; r < m.Rows; r++ {
				for c := 0; c < m.Cols; c += size {
					var g []int
					for j := 0; j < size; j++ {
						g = append(g, m.Index(r, c+j))
					}
					got = append(got, fmt.Sprint(g))
				}
			}
			// Along the axis: outer x (axis in steps of size) x inner.
			outer, inner, n := 1, 1, int(tc.dims[a.Feature])
			for _, d := range tc.dims[:a.Feature] {
				outer *= int(d)
			}
			for _, d := range tc.dims[a.Feature+1:] {
				inner *= int(d)
			}
			var want []string
			for o := 0; o < outer; o++ {
				for s := 0; s < n; s += size {
					for i := 0; i < inner; i++ {
						var g []int
						for j := 0; j < size; j++ {
							g = append(g, (o*n+s+j)*inner+i)
						}
						want = append(want, fmt.Sprint(g))
					}
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("matrix groups %v\nwant axis groups %v", got, want)
			}
		})
	}
}

// TestLayoutErrors checks that weights that do not fit their op are
// refused with an error naming the node.
func TestLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		n    *graph.Node
		dims []int64
		want string
	}{
		{node("MatMul"), nil, "scalar"},
		{node("Gemm"), []int64{2, 3, 4}, "rank 3, want 2"},
		{node("Conv"), []int64{4, 3}, "rank 2, want 3 or more"},
		{node("Conv", modelgen.AttrInt("group", 3)), []int64{4, 1, 3, 3}, "group=3 does not divide the 4 output channels"},
		{node("ConvTranspose", modelgen.AttrInt("group", 3)), []int64{4, 1, 3, 3}, "group=3 does not divide the 4 input channels"},
		{node("Conv", modelgen.AttrInt("group", 0)), []int64{4, 1, 3, 3}, "group=0"},
		{node("Gather", modelgen.AttrInt("axis", 2)), []int64{4, 5}, "axis 2 is out of range"},
		{node("Gather"), nil, "scalar"},
		{node("MatMul"), []int64{3, -1}, "negative dimension"},
	} {
		l, ok := passes.LayoutOf(tc.n)
		if !ok {
			t.Fatalf("no layout for %s", tc.n.OpType())
		}
		_, err := l.Matrix(tc.n, tc.dims)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "n (") {
			t.Errorf("%s %v: error %v, want one naming the node and saying %q", tc.n.OpType(), tc.dims, err, tc.want)
		}
	}
	if _, ok := passes.LayoutOf(node("Relu")); ok {
		t.Error("Relu has a weight layout")
	}
	ms := node("MatMul")
	d := "com.microsoft"
	ms.Proto.Domain = &d
	if _, ok := passes.LayoutOf(ms); ok {
		t.Error("a com.microsoft MatMul has a weight layout")
	}
}
