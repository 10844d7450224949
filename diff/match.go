package diff

import (
	"fmt"
	"slices"

	"github.com/onnxopt/onnxopt/graph"
)

// Matching says which node and value of the second model corresponds to
// which of the first.
type Matching struct {
	NodeAB, NodeBA   map[*graph.Node]*graph.Node
	ValueAB, ValueBA map[*graph.Value]*graph.Value
	// How says by which rule a node of the first model was matched:
	// "name", "output", "neighbour", "input" (a replacement reading the
	// run-time quantized form of the same input) or "position".
	How map[*graph.Node]string
}

// replacements lists op types a pass may substitute for another while the
// node keeps its role (quantization, mostly); they may be matched.
var replacements = map[string][]string{
	"MatMul": {"MatMulNBits", "DynamicQuantizeMatMul", "MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "Gemm", "FusedMatMul"},
	"Gemm":   {"MatMul", "MatMulNBits", "DynamicQuantizeMatMul", "QGemm", "FusedGemm"},
	"Conv":   {"ConvInteger", "QLinearConv", "FusedConv"},
	"Gather": {"GatherBlockQuantized"},
}

// replacedInputs maps, for an op (key "before>after") that a pass
// substituted for another, each input of the original to the input of the
// replacement that plays its role; inputs not listed have no counterpart
// (the replacement's other inputs are its scales and zero points). Pairs
// not listed correspond position by position.
var replacedInputs = map[string][]int{
	"Conv>ConvInteger":             {0, 1},    // x, W; the bias moves to an Add
	"Gemm>DynamicQuantizeMatMul":   {0, 1, 4}, // A, B, C → bias
	"MatMul>DynamicQuantizeMatMul": {0, 1},    //
	"Gemm>MatMulNBits":             {0, 1, 5}, // A, B, C → bias
	"MatMul>MatMulNBits":           {0, 1},    //
	"Gather>GatherBlockQuantized":  {0, 1},    // table, indices
}

// counterpartInput returns the input of b that plays the role of a's
// input i, and whether b has one.
func counterpartInput(a, b *graph.Node, i int) (*graph.Value, bool) {
	if opKey(a) == opKey(b) {
		return b.Input(i), i < len(b.Inputs())
	}
	if m, ok := replacedInputs[a.OpType()+">"+b.OpType()]; ok {
		if i >= len(m) {
			return nil, false
		}
		return b.Input(m[i]), m[i] < len(b.Inputs())
	}
	return b.Input(i), i < len(b.Inputs())
}

// opKey is a node's domain-qualified op type.
func opKey(n *graph.Node) string {
	if d := n.Domain(); d != "" && d != "ai.onnx" {
		return d + "." + n.OpType()
	}
	return n.OpType()
}

// compatible reports whether nodes of these types may be paired.
func compatible(a, b *graph.Node) bool {
	if opKey(a) == opKey(b) {
		return true
	}
	for _, r := range replacements[a.OpType()] {
		if r == b.OpType() {
			return true
		}
	}
	return false
}

// Match pairs the nodes and values of a and b (main graphs, and the
// subgraphs of matched nodes).
func Match(a, b *graph.Model) (*Matching, error) {
	m := &Matching{
		NodeAB: map[*graph.Node]*graph.Node{}, NodeBA: map[*graph.Node]*graph.Node{},
		ValueAB: map[*graph.Value]*graph.Value{}, ValueBA: map[*graph.Value]*graph.Value{},
		How: map[*graph.Node]string{},
	}
	if err := m.matchGraphs(a.Graph, b.Graph); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Matching) pairValues(va, vb *graph.Value) {
	if va == nil || vb == nil || m.ValueAB[va] != nil || m.ValueBA[vb] != nil {
		return
	}
	m.ValueAB[va], m.ValueBA[vb] = vb, va
}

func (m *Matching) pairNodes(a, b *graph.Node, how string) bool {
	if m.NodeAB[a] != nil || m.NodeBA[b] != nil {
		return false
	}
	m.NodeAB[a], m.NodeBA[b], m.How[a] = b, a, how
	for i, v := range a.Outputs() {
		m.pairValues(v, b.Output(i))
	}
	for i, v := range a.Inputs() {
		vb, _ := counterpartInput(a, b, i)
		if v == nil || vb == nil {
			continue
		}
		// An input pair is only taken when both are constants, or both
		// are computed: a weight replaced by a dequantized weight is
		// computed on one side and still pairs.
		pa, _ := v.Producer()
		pb, _ := vb.Producer()
		if (pa == nil) == (pb == nil) || isConstLike(v) || isConstLike(vb) {
			m.pairValues(v, vb)
		}
	}
	return true
}

// isConstLike reports whether v is a constant or the output of a
// dequantizing node fed by a constant.
func isConstLike(v *graph.Value) bool {
	if v.IsConstant() || v.Const() != nil {
		return true
	}
	p, _ := v.Producer()
	return p != nil && p.OpType() == "DequantizeLinear" && p.Input(0) != nil && (p.Input(0).IsConstant() || p.Input(0).Const() != nil)
}

func (m *Matching) matchGraphs(a, b *graph.Graph) error {
	orderA, err := a.Toposort()
	if err != nil {
		return fmt.Errorf("first model: %w", err)
	}
	orderB, err := b.Toposort()
	if err != nil {
		return fmt.Errorf("second model: %w", err)
	}
	m.matchBoundary(a, b)

	// 1. Unique node names.
	byNameB := uniqueNames(orderB)
	for name, na := range uniqueNames(orderA) {
		if nb := byNameB[name]; nb != nil && na != nil {
			m.pairNodes(na, nb, "name")
		}
	}
	// 2. Names of produced values.
	producedB := map[string]*graph.Node{}
	for _, n := range orderB {
		for _, v := range n.Outputs() {
			if v != nil {
				producedB[v.Name] = n
			}
		}
	}
	for _, na := range orderA {
		for _, v := range na.Outputs() {
			if v == nil {
				continue
			}
			if nb := producedB[v.Name]; nb != nil && m.NodeAB[na] == nil && m.NodeBA[nb] == nil && compatible(na, nb) {
				m.pairNodes(na, nb, "output")
			}
		}
	}
	// 3. Neighbours, 4. quantized consumers, 5. position, 6. neighbours again.
	m.propagate(orderA)
	m.matchRequantized(orderB)
	m.propagate(orderA)
	m.matchByPosition(orderA, orderB)
	m.propagate(orderA)

	// Subgraphs of matched nodes.
	for _, na := range orderA {
		nb := m.NodeAB[na]
		if nb == nil {
			continue
		}
		for i, s := range na.Subgraphs {
			if i < len(nb.Subgraphs) {
				if err := m.matchGraphs(s.Graph, nb.Subgraphs[i].Graph); err != nil {
					return fmt.Errorf("%s subgraph %d: %w", na, i, err)
				}
			}
		}
	}
	return nil
}

// matchBoundary pairs graph inputs and outputs (by name, then position)
// and constants with the same name.
func (m *Matching) matchBoundary(a, b *graph.Graph) {
	in := func(g *graph.Graph) []*graph.Value {
		var out []*graph.Value
		for _, v := range g.Inputs {
			if !v.IsConstant() {
				out = append(out, v)
			}
		}
		return out
	}
	ia, ib := in(a), in(b)
	for _, v := range ia {
		if w := b.Lookup(v.Name); w != nil && w.IsInput() {
			m.pairValues(v, w)
		}
	}
	for i, v := range ia {
		if i < len(ib) {
			m.pairValues(v, ib[i])
		}
	}
	for _, v := range append(append([]*graph.Value{}, a.Initializers...), a.SparseInitializers...) {
		if w := b.Lookup(v.Name); w != nil && w.Graph() == b && w.IsConstant() {
			m.pairValues(v, w)
		}
	}
	for _, v := range a.Outputs {
		for _, w := range b.Outputs {
			if v.Name == w.Name {
				m.pairValues(v, w)
			}
		}
	}
	for i, v := range a.Outputs {
		if i < len(b.Outputs) {
			m.pairValues(v, b.Outputs[i])
		}
	}
}

// uniqueNames maps each node name used exactly once to its node.
func uniqueNames(nodes []*graph.Node) map[string]*graph.Node {
	out := map[string]*graph.Node{}
	for _, n := range nodes {
		if n.Name() == "" {
			continue
		}
		if _, dup := out[n.Name()]; dup {
			out[n.Name()] = nil
			continue
		}
		out[n.Name()] = n
	}
	return out
}

// propagate matches unmatched nodes through matched neighbours until
// nothing changes: the producers of paired values, and the consumers of
// paired values that are alone of their op type at their input position.
func (m *Matching) propagate(orderA []*graph.Node) {
	for changed := true; changed; {
		changed = false
		for _, na := range orderA {
			if m.NodeAB[na] != nil {
				continue
			}
			// Through a paired output: its producer on the other side.
			for i, v := range na.Outputs() {
				if vb := m.ValueAB[v]; v != nil && vb != nil {
					if nb, k := vb.Producer(); nb != nil && k == i && m.NodeBA[nb] == nil && compatible(na, nb) {
						changed = m.pairNodes(na, nb, "neighbour") || changed
						break
					}
				}
			}
		}
		for _, na := range orderA {
			nb := m.NodeAB[na]
			if nb == nil {
				continue
			}
			// Producers of inputs at the same position.
			for i, v := range na.Inputs() {
				vb, _ := counterpartInput(na, nb, i)
				if v == nil || vb == nil {
					continue
				}
				pa, ka := v.Producer()
				pb, kb := vb.Producer()
				if pa != nil && pb != nil && ka == kb && m.NodeAB[pa] == nil && m.NodeBA[pb] == nil && pa.Graph() == na.Graph() && compatible(pa, pb) {
					changed = m.pairNodes(pa, pb, "neighbour") || changed
				}
			}
			// Consumers of outputs, alone of their kind.
			for i, v := range na.Outputs() {
				vb := nb.Output(i)
				if v == nil || vb == nil {
					continue
				}
				ca := loneConsumers(v.Uses(), m.NodeAB)
				cb := loneConsumers(vb.Uses(), m.NodeBA)
				for key, ua := range ca {
					if ub, ok := cb[key]; ok && ua != nil && ub != nil && ua.Graph() == na.Graph() && ub.Graph() == nb.Graph() {
						changed = m.pairNodes(ua, ub, "neighbour") || changed
					}
				}
			}
		}
	}
}

// loneConsumers maps "op/input index" to the unmatched consumer of that
// kind, or nil when there are several.
func loneConsumers(uses []graph.Use, matched map[*graph.Node]*graph.Node) map[string]*graph.Node {
	out := map[string]*graph.Node{}
	for _, u := range uses {
		if matched[u.Node] != nil {
			continue
		}
		key := fmt.Sprintf("%s/%d", opKey(u.Node), u.Index)
		if _, dup := out[key]; dup {
			out[key] = nil
			continue
		}
		out[key] = u.Node
	}
	return out
}

// maxLCSCells bounds the table of the positional matching; larger graphs
// pair the unmatched nodes of each op type in order instead.
const maxLCSCells = 16 << 20

// matchByPosition pairs the unmatched nodes of both graphs by op type and
// topological position: the longest common subsequence of their op types.
func (m *Matching) matchByPosition(orderA, orderB []*graph.Node) {
	var ua, ub []*graph.Node
	for _, n := range orderA {
		if m.NodeAB[n] == nil {
			ua = append(ua, n)
		}
	}
	for _, n := range orderB {
		if m.NodeBA[n] == nil {
			ub = append(ub, n)
		}
	}
	if len(ua) == 0 || len(ub) == 0 {
		return
	}
	if len(ua)*len(ub) > maxLCSCells {
		byOp := map[string][]*graph.Node{}
		for _, n := range ub {
			byOp[opKey(n)] = append(byOp[opKey(n)], n)
		}
		for _, n := range ua {
			if q := byOp[opKey(n)]; len(q) > 0 {
				m.pairNodes(n, q[0], "position")
				byOp[opKey(n)] = q[1:]
			}
		}
		return
	}
	w := len(ub) + 1
	t := make([]int32, (len(ua)+1)*w)
	for i := len(ua) - 1; i >= 0; i-- {
		for j := len(ub) - 1; j >= 0; j-- {
			if opKey(ua[i]) == opKey(ub[j]) {
				t[i*w+j] = t[(i+1)*w+j+1] + 1
			} else {
				t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
			}
		}
	}
	for i, j := 0, 0; i < len(ua) && j < len(ub); {
		switch {
		case opKey(ua[i]) == opKey(ub[j]):
			m.pairNodes(ua[i], ub[j], "position")
			i++
			j++
		case t[(i+1)*w+j] >= t[i*w+j+1]:
			i++
		default:
			j++
		}
	}
}

// matchRequantized pairs a node of the second model whose data input is
// quantized at run time (DynamicQuantizeLinear, behind a Cast in a
// float16 model), as ConvInteger's is, with the unmatched consumer of the
// float input in the first model that it replaces: a compatible op whose
// weight has the same shape.
func (m *Matching) matchRequantized(orderB []*graph.Node) {
	for _, nb := range orderB {
		if m.NodeBA[nb] != nil || nb.Input(0) == nil {
			continue
		}
		dql, _ := nb.Input(0).Producer()
		if dql == nil || dql.OpType() != "DynamicQuantizeLinear" || dql.Input(0) == nil {
			continue
		}
		xa := m.ValueBA[skipCasts(dql.Input(0))]
		if xa == nil {
			continue
		}
		for _, u := range xa.Uses() {
			na := u.Node
			if u.Index == 0 && m.NodeAB[na] == nil && compatible(na, nb) && na.Input(1) != nil && nb.Input(1) != nil &&
				slices.Equal(shapeOf(na.Input(1)), shapeOf(nb.Input(1))) {
				m.pairNodes(na, nb, "input")
				break
			}
		}
	}
}

// skipCasts returns the value v is a Cast (or chain of Casts) of.
func skipCasts(v *graph.Value) *graph.Value {
	for {
		p, _ := v.Producer()
		if p == nil || p.OpType() != "Cast" || p.Domain() != "" || p.Input(0) == nil {
			return v
		}
		v = p.Input(0)
	}
}
