package repair

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// layer is one MatMul, Gemm or Conv seen as obs weights: rows output
// channels, cols input features (per group for Conv), in the feature
// order of its activation matrices (Rows or Im2Col).
type layer struct {
	node       *graph.Node
	weight     *graph.Value
	rows, cols int
	groups     int
	conv       *calib.Conv
	transposed bool    // stored [cols, rows]: MatMul, Gemm transB=0
	scale      float32 // Gemm's alpha: the layer computes scale·x·W
}

// layerOf reads n as a layer, or says why it is not one.
func layerOf(n *graph.Node) (*layer, string) {
	if n.Domain() != "" {
		return nil, ""
	}
	op := n.OpType()
	if op != "MatMul" && op != "Gemm" && op != "Conv" {
		return nil, ""
	}
	w := n.Input(1)
	if w == nil || w.Const() == nil {
		if w != nil {
			if p, _ := w.Producer(); p != nil && (p.OpType() == "DequantizeLinear" || p.OpType() == "MatMulNBits") {
				return nil, "quantized weight: no float weight to refit"
			}
		}
		return nil, "weight is not a constant"
	}
	t := w.Const()
	if t.DataType() != int32(onnx.TensorProto_FLOAT) {
		return nil, fmt.Sprintf("weight is %s, only float32 is refitted", onnx.DataTypeName(t.DataType()))
	}
	if len(w.Uses()) != 1 {
		return nil, fmt.Sprintf("weight %s is shared by %d uses", w.Name, len(w.Uses()))
	}
	d := t.Dims()
	l := &layer{node: n, weight: w, groups: 1, scale: 1}
	switch op {
	case "MatMul":
		if len(d) != 2 {
			return nil, fmt.Sprintf("weight has rank %d (only 2-D MatMul weights)", len(d))
		}
		l.rows, l.cols, l.transposed = int(d[1]), int(d[0]), true
	case "Gemm":
		if len(d) != 2 || n.AttrInt("transA", 0) != 0 {
			return nil, "Gemm with transA=1 or a weight not 2-D"
		}
		l.scale = n.AttrFloat("alpha", 1)
		if l.scale == 0 {
			return nil, "Gemm with alpha=0"
		}
		if n.AttrInt("transB", 0) != 0 {
			l.rows, l.cols = int(d[0]), int(d[1])
		} else {
			l.rows, l.cols, l.transposed = int(d[1]), int(d[0]), true
		}
	case "Conv":
		c, err := calib.ConvOf(n)
		if err != nil {
			return nil, err.Error()
		}
		if len(d) < 3 || d[0]%int64(c.Group) != 0 {
			return nil, fmt.Sprintf("weight shape %v does not fit group=%d", d, c.Group)
		}
		l.conv, l.groups = &c, c.Group
		l.rows, l.cols = int(d[0]), int(d[1])*c.KH*c.KW
	}
	if l.rows == 0 || l.cols == 0 {
		return nil, "empty weight"
	}
	return l, ""
}

// matrix returns the weight as obs rows (scaled by alpha).
func (l *layer) matrix() (obs.Weight, error) {
	v, err := l.weight.Const().Float32s()
	if err != nil {
		return obs.Weight{}, fmt.Errorf("weight %s: %w", l.weight.Name, err)
	}
	w := obs.NewWeight(l.rows, l.cols)
	for r := range l.rows {
		for j := range l.cols {
			x := v[r*l.cols+j]
			if l.transposed {
				x = v[j*l.rows+r]
			}
			w.Data[r*l.cols+j] = x * l.scale
		}
	}
	return w, nil
}

// write stores w back into the layer's weight.
func (l *layer) write(w obs.Weight) error {
	v, err := l.weight.Const().MutableFloat32s()
	if err != nil {
		return fmt.Errorf("weight %s: %w", l.weight.Name, err)
	}
	for r := range l.rows {
		for j := range l.cols {
			x := w.Data[r*l.cols+j] / l.scale
			if l.transposed {
				v[j*l.rows+r] = x
			} else {
				v[r*l.cols+j] = x
			}
		}
	}
	return nil
}

// group returns rows [g·rows/groups, (g+1)·rows/groups) of w.
func (l *layer) group(w obs.Weight, g int) obs.Weight {
	per := l.rows / l.groups
	return obs.Weight{Rows: per, Cols: l.cols, Data: w.Data[g*per*l.cols : (g+1)*per*l.cols]}
}

// activations turns a captured input of the layer into one [rows,
// features] matrix per group.
func (l *layer) activations(x *ort.Tensor) ([]calib.Matrix, error) {
	if l.conv != nil {
		return calib.Im2Col(x, *l.conv)
	}
	m, err := calib.Rows(x)
	if err != nil {
		return nil, err
	}
	if m.Cols != l.cols {
		return nil, fmt.Errorf("input has %d features, the weight %d", m.Cols, l.cols)
	}
	return []calib.Matrix{m}, nil
}

// changed reports whether l's weight differs from the reference layer's.
func changed(l, ref *layer) (bool, error) {
	if l.rows != ref.rows || l.cols != ref.cols || l.groups != ref.groups {
		return true, nil
	}
	a, err := l.weight.Const().Float32s()
	if err != nil {
		return false, err
	}
	b, err := ref.weight.Const().Float32s()
	if err != nil {
		return false, err
	}
	return !slices.Equal(a, b) || l.scale != ref.scale, nil
}

// rowMap finds, for every row of comp, the row of orig it was cut from:
// nil when both have the same rows. Each nonzero value of a compressed row
// votes for the original rows holding the same value; the winner needs
// the votes of at least half the row's nonzeros and may be claimed once.
func rowMap(comp, orig obs.Weight) ([]int, error) {
	if comp.Rows == orig.Rows {
		return nil, nil
	}
	if comp.Rows > orig.Rows {
		return nil, fmt.Errorf("%d output channels, more than the original's %d", comp.Rows, orig.Rows)
	}
	owner := map[uint32]int{}
	for r := range orig.Rows {
		for _, v := range orig.Row(r) {
			if v == 0 {
				continue
			}
			k := math.Float32bits(v)
			if o, ok := owner[k]; ok && o != r {
				owner[k] = -1 // the value is in two rows: no vote
			} else {
				owner[k] = r
			}
		}
	}
	out := make([]int, comp.Rows)
	taken := map[int]bool{}
	for r := range comp.Rows {
		votes := map[int]int{}
		nz := 0
		for _, v := range comp.Row(r) {
			if v == 0 {
				continue
			}
			nz++
			if o, ok := owner[math.Float32bits(v)]; ok && o >= 0 {
				votes[o]++
			}
		}
		best, n := -1, 0
		for o, c := range votes {
			if c > n || c == n && o < best {
				best, n = o, c
			}
		}
		if best < 0 || 2*n < nz || taken[best] {
			return nil, fmt.Errorf("cannot tell which original channel output %d was cut from (its values changed beyond removal)", r)
		}
		taken[best] = true
		out[r] = best
	}
	return out, nil
}
