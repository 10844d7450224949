package channels

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
)

// dimKey is one dimension of one value; the analysis numbers them.
type dimKey struct {
	v    *graph.Value
	axis int
}

// seg says that a derived dimension's indices [offset+c*block,
// offset+(c+1)*block) come from channel c of dimension from.
type seg struct {
	from          int
	offset, block int64
}

// analyzer is the state of one Analyze: the dimensions met so far, a
// union-find over them (parent) and what each dimension brought to its
// group.
type analyzer struct {
	g      *graph.Graph
	shapes shapes
	pos    map[*graph.Node]int

	ids     map[dimKey]int
	dims    []dimKey
	parent  []int
	work    []int
	members map[int][]Member
	dw      map[int][]*graph.Node
	rs      map[int][]reshapeEntry
	reasons map[int][]string
	sources map[int][]*graph.Node
	segs    map[int]map[seg]bool // derived dim -> where its indices come from
}

// Analyze runs the channel dependency analysis over m's main graph.
// Values used inside subgraphs stop the groups they belong to.
func Analyze(m *graph.Model) (*Analysis, error) {
	g := m.Graph
	order, err := g.Toposort()
	if err != nil {
		return nil, fmt.Errorf("channel analysis: %w", err)
	}
	a := &analyzer{
		g: g, shapes: inferShapes(g, order), pos: map[*graph.Node]int{},
		ids: map[dimKey]int{}, members: map[int][]Member{}, dw: map[int][]*graph.Node{},
		rs: map[int][]reshapeEntry{}, reasons: map[int][]string{}, sources: map[int][]*graph.Node{},
		segs: map[int]map[seg]bool{},
	}
	for i, n := range order {
		a.pos[n] = i
	}
	// Every weighted layer's output channels seed a group.
	for _, n := range order {
		if n.Domain() == "" {
			seed(a, n)
		}
	}
	for len(a.work) > 0 {
		d := a.work[len(a.work)-1]
		a.work = a.work[:len(a.work)-1]
		a.explore(d)
	}
	return a.finish(order)
}

// get returns the id of dimension axis of v, creating it (and queueing it
// for exploration) on first sight.
func (a *analyzer) get(v *graph.Value, axis int) int {
	k := dimKey{v, axis}
	if id, ok := a.ids[k]; ok {
		return id
	}
	id := len(a.dims)
	a.ids[k] = id
	a.dims = append(a.dims, k)
	a.parent = append(a.parent, id)
	a.work = append(a.work, id)
	return id
}

func (a *analyzer) find(x int) int {
	for a.parent[x] != x {
		a.parent[x] = a.parent[a.parent[x]]
		x = a.parent[x]
	}
	return x
}

func (a *analyzer) tie(d int, v *graph.Value, axis int) {
	e := a.get(v, axis)
	x, y := a.find(d), a.find(e)
	if x != y {
		a.parent[y] = x
	}
}

func (a *analyzer) block(d int, format string, args ...any) {
	a.reasons[d] = append(a.reasons[d], fmt.Sprintf(format, args...))
}

func (a *analyzer) member(d int, n *graph.Node, v *graph.Value, role Role, axis int) {
	a.members[d] = append(a.members[d], Member{Value: v, Node: n, Role: role, Slice: Slice{Axis: axis, Block: 1}})
}

func (a *analyzer) derive(d int, out *graph.Value, axis int, offset, block int64) {
	e := a.get(out, axis)
	if a.segs[e] == nil {
		a.segs[e] = map[seg]bool{}
	}
	a.segs[e][seg{d, offset, block}] = true
}

func (a *analyzer) size(v *graph.Value, axis int) int64 {
	d := a.shapes.get(v)
	if axis < 0 || axis >= len(d) {
		return -1
	}
	return d[axis]
}

// explore applies the rules of v's producer and of each of its users to
// dimension d.
func (a *analyzer) explore(d int) {
	k := a.dims[d]
	v := k.v
	switch {
	case v.Graph() != a.g:
		a.block(d, "%s is defined in a subgraph", v.Name)
		return
	case v.IsOutput():
		a.block(d, "reaches graph output %s", v.Name)
	case v.IsInput():
		a.block(d, "comes from graph input %s", v.Name)
		return
	case v.Const() != nil:
		a.block(d, "meets constant %s in an unexpected place", v.Name)
		return
	}
	if a.shapes.rank(v) < 0 {
		a.block(d, "the shape of %s is unknown", v.Name)
		return
	}
	if s := a.size(v, k.axis); s < 0 {
		a.block(d, "dimension %d of %s has no static size", k.axis, v.Name)
		return
	}
	if p, idx := v.Producer(); p != nil {
		a.rule(d, p, idx, true)
	}
	for _, u := range v.Uses() {
		if u.Node.Graph() != a.g {
			a.block(d, "%s is used inside a subgraph of %s", v.Name, u.Node)
			continue
		}
		a.rule(d, u.Node, u.Index, false)
	}
}

// param records constant p of n as a per-channel vector along axis, or
// blocks d and returns false when it is not one.
func (a *analyzer) param(d int, n *graph.Node, p *graph.Value, axis int) bool {
	if p == nil {
		return true
	}
	c := p.Const()
	if c == nil {
		a.block(d, "%s: parameter %s is computed at run time", n, p.Name)
		return false
	}
	if p.IsInput() {
		a.block(d, "%s: parameter %s is also a graph input (its size is fixed by callers)", n, p.Name)
		return false
	}
	if !IsFloatParam(c) {
		a.block(d, "%s: parameter %s is not float32, float16 or bfloat16", n, p.Name)
		return false
	}
	a.member(d, n, p, Param, axis)
	return true
}

// weight returns n's input i when it is a float constant weight (float32, float16 or bfloat16), or
// blocks d.
func (a *analyzer) weight(d int, n *graph.Node, i int) *graph.Value {
	w := n.Input(i)
	c := w.Const()
	switch {
	case w == nil:
		a.block(d, "%s: the weight (input %d) is missing", n, i)
	case c == nil:
		a.block(d, "%s: weight %s is computed at run time", n, w.Name)
	case w.IsInput():
		a.block(d, "%s: weight %s is also a graph input (its size is fixed by callers)", n, w.Name)
	case !IsFloatParam(c):
		a.block(d, "%s: weight %s is not float32, float16 or bfloat16", n, w.Name)
	default:
		return w
	}
	return nil
}
