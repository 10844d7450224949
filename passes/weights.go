package passes

import (
	"regexp"
	"strings"
	"sync"

	"github.com/onnxopt/onnxopt/graph"
)

// WeightInput says which input of an op type holds its weight.
var WeightInput = map[string]int{
	"MatMul":        1,
	"Gemm":          1,
	"Conv":          1,
	"ConvTranspose": 1,
	"Gather":        0, // embedding tables
	"MatMulInteger": 1,
}

// Weight is a constant tensor used as the weight of one or more nodes.
type Weight struct {
	Value  *graph.Value
	Tensor *graph.Tensor // Value.Const(): an initializer or a Constant node's value
	Node   *graph.Node   // the first consumer that made it a weight
	Uses   []*graph.Node // every node using it as its weight
}

// Selection chooses weights: op types, name patterns and a minimum size.
type Selection struct {
	Ops         []string // op types; empty means MatMul, Gemm, Conv, ConvTranspose
	Include     []string // glob patterns on the tensor or node name; empty means all
	Exclude     []string
	MinElements int64
}

// DefaultOps are the op types whose weights passes touch by default.
var DefaultOps = []string{"MatMul", "Gemm", "Conv", "ConvTranspose"}

// FindWeights returns the float constants feeding the weight input of the
// selected ops, in all graphs (subgraphs included), each once even when
// shared, in graph order. Weights computed at run time are reported
// through skip (name, reason) and left out.
func FindWeights(m *graph.Model, sel Selection, skip func(name, reason string)) []*Weight {
	ops := sel.Ops
	if len(ops) == 0 {
		ops = DefaultOps
	}
	want := map[string]bool{}
	for _, o := range ops {
		want[o] = true
	}
	var out []*Weight
	index := map[*graph.Value]*Weight{}
	m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if n.Domain() != "" || !want[n.OpType()] {
				continue
			}
			idx, ok := WeightInput[n.OpType()]
			if !ok {
				continue
			}
			v := n.Input(idx)
			if v == nil {
				continue
			}
			if w := index[v]; w != nil {
				w.Uses = append(w.Uses, n)
				continue
			}
			if !sel.matches(v.Name, n.Name()) {
				continue
			}
			t := v.Const()
			if t == nil {
				if skip != nil {
					skip(v.Name, "weight of "+n.String()+" is computed at run time, not a constant")
				}
				continue
			}
			if v.IsInput() {
				// An initializer listed as a graph input is only a default:
				// callers may feed another value at run time.
				if skip != nil {
					skip(v.Name, "weight of "+n.String()+" is also a graph input (a caller may replace it at run time)")
				}
				continue
			}
			if t.DataType() != 1 { // float32
				if skip != nil {
					skip(v.Name, "not a float32 tensor")
				}
				continue
			}
			if n, err := t.Elements(); err != nil || n < sel.MinElements {
				if skip != nil && err == nil {
					skip(v.Name, "smaller than min-elements")
				}
				continue
			}
			w := &Weight{Value: v, Tensor: t, Node: n, Uses: []*graph.Node{n}}
			index[v] = w
			out = append(out, w)
		}
	})
	// A weight shared with a node the user excluded stays as it is: the
	// excluded node must see the same values.
	kept := out[:0]
	for _, w := range out {
		excludedBy := ""
		for _, u := range w.Uses {
			if len(sel.Exclude) > 0 && !(Selection{Exclude: sel.Exclude}).matches(u.Name()) {
				excludedBy = u.String()
				break
			}
		}
		if excludedBy != "" {
			if skip != nil {
				skip(w.Value.Name, "shared with excluded node "+excludedBy)
			}
			continue
		}
		kept = append(kept, w)
	}
	return kept
}

func (s Selection) matches(names ...string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			for _, n := range names {
				if n != "" && Glob(p, n) {
					return true
				}
			}
		}
		return false
	}
	if len(s.Include) > 0 && !match(s.Include) {
		return false
	}
	return !match(s.Exclude)
}

// Glob reports whether name matches pattern, where '*' matches any run of
// characters ('/' included, since node names use it) and '?' one character.
func Glob(pattern, name string) bool {
	re, ok := globs.Load(pattern)
	if !ok {
		re, _ = globs.LoadOrStore(pattern, regexp.MustCompile("^"+strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".")+"$"))
	}
	return re.(*regexp.Regexp).MatchString(name)
}

// globs caches compiled patterns: Glob runs for every node and name.
var globs sync.Map
