package dce

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

// Pass is the dce pass.
var Pass = &passes.Pass{
	Name:    "dce",
	Doc:     "remove nodes whose outputs are unused (transitively, subgraphs too) and unused initializers",
	Streams: true, // reads no weight
	Run: func(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
		st, err := Sweep(m)
		if err != nil {
			return err
		}
		st.Report(ctx)
		return nil
	},
}

func init() { passes.Register(Pass) }

// Stats counts what Sweep removed.
type Stats struct {
	Nodes        int // nodes, subgraph nodes included (not those inside removed nodes' subgraphs)
	Initializers int // dense initializers
	Sparse       int // sparse initializers
}

// Report records the counts as figures of the running pass.
func (s Stats) Report(ctx *passes.Context) {
	ctx.Set("nodes_removed", s.Nodes)
	ctx.Set("initializers_removed", s.Initializers)
	ctx.Set("sparse_initializers_removed", s.Sparse)
}

// Sweep removes dead nodes and unused initializers from every graph of m
// (see the package doc) and returns what it removed.
func Sweep(m *graph.Model) (Stats, error) {
	var st Stats
	for {
		removed, err := sweepNodes(m)
		if err != nil {
			return st, err
		}
		st.Nodes += removed
		if removed == 0 {
			break
		}
		// Removing a node with subgraphs drops the uses its subgraphs made
		// of outer values, which can make more outer nodes dead.
	}
	var err error
	roots := outputRoots(m)
	m.Graph.Walk(func(g *graph.Graph) {
		if err != nil {
			return
		}
		for _, list := range [][]*graph.Value{g.Initializers, g.SparseInitializers} {
			for _, v := range append([]*graph.Value(nil), list...) {
				if len(v.Uses()) > 0 || v.IsInput() || roots[v] {
					continue
				}
				sparse := v.Sparse != nil
				if e := g.RemoveConstant(v); e != nil {
					err = fmt.Errorf("removing initializer %q: %w", v.Name, e)
					return
				}
				if sparse {
					st.Sparse++
				} else {
					st.Initializers++
				}
			}
		}
	})
	return st, err
}

// sweepNodes removes, graph by graph, the nodes whose outputs are dead.
// Visiting each graph's nodes in reverse topological order removes whole
// dead chains in one go.
func sweepNodes(m *graph.Model) (int, error) {
	roots := outputRoots(m)
	var graphs []*graph.Graph
	m.Graph.Walk(func(g *graph.Graph) { graphs = append(graphs, g) })
	removed := 0
	// Inner graphs first: their dead nodes release uses of outer values.
	for i := len(graphs) - 1; i >= 0; i-- {
		g := graphs[i]
		if g.Owner != nil && g.Owner.Graph() == nil {
			continue // its owner went away earlier in this round
		}
		order, err := g.Toposort()
		if err != nil {
			return removed, err
		}
		for k := len(order) - 1; k >= 0; k-- {
			n := order[k]
			if !dead(n, roots) {
				continue
			}
			if err := g.RemoveNode(n); err != nil {
				return removed, fmt.Errorf("removing %s: %w", n, err)
			}
			removed++
		}
	}
	return removed, nil
}

// dead reports whether no output of n is used or a graph output.
func dead(n *graph.Node, roots map[*graph.Value]bool) bool {
	for _, v := range n.Outputs() {
		if v != nil && (len(v.Uses()) > 0 || roots[v]) {
			return false
		}
	}
	return true
}

// outputRoots returns the values listed as outputs of any graph of m. A
// subgraph output may name a value of an enclosing graph without that
// value having a use, so every graph's outputs are roots.
func outputRoots(m *graph.Model) map[*graph.Value]bool {
	roots := map[*graph.Value]bool{}
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Outputs {
			if v != nil {
				roots[v] = true
			}
		}
	})
	return roots
}
