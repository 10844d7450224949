package nm

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
)

// layout says how a consumer reduces its weight: along axis, in
// independent segments of segment elements (conv groups).
type layout struct {
	axis    int
	segment int64
}

// layoutOf returns how node n reduces its weight of shape dims.
func layoutOf(n *graph.Node, dims []int64) (layout, error) {
	r := len(dims)
	switch n.OpType() {
	case "MatMul":
		switch {
		case r == 0:
			return layout{}, fmt.Errorf("weight of %s is a scalar", n)
		case r == 1:
			return layout{0, dims[0]}, nil
		}
		return layout{r - 2, dims[r-2]}, nil
	case "Gemm":
		if r != 2 {
			return layout{}, fmt.Errorf("weight of %s has rank %d, want 2", n, r)
		}
		if n.AttrInt("transB", 0) != 0 {
			return layout{1, dims[1]}, nil
		}
		return layout{0, dims[0]}, nil
	case "Conv":
		if r < 3 {
			return layout{}, fmt.Errorf("weight of %s has rank %d, want 3 or more", n, r)
		}
		return layout{1, dims[1]}, nil
	case "ConvTranspose":
		if r < 3 {
			return layout{}, fmt.Errorf("weight of %s has rank %d, want 3 or more", n, r)
		}
		g := n.AttrInt("group", 1)
		if g < 1 || dims[0]%g != 0 {
			return layout{}, fmt.Errorf("%s: group=%d does not divide the %d input channels", n, g, dims[0])
		}
		return layout{0, dims[0] / g}, nil
	}
	return layout{}, fmt.Errorf("nm does not handle %s", n)
}
