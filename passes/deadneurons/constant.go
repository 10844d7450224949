package deadneurons

import (
	"fmt"
	"math"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes/channels"
)

// constantChannel evaluates channel c of g, whose producing weights are
// all zero, through the group's ops and returns its constant value at the
// input of each sink node; reason is set when it cannot be proved
// constant.
func constantChannel(an *channels.Analysis, g *channels.Group, c int64) (map[*graph.Node]float64, string) {
	inGroup := map[*graph.Value]int{}
	for _, v := range g.Values {
		if v.Offset != 0 || v.Block != 1 {
			return nil, "it passes through a Concat or Flatten"
		}
		inGroup[v.Value] = v.Axis
	}
	params := map[*graph.Value]channels.Member{}
	for _, m := range g.Members {
		if m.Role == channels.Param {
			params[m.Value] = m
		}
	}
	pos := map[*graph.Node]int{}
	for i, n := range an.Order {
		pos[n] = i
	}
	var nodes []*graph.Node
	for v := range inGroup {
		if p, _ := v.Producer(); p != nil {
			nodes = append(nodes, p)
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return pos[nodes[i]] < pos[nodes[j]] })
	val := map[*graph.Value]float64{}
	get := func(x *graph.Value) float64 {
		if k, ok := val[x]; ok {
			return k
		}
		if x == nil {
			return math.NaN()
		}
		if m, ok := params[x]; ok {
			return elementAt(x, m.Axis, c)
		}
		if x.Const() != nil {
			return uniform(x)
		}
		return math.NaN()
	}
	for _, n := range nodes {
		k := evalChannel(n, c, get)
		if math.IsNaN(k) || math.IsInf(k, 0) {
			return nil, fmt.Sprintf("its value after %s is not provably constant", n)
		}
		val[n.Output(0)] = k
	}
	at := map[*graph.Node]float64{}
	for _, m := range g.Members {
		if m.Role == channels.Sink {
			k, ok := val[m.Node.Input(0)]
			if !ok {
				return nil, fmt.Sprintf("the input of %s was not evaluated", m.Node)
			}
			at[m.Node] = k
		}
	}
	return at, ""
}

// elementAt returns element c along axis of a per-channel constant whose
// other dimensions are 1, or NaN.
func elementAt(v *graph.Value, axis int, c int64) float64 {
	t := v.Const()
	data, err := t.Floats()
	if err != nil {
		return math.NaN()
	}
	d := t.Dims()
	if axis >= len(d) || int64(len(data)) != d[axis] || c >= d[axis] {
		return math.NaN()
	}
	return float64(data[c])
}

// uniform returns the value of a float constant whose elements are all
// equal, or NaN.
func uniform(v *graph.Value) float64 {
	t := v.Const()
	if !channels.IsFloatParam(t) {
		return math.NaN()
	}
	data, err := t.Floats()
	if err != nil || len(data) == 0 {
		return math.NaN()
	}
	for _, x := range data[1:] {
		if x != data[0] {
			return math.NaN()
		}
	}
	return float64(data[0])
}

// evalChannel computes output 0 of n for one constant channel, given its
// inputs' values (NaN when unknown). Producing layers have zero weights
// for the channel, so they output their bias.
func evalChannel(n *graph.Node, c int64, get func(*graph.Value) float64) float64 {
	x := get(n.Input(0))
	switch op := n.OpType(); op {
	case "MatMul":
		return 0
	case "Gemm":
		if n.Input(2) == nil {
			return 0
		}
		return float64(n.AttrFloat("beta", 1)) * get(n.Input(2))
	case "Conv":
		b := 0.0
		if n.Input(2) != nil {
			b = get(n.Input(2))
		}
		if n.AttrInt("group", 1) == 1 {
			return b
		}
		sum, zero := filterSum(n.Input(1), c)
		switch {
		case zero || x == 0:
			return b
		case allZero(n.AttrInts("pads")) && n.AttrString("auto_pad", "NOTSET") == "NOTSET":
			return x*sum + b
		}
		return math.NaN()
	case "BatchNormalization":
		scale, bias, mean, variance := get(n.Input(1)), get(n.Input(2)), get(n.Input(3)), get(n.Input(4))
		eps := float64(n.AttrFloat("epsilon", 1e-5))
		return (x-mean)/math.Sqrt(variance+eps)*scale + bias
	case "Add":
		return x + get(n.Input(1))
	case "Sub":
		return x - get(n.Input(1))
	case "Mul":
		return x * get(n.Input(1))
	case "Div":
		return x / get(n.Input(1))
	case "Relu":
		return math.Max(x, 0)
	case "LeakyRelu":
		if x < 0 {
			return x * float64(n.AttrFloat("alpha", 0.01))
		}
		return x
	case "Clip":
		lo, hi := math.Inf(-1), math.Inf(1)
		if a := n.Attr("min"); a != nil {
			lo = float64(a.GetF())
		}
		if a := n.Attr("max"); a != nil {
			hi = float64(a.GetF())
		}
		if v := n.Input(1); v != nil {
			lo = get(v)
		}
		if v := n.Input(2); v != nil {
			hi = get(v)
		}
		return math.Min(math.Max(x, lo), hi)
	case "Sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "HardSigmoid":
		return math.Min(math.Max(float64(n.AttrFloat("alpha", 0.2))*x+float64(n.AttrFloat("beta", 0.5)), 0), 1)
	case "HardSwish":
		return x * math.Min(math.Max(x/6+0.5, 0), 1)
	case "Tanh":
		return math.Tanh(x)
	case "Identity", "Dropout", "Transpose", "Flatten", "Reshape", "MaxPool", "GlobalAveragePool", "GlobalMaxPool":
		return x
	case "AveragePool":
		if allZero(n.AttrInts("pads")) || n.AttrInt("count_include_pad", 0) == 0 || x == 0 {
			return x
		}
	}
	return math.NaN()
}

func allZero(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// filterSum sums the depthwise filter of channel c.
func filterSum(w *graph.Value, c int64) (sum float64, zero bool) {
	t := w.Const()
	data, err := t.Floats()
	if err != nil {
		return math.NaN(), false
	}
	per := int64(len(data)) / t.Dims()[0]
	zero = true
	for _, x := range data[c*per : (c+1)*per] {
		sum += float64(x)
		zero = zero && x == 0
	}
	return sum, zero
}
