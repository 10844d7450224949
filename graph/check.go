package graph

import (
	"errors"
	"fmt"
)

// Check verifies the structural invariants of g and its subgraphs: every
// node input is defined in g or an enclosing graph (subgraph scoping), each
// value has at most one producer and the producer lists it, use lists match
// node inputs exactly, graph outputs are defined, names are unique within
// a graph, and there is no cycle.
func (g *Graph) Check() error {
	if err := g.check(); err != nil {
		return err
	}
	var err error
	g.Walk(func(s *Graph) {
		if err == nil {
			if _, e := s.Toposort(); e != nil {
				err = fmt.Errorf("graph %q: %w", s.Proto.GetName(), e)
			}
		}
	})
	return err
}

func (g *Graph) check() error {
	name := g.Proto.GetName()
	seen := map[string]*Value{}
	def := func(v *Value, what string) error {
		if v == nil {
			return nil
		}
		if v.graph != g {
			return fmt.Errorf("graph %q: %s %q belongs to another graph", name, what, v.Name)
		}
		if w, dup := seen[v.Name]; dup && w != v {
			return fmt.Errorf("graph %q: two values are named %q", name, v.Name)
		}
		seen[v.Name] = v
		return nil
	}
	for _, v := range g.Inputs {
		if err := def(v, "input"); err != nil {
			return err
		}
	}
	for _, v := range g.Initializers {
		if v.Tensor == nil {
			return fmt.Errorf("graph %q: initializer %q has no tensor", name, v.Name)
		}
		if err := def(v, "initializer"); err != nil {
			return err
		}
	}
	for _, v := range g.SparseInitializers {
		if err := def(v, "sparse initializer"); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		if n.graph != g {
			return fmt.Errorf("graph %q: %s is listed but belongs to another graph", name, n)
		}
		for k, v := range n.outputs {
			if v == nil {
				continue
			}
			if v.producer != n || v.outIndex != k {
				return fmt.Errorf("graph %q: output %q of %s names another producer", name, v.Name, n)
			}
			if v.isInput || v.IsConstant() {
				return fmt.Errorf("graph %q: value %q is both a graph input or constant and the output of %s", name, v.Name, n)
			}
			if w, dup := seen[v.Name]; dup && w != v {
				return fmt.Errorf("graph %q: two values are named %q", name, v.Name)
			}
			if _, dup := seen[v.Name]; dup {
				return fmt.Errorf("graph %q: value %q has two producers", name, v.Name)
			}
			seen[v.Name] = v
		}
	}
	for _, n := range g.Nodes {
		for i, v := range n.inputs {
			if v == nil {
				continue
			}
			if !g.sees(v) {
				return fmt.Errorf("graph %q: input %q of %s is not visible here (defined in no enclosing graph)", name, v.Name, n)
			}
			if !v.hasUse(n, i) {
				return fmt.Errorf("graph %q: use list of %q lacks input %d of %s", name, v.Name, i, n)
			}
			if !v.defined() {
				return fmt.Errorf("graph %q: input %q of %s is not defined", name, v.Name, n)
			}
		}
		for _, s := range n.Subgraphs {
			if s.Graph.Parent != g || s.Graph.Owner != n {
				return fmt.Errorf("graph %q: subgraph of %s has the wrong parent", name, n)
			}
			if err := s.Graph.check(); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
	}
	for _, v := range seen {
		for _, u := range v.uses {
			if u.Node.graph == nil || u.Node.Input(u.Index) != v {
				return fmt.Errorf("graph %q: use list of %q names a node that does not use it", name, v.Name)
			}
		}
	}
	for _, v := range g.Outputs {
		if v == nil || !g.sees(v) || !v.defined() {
			return fmt.Errorf("graph %q: an output is not defined", name)
		}
	}
	return nil
}

// defined reports whether v has a definition: a producer still in a graph,
// a graph input, or a constant.
func (v *Value) defined() bool {
	if v.graph == nil {
		return false
	}
	if v.producer != nil {
		return v.producer.graph != nil
	}
	return v.isInput || v.IsConstant()
}

// sees reports whether v is defined in g or an enclosing graph.
func (g *Graph) sees(v *Value) bool {
	for s := g; s != nil; s = s.Parent {
		if v.graph == s {
			return true
		}
	}
	return false
}

func (v *Value) hasUse(n *Node, i int) bool {
	for _, u := range v.uses {
		if u.Node == n && u.Index == i {
			return true
		}
	}
	return false
}

// ErrCycle is wrapped by Toposort's error when the graph has a cycle.
var ErrCycle = errors.New("graph has a cycle")

// Toposort returns g's nodes in an order where each node comes after the
// producers of its inputs, including the values its subgraphs use from g.
// Among ready nodes the earlier one in g.Nodes goes first, so an already
// sorted graph keeps its order. It returns an error naming a node on a
// cycle if there is one. It does not change g; see Sort.
func (g *Graph) Toposort() ([]*Node, error) {
	index := make(map[*Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n] = i
	}
	indeg := make([]int, len(g.Nodes))
	succ := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, v := range n.deps(g) {
			if p := v.producer; p != nil {
				if j, ok := index[p]; ok {
					succ[j] = append(succ[j], i)
					indeg[i]++
				}
			}
		}
	}
	// A min-heap on original index keeps the order stable.
	h := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			h.push(i)
		}
	}
	out := make([]*Node, 0, len(g.Nodes))
	for h.len() > 0 {
		i := h.pop()
		out = append(out, g.Nodes[i])
		for _, j := range succ[i] {
			indeg[j]--
			if indeg[j] == 0 {
				h.push(j)
			}
		}
	}
	if len(out) != len(g.Nodes) {
		for i, d := range indeg {
			if d > 0 {
				return nil, fmt.Errorf("%w through %s", ErrCycle, g.Nodes[i])
			}
		}
	}
	return out, nil
}

// Sort puts g.Nodes (and every subgraph's nodes) in topological order.
func (g *Graph) Sort() error {
	order, err := g.Toposort()
	if err != nil {
		return err
	}
	g.Nodes = order
	for _, n := range g.Nodes {
		for _, s := range n.Subgraphs {
			if err := s.Graph.Sort(); err != nil {
				return err
			}
		}
	}
	return nil
}

// deps returns the values of graph g that n needs: its inputs and the g
// values used inside its subgraphs.
func (n *Node) deps(g *Graph) []*Value {
	var out []*Value
	for _, v := range n.inputs {
		if v != nil && v.graph == g {
			out = append(out, v)
		}
	}
	var walk func(sg *Graph)
	walk = func(sg *Graph) {
		for _, m := range sg.Nodes {
			for _, v := range m.inputs {
				if v != nil && v.graph == g {
					out = append(out, v)
				}
			}
			for _, s := range m.Subgraphs {
				walk(s.Graph)
			}
		}
		for _, v := range sg.Outputs {
			if v != nil && v.graph == g {
				out = append(out, v)
			}
		}
	}
	for _, s := range n.Subgraphs {
		walk(s.Graph)
	}
	return out
}

type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }
func (h *intHeap) push(x int) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}
func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
	return top
}
