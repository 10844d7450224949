package foldconstants

import (
	"errors"
	"fmt"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/dce"
)

// Pass is the fold-constants pass.
var Pass = &passes.Pass{
	Name: "fold-constants",
	Doc:  "evaluate nodes whose inputs are all constants and store their results as initializers",
	Options: []passes.Option{
		{Name: "max-bytes", Kind: passes.Int, Default: "16777216", Doc: "never fold a node whose result would be larger than this many bytes"},
	},
	Run: run,
}

func init() { passes.Register(Pass) }

func run(ctx *passes.Context, m *graph.Model, args passes.Args) error {
	maxBytes := args.Int("max-bytes")
	if maxBytes < 0 {
		return fmt.Errorf("max-bytes %d is negative", maxBytes)
	}
	e := &evaluator{maxBytes: maxBytes, opset: m.Opset("")}
	folded := map[string]int{}
	var graphs []*graph.Graph
	m.Graph.Walk(func(g *graph.Graph) { graphs = append(graphs, g) })
	// Parents first: a constant folded in a graph can feed its subgraphs.
	for _, g := range graphs {
		if g.Owner != nil && g.Owner.Graph() == nil {
			continue
		}
		order, err := g.Toposort()
		if err != nil {
			return err
		}
		for _, n := range order {
			ok, err := foldNode(ctx, e, g, n)
			if err != nil {
				return err
			}
			if ok {
				folded[n.OpType()]++
			}
		}
	}
	st, err := dce.Sweep(m)
	if err != nil {
		return err
	}
	total := 0
	var kinds []string
	for op, c := range folded {
		total += c
		kinds = append(kinds, op)
	}
	sort.Strings(kinds)
	for _, op := range kinds {
		ctx.Set("folded_"+op, folded[op])
	}
	ctx.Set("nodes_folded", total)
	st.Report(ctx)
	return nil
}

// foldNode folds n when it can, replacing its outputs by initializers of
// the same names. It reports nodes with constant inputs that it leaves.
func foldNode(ctx *passes.Context, e *evaluator, g *graph.Graph, n *graph.Node) (bool, error) {
	if n.Domain() != "" || n.OpType() == "Constant" || len(n.Subgraphs) > 0 {
		return false, nil
	}
	var outs []*tensor
	var err error
	if n.OpType() == "Shape" {
		outs = make([]*tensor, 1)
		outs[0], err = shapeOf(n)
		if err != nil {
			return false, nil // a shape known only at run time is the usual case
		}
	} else {
		in, all, cerr := constInputs(n)
		if cerr != nil {
			return false, cerr
		}
		if !all {
			return false, nil
		}
		op := ops[n.OpType()]
		if op == nil {
			ctx.Skip(n.String(), "all inputs are constant, but fold-constants does not evaluate %s", n.OpType())
			return false, nil
		}
		outs, err = op(e, n, in)
	}
	if errors.Is(err, errSkip) {
		ctx.Skip(n.String(), "%v", err)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", n, err)
	}
	for i, v := range n.Outputs() {
		if v != nil && (i >= len(outs) || outs[i] == nil) {
			ctx.Skip(n.String(), "output %d was not computed", i)
			return false, nil
		}
	}
	return true, replace(g, n, outs)
}

// constInputs returns n's inputs as tensors when every present input is a
// constant (an initializer that is not a graph input, or a Constant node's
// value, in this graph or an enclosing one).
func constInputs(n *graph.Node) ([]*tensor, bool, error) {
	in := make([]*tensor, len(n.Inputs()))
	for i, v := range n.Inputs() {
		if v == nil {
			continue
		}
		c := v.Const()
		if c == nil || v.IsInput() {
			return nil, false, nil
		}
		if width(c.DataType()) == 0 {
			return nil, false, nil
		}
		raw, err := c.Raw()
		if err != nil {
			return nil, false, fmt.Errorf("constant %q: %w", v.Name, err)
		}
		in[i] = &tensor{dt: c.DataType(), dims: c.Dims(), raw: raw}
	}
	return in, true, nil
}

// replace makes each output of n an initializer holding its folded value
// under the same name, and removes n.
func replace(g *graph.Graph, n *graph.Node, outs []*tensor) error {
	type swap struct {
		nv   *graph.Value
		name string
	}
	var swaps []swap
	for i, v := range n.Outputs() {
		if v == nil {
			continue
		}
		t := outs[i]
		dt := t.dt
		raw := append([]byte{}, t.raw...) // never alias another tensor's bytes
		tp := &onnx.TensorProto{DataType: &dt, Dims: append([]int64{}, t.dims...), RawData: raw}
		nv := g.NewInitializer(v.Name+"_folded", tp)
		v.ReplaceAllUsesWith(nv)
		swaps = append(swaps, swap{nv, v.Name})
	}
	if err := g.RemoveNode(n); err != nil {
		return fmt.Errorf("folding %s: %w", n, err)
	}
	for _, s := range swaps {
		if err := g.RenameValue(s.nv, s.name); err != nil {
			return fmt.Errorf("folding %s: %w", n, err)
		}
	}
	return nil
}
