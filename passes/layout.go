package passes

import (
	"fmt"
	"math"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
)

// Layout says how an op type uses its weight: which input holds it, which
// input it is applied to, and (through Axes) which weight axes are output
// channels and which are reduced. It is the one description of weight
// layouts that FindWeights, nm, quantize and the pruning passes share.
type Layout struct {
	Op     string
	Weight int // input index of the weight
	Data   int // input index of the activation the weight multiplies; -1 when none (Gather's indices select rows)
	axes   func(n *graph.Node, dims []int64) (Axes, error)
}

// Axes gives the role of every axis of one node's weight.
type Axes struct {
	// Out is the output-channel axis; -1 when there is none (a 1-D MatMul
	// weight). For Gather it is the gathered axis: rows are tokens.
	Out int
	// Feature is the reduced input-feature axis (the data input's channels,
	// K of a MatMul); -1 for Gather, which reduces nothing.
	Feature int
	// Cols are the axes flattened into matrix columns, outer to inner: the
	// reduced axes with Feature innermost (kernel taps first for Conv), or
	// Gather's embedding axes.
	Cols []int
	// Batch are the axes of independent matrices (a batched MatMul weight
	// [B, K, N]); they index rows outside Out.
	Batch []int
	// Groups is Conv's and ConvTranspose's group attribute (1 otherwise).
	Groups int
	// FeatureGrouped says Feature spans every group's features
	// (ConvTranspose's [C, M/group, ...]); its outer part, the group, then
	// indexes rows. Conv's Feature holds one group's C/group channels.
	FeatureGrouped bool
	// DataFeature is the axis of the data input that Feature indexes
	// (negative counts from the end: -1 for MatMul; Gemm's transA makes it
	// 0); NoAxis for Gather.
	DataFeature int
	// OutputChannel is the axis of the node's output that Out indexes
	// (negative counts from the end: -1 for MatMul, 1 for Gemm and the
	// convolutions); NoAxis when there is none (a 1-D MatMul weight,
	// Gather).
	OutputChannel int
}

// NoAxis marks an axis of the data input or output that does not exist.
const NoAxis = math.MinInt32

// layouts is the table of ops whose weights passes know, by op type
// (default domain).
var layouts = map[string]Layout{
	"MatMul":        {Op: "MatMul", Weight: 1, Data: 0, axes: matmulAxes},
	"MatMulInteger": {Op: "MatMulInteger", Weight: 1, Data: 0, axes: matmulAxes},
	"Gemm":          {Op: "Gemm", Weight: 1, Data: 0, axes: gemmAxes},
	"Conv":          {Op: "Conv", Weight: 1, Data: 0, axes: convAxes(false)},
	"ConvTranspose": {Op: "ConvTranspose", Weight: 1, Data: 0, axes: convAxes(true)},
	"Gather":        {Op: "Gather", Weight: 0, Data: -1, axes: gatherAxes},
}

// LayoutOf returns the weight layout of n's op type; false when n is not
// an op with a weight (or not in the default domain).
func LayoutOf(n *graph.Node) (Layout, bool) {
	if n == nil || n.Domain() != "" {
		return Layout{}, false
	}
	l, ok := layouts[n.OpType()]
	return l, ok
}

// LayoutOps returns the op types that have a weight layout, sorted.
func LayoutOps() []string {
	ops := make([]string, 0, len(layouts))
	for op := range layouts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Axes returns the roles of the axes of n's weight of shape dims, or why
// the weight does not fit the op.
func (l Layout) Axes(n *graph.Node, dims []int64) (Axes, error) {
	for _, d := range dims {
		if d < 0 {
			return Axes{}, fmt.Errorf("weight of %s has shape %v with a negative dimension", n, dims)
		}
	}
	return l.axes(n, dims)
}

// Matrix returns n's weight of shape dims seen as a Rows x Cols matrix:
// rows are output channels, columns the reduced features.
func (l Layout) Matrix(n *graph.Node, dims []int64) (Matrix, error) {
	a, err := l.Axes(n, dims)
	if err != nil {
		return Matrix{}, err
	}
	return a.Matrix(dims), nil
}

func matmulAxes(n *graph.Node, dims []int64) (Axes, error) {
	r := len(dims)
	switch r {
	case 0:
		return Axes{}, fmt.Errorf("weight of %s is a scalar", n)
	case 1:
		return Axes{Out: -1, Feature: 0, Cols: []int{0}, Groups: 1, DataFeature: -1, OutputChannel: NoAxis}, nil
	}
	a := Axes{Out: r - 1, Feature: r - 2, Cols: []int{r - 2}, Groups: 1, DataFeature: -1, OutputChannel: -1}
	for i := 0; i < r-2; i++ {
		a.Batch = append(a.Batch, i)
	}
	return a, nil
}

func gemmAxes(n *graph.Node, dims []int64) (Axes, error) {
	if len(dims) != 2 {
		return Axes{}, fmt.Errorf("weight of %s has rank %d, want 2", n, len(dims))
	}
	a := Axes{Out: 1, Feature: 0, Cols: []int{0}, Groups: 1, DataFeature: 1, OutputChannel: 1}
	if n.AttrInt("transB", 0) != 0 {
		a.Out, a.Feature, a.Cols = 0, 1, []int{1}
	}
	if n.AttrInt("transA", 0) != 0 {
		a.DataFeature = 0
	}
	return a, nil
}

// convAxes describes Conv's weight [M, C/group, k...] and, transposed,
// ConvTranspose's [C, M/group, k...].
func convAxes(transposed bool) func(n *graph.Node, dims []int64) (Axes, error) {
	return func(n *graph.Node, dims []int64) (Axes, error) {
		r := len(dims)
		if r < 3 {
			return Axes{}, fmt.Errorf("weight of %s has rank %d, want 3 or more", n, r)
		}
		g := n.AttrInt("group", 1)
		a := Axes{Out: 0, Feature: 1, Groups: int(g), DataFeature: 1, OutputChannel: 1}
		if transposed {
			a.Out, a.Feature, a.FeatureGrouped = 1, 0, true
		}
		if g < 1 || dims[0]%g != 0 { // M for Conv, C for ConvTranspose
			what := "output channels"
			if transposed {
				what = "input channels"
			}
			return Axes{}, fmt.Errorf("%s: group=%d does not divide the %d %s", n, g, dims[0], what)
		}
		for i := 2; i < r; i++ {
			a.Cols = append(a.Cols, i)
		}
		a.Cols = append(a.Cols, a.Feature)
		return a, nil
	}
}

func gatherAxes(n *graph.Node, dims []int64) (Axes, error) {
	r := len(dims)
	if r == 0 {
		return Axes{}, fmt.Errorf("table of %s is a scalar", n)
	}
	axis := n.AttrInt("axis", 0)
	if axis < -int64(r) || axis >= int64(r) {
		return Axes{}, fmt.Errorf("%s: axis %d is out of range for a rank-%d table", n, axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	a := Axes{Out: int(axis), Feature: -1, Groups: 1, DataFeature: NoAxis, OutputChannel: NoAxis}
	for i := 0; i < r; i++ {
		if i != a.Out {
			a.Cols = append(a.Cols, i)
		}
	}
	return a, nil
}
