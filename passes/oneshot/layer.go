package oneshot

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// Layer is one weight to sparsify and the pattern it must reach.
type Layer struct {
	Weight *passes.Weight
	// Matrix is the weight's [output channels, features] view; its
	// columns are the order N:M groups follow (passes.Axes.Matrix).
	Matrix passes.Matrix
	// Pattern is the sparsity of every row (of every conv group's rows).
	Pattern obs.Pattern
}

// use is one node that multiplies the layer's weight with an activation.
type use struct {
	node *graph.Node
	data string      // the activation's value name
	conv *calib.Conv // nil for MatMul and Gemm
}

// layer is a Layer with what Run needs to capture and fit it.
type layer struct {
	Layer
	uses  []use
	level int
	// perm maps a layout Matrix column to its im2col column (Conv with
	// more than one tap and one channel); nil when they agree.
	perm []int
	// Per conv group (one for MatMul and Gemm): the statistics.
	hess  []*obs.Hessian
	norms []*calib.L2
	// folds: with damps=, each group's Hessians of the even and the odd
	// calibration samples, for the damp's cross-validation.
	folds []obs.Folds
	// cross: with target=original, each group's cross products of its
	// inputs in the model being compressed and in the original.
	cross []*obs.Cross
}

// groups is the number of independent [rows/groups, Cols] matrices.
func (l *layer) groups() int { return max(l.Matrix.Groups, 1) }

// prepare checks that the layer's uses are ones Run can calibrate and
// returns it, or why not.
func prepare(m *graph.Model, L Layer) (*layer, error) {
	l := &layer{Layer: L}
	dims := L.Weight.Tensor.Dims()
	for _, n := range L.Weight.Uses {
		lay, ok := passes.LayoutOf(n)
		if !ok {
			return nil, fmt.Errorf("%s has no weight layout", n)
		}
		if lay.Data < 0 {
			continue // Gather: reads rows, multiplies nothing
		}
		if n.Graph() != m.Graph {
			return nil, fmt.Errorf("%s is inside a subgraph, which calibration does not reach", n)
		}
		a, err := lay.Axes(n, dims)
		if err != nil {
			return nil, err
		}
		if mat := a.Matrix(dims); mat.Rows != L.Matrix.Rows || mat.Cols != L.Matrix.Cols || mat.Features != L.Matrix.Features {
			return nil, fmt.Errorf("%s reads it as a %dx%d matrix, another use as %dx%d", n, mat.Rows, mat.Cols, L.Matrix.Rows, L.Matrix.Cols)
		}
		x := n.Input(lay.Data)
		if x == nil || x.IsConstant() {
			return nil, fmt.Errorf("the data input of %s is not an activation", n)
		}
		u := use{node: n, data: x.Name}
		switch n.OpType() {
		case "MatMul":
			if len(dims) != 2 {
				return nil, fmt.Errorf("%s: only 2-D MatMul weights are calibrated (this one is %v)", n, dims)
			}
		case "Gemm":
			if n.AttrInt("transA", 0) != 0 {
				return nil, fmt.Errorf("%s: Gemm with transA=1 is not calibrated", n)
			}
		case "Conv":
			c, err := calib.ConvOf(n)
			if err != nil {
				return nil, err
			}
			if c.KH*c.KW*L.Matrix.Features != L.Matrix.Cols {
				return nil, fmt.Errorf("%s: kernel %dx%d does not match weight %v", n, c.KH, c.KW, dims)
			}
			u.conv = &c
			l.perm = calib.TapMajor(L.Matrix.Features, c.KH*c.KW)
		default:
			return nil, fmt.Errorf("%s: calibrated sparsity does not handle %s", n, n.OpType())
		}
		l.uses = append(l.uses, u)
	}
	if len(l.uses) == 0 {
		return nil, fmt.Errorf("no MatMul, Gemm or Conv multiplies it with an activation to calibrate on")
	}
	return l, nil
}

// assignLevels sets each layer's level (calib.Levels; a layer with
// several uses takes the deepest).
func assignLevels(m *graph.Model, ls []*layer) error {
	var nodes []*graph.Node
	for _, l := range ls {
		for _, u := range l.uses {
			nodes = append(nodes, u.node)
		}
	}
	level, err := calib.Levels(m, nodes)
	if err != nil {
		return err
	}
	for _, l := range ls {
		l.level = 0
		for _, u := range l.uses {
			l.level = max(l.level, level[u.node])
		}
	}
	return nil
}
