package structured

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// Role is what a coupled constant does for the channels of its group.
type Role int

const (
	// Source weights produce the channels (a MatMul column, a Conv
	// output filter).
	Source Role = iota
	// Sink weights read the channels (the next layer's input slice).
	Sink
	// Through weights carry a channel to itself (a depthwise filter).
	Through
	// Param vectors are per-channel parameters: biases, BatchNormalization
	// vectors, per-channel constants of elementwise ops.
	Param
)

func (r Role) String() string {
	return [...]string{"source", "sink", "through", "param"}[r]
}

// Slice maps channel c of a group to the indices [Offset+c*Block,
// Offset+(c+1)*Block) along Axis of a tensor.
type Slice struct {
	Axis   int
	Offset int64
	Block  int64
}

// Member is a constant that shrinks with a group.
type Member struct {
	Value *graph.Value // the constant (initializer or Constant node output)
	Node  *graph.Node  // the node that uses it
	Role  Role
	Slice
}

// ValueDim is an activation dimension that shrinks with a group.
type ValueDim struct {
	Value *graph.Value
	Slice
}

// Group is a set of dimensions that hold the same channels: removing
// channel c removes its slice from every member and every value.
type Group struct {
	Name    string // the first producing node
	Size    int64  // channels
	Members []Member
	Values  []ValueDim
	// Depthwise lists depthwise Convs whose group attribute is the size.
	Depthwise []*graph.Node
	// Reshapes lists Reshape nodes whose shape constant spells out a size
	// that depends on the group.
	Reshapes []reshapeEntry
	// Reason says why the group is left alone; empty when it can shrink.
	Reason string
}

type reshapeEntry struct {
	Node  *graph.Node
	Index int // entry of the shape constant
	Slice
}

// Analysis is the channel dependency analysis of a model's main graph.
type Analysis struct {
	Groups []*Group // in graph order; see Group.Reason
	Graph  *graph.Graph
	shapes shapes
	order  []*graph.Node
}

type dimKey struct {
	v    *graph.Value
	axis int
}

type seg struct {
	from          int
	offset, block int64
}

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
		if n.Domain() != "" {
			continue
		}
		out := n.Output(0)
		r := a.shapes.rank(out)
		switch n.OpType() {
		case "MatMul":
			if r >= 1 && n.Input(1).Const() != nil {
				a.get(out, r-1)
			}
		case "Gemm":
			if n.Input(1).Const() != nil {
				a.get(out, 1)
			}
		case "Conv":
			if w := n.Input(1).Const(); w != nil && n.AttrInt("group", 1) == 1 {
				a.get(out, 1)
			}
		}
	}
	for len(a.work) > 0 {
		d := a.work[len(a.work)-1]
		a.work = a.work[:len(a.work)-1]
		a.explore(d)
	}
	return a.finish(order), nil
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

// unaryOps map each element to one element of the same place.
var unaryOps = map[string]bool{
	"Relu": true, "Clip": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"Tanh": true, "LeakyRelu": true, "Elu": true, "Selu": true, "Softplus": true, "Softsign": true,
	"Identity": true, "Dropout": true, "Neg": true, "Abs": true, "Exp": true, "Sqrt": true,
	"Erf": true, "Gelu": true, "Mish": true, "Reciprocal": true, "Floor": true, "Ceil": true,
	"ThresholdedRelu": true, "Celu": true, "PRelu": false,
}

// binaryOps are broadcasting elementwise ops.
var binaryOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true}

// rule relates dimension d, found at input (or output, when out is set)
// port of n, to the other dimensions and constants of n.
func (a *analyzer) rule(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	axis := k.axis
	op := n.OpType()
	if n.Domain() != "" {
		a.block(d, "%s: operator of domain %s is not understood", n, n.Domain())
		return
	}
	for i, o := range n.Outputs() {
		if i > 0 && o != nil && (len(o.Uses()) > 0 || o.IsOutput()) && !(op == "Dropout") {
			a.block(d, "%s: its extra output %s is used", n, o.Name)
			return
		}
	}
	switch {
	case unaryOps[op] || op == "Cast":
		if op == "Dropout" && n.Output(1) != nil && len(n.Output(1).Uses()) > 0 {
			a.block(d, "%s: its mask is used", n)
			return
		}
		if out {
			a.tie(d, n.Input(0), axis)
		} else if port == 0 {
			a.tie(d, n.Output(0), axis)
		} else {
			a.block(d, "%s: channels reach a parameter input", n)
		}
	case binaryOps[op]:
		a.binary(d, n, port, out)
	case op == "BatchNormalization":
		if port != 0 {
			a.block(d, "%s: channels reach a parameter input", n)
			return
		}
		other := n.Input(0)
		if !out {
			other = n.Output(0)
		}
		a.tie(d, other, axis)
		if axis == 1 {
			for i := 1; i <= 4; i++ {
				if !a.param(d, n, n.Input(i), 0) {
					return
				}
			}
		}
	case op == "MatMul":
		a.matmul(d, n, port, out)
	case op == "Gemm":
		a.gemm(d, n, port, out)
	case op == "Conv":
		a.conv(d, n, port, out)
	case op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "LpPool":
		if axis > 1 || port != 0 {
			a.block(d, "%s: spatial dimension %d changes", n, axis)
			return
		}
		if out {
			a.tie(d, n.Input(0), axis)
		} else {
			a.tie(d, n.Output(0), axis)
		}
	case op == "Transpose":
		a.transpose(d, n, out)
	case op == "Concat":
		a.concat(d, n, port, out)
	case op == "Flatten":
		a.flatten(d, n, out)
	case op == "Reshape":
		a.reshape(d, n, port, out)
	default:
		a.block(d, "%s: cannot prove how channels map through %s", n, op)
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
	if c.DataType() != int32(onnx.TensorProto_FLOAT) {
		a.block(d, "%s: parameter %s is not float32", n, p.Name)
		return false
	}
	a.member(d, n, p, Param, axis)
	return true
}

func (a *analyzer) binary(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	y := n.Output(0)
	r := a.shapes.rank(y)
	if r < 0 {
		a.block(d, "%s: output shape unknown", n)
		return
	}
	outAxis := k.axis
	if !out {
		outAxis = k.axis + r - a.shapes.rank(n.Input(port))
		a.tie(d, y, outAxis)
	}
	size := a.size(k.v, k.axis)
	for i, x := range n.Inputs() {
		if x == nil || (!out && i == port) {
			continue
		}
		ax := outAxis - (r - a.shapes.rank(x))
		if ax < 0 {
			continue // broadcast across the whole channel dimension
		}
		s := a.size(x, ax)
		switch {
		case s == 1:
			continue
		case s != size:
			a.block(d, "%s: operand %s has size %d where the channels are %d", n, x.Name, s, size)
			return
		case x.Const() != nil:
			if !a.param(d, n, x, ax) {
				return
			}
		default:
			a.tie(d, x, ax)
		}
	}
}

// weight returns the float32 constant weight of n, or blocks d.
func (a *analyzer) weight(d int, n *graph.Node, rank int) *graph.Value {
	w := n.Input(1)
	c := w.Const()
	switch {
	case c == nil:
		a.block(d, "%s: weight %s is computed at run time", n, w.Name)
	case w.IsInput():
		a.block(d, "%s: weight %s is also a graph input (its size is fixed by callers)", n, w.Name)
	case c.DataType() != int32(onnx.TensorProto_FLOAT):
		a.block(d, "%s: weight %s is not float32", n, w.Name)
	case rank > 0 && len(c.Dims()) != rank:
		a.block(d, "%s: weight %s has rank %d, want %d", n, w.Name, len(c.Dims()), rank)
	default:
		return w
	}
	return nil
}

func (a *analyzer) matmul(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	r := a.shapes.rank(k.v)
	switch {
	case out && k.axis == r-1:
		a.member(d, n, w, Source, 1)
		a.sources[d] = append(a.sources[d], n)
	case !out && port == 0 && k.axis == r-1:
		a.member(d, n, w, Sink, 0)
	default:
		a.block(d, "%s: channels on a batch dimension", n)
	}
}

func (a *analyzer) gemm(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 2)
	if w == nil {
		return
	}
	if n.AttrInt("transA", 0) != 0 {
		a.block(d, "%s: transA=1 is not followed", n)
		return
	}
	transB := n.AttrInt("transB", 0) != 0
	switch {
	case out && k.axis == 1:
		wa := 1
		if transB {
			wa = 0
		}
		a.member(d, n, w, Source, wa)
		a.sources[d] = append(a.sources[d], n)
		if c := n.Input(2); c != nil {
			cr := a.shapes.rank(c)
			if cr >= 1 && a.size(c, cr-1) != 1 {
				a.param(d, n, c, cr-1)
			}
		}
	case !out && port == 0 && k.axis == 1:
		wa := 0
		if transB {
			wa = 1
		}
		a.member(d, n, w, Sink, wa)
	default:
		a.block(d, "%s: channels on the batch dimension", n)
	}
}

func (a *analyzer) conv(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	w := a.weight(d, n, 0)
	if w == nil {
		return
	}
	wd := w.Const().Dims()
	if len(wd) < 3 || k.axis != 1 || port > 0 && !out {
		a.block(d, "%s: channels on a batch or spatial dimension", n)
		return
	}
	group := n.AttrInt("group", 1)
	switch {
	case group == 1 && out:
		a.member(d, n, w, Source, 0)
		a.sources[d] = append(a.sources[d], n)
		a.param(d, n, n.Input(2), 0)
	case group == 1:
		a.member(d, n, w, Sink, 1)
	case wd[1] == 1 && wd[0] == group:
		// Depthwise with multiplier 1: channel c in, channel c out.
		if out {
			a.tie(d, n.Input(0), 1)
		} else {
			a.tie(d, n.Output(0), 1)
		}
		a.member(d, n, w, Through, 0)
		a.param(d, n, n.Input(2), 0)
		a.dw[d] = append(a.dw[d], n)
	default:
		a.block(d, "%s: grouped convolution (group=%d) is not followed", n, group)
	}
}

func (a *analyzer) transpose(d int, n *graph.Node, out bool) {
	k := a.dims[d]
	r := a.shapes.rank(n.Input(0))
	perm := n.AttrInts("perm")
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		a.block(d, "%s: perm does not match the rank", n)
		return
	}
	for j, p := range perm {
		if out && j == k.axis {
			a.tie(d, n.Input(0), int(p))
			return
		}
		if !out && int(p) == k.axis {
			a.tie(d, n.Output(0), j)
			return
		}
	}
	a.block(d, "%s: bad perm", n)
}

func (a *analyzer) concat(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	y := n.Output(0)
	r := a.shapes.rank(y)
	ax := int(n.AttrInt("axis", 0))
	if ax < 0 {
		ax += r
	}
	if k.axis != ax {
		for _, x := range n.Inputs() {
			a.tie(d, x, k.axis)
		}
		a.tie(d, y, k.axis)
		return
	}
	var off int64
	for i, x := range n.Inputs() {
		s := a.size(x, ax)
		if s < 0 {
			a.block(d, "%s: size of input %s along the axis is unknown", n, x.Name)
			return
		}
		if out || i == port {
			a.derive(a.get(x, ax), y, ax, off, 1)
		}
		off += s
	}
}

func (a *analyzer) flatten(d int, n *graph.Node, out bool) {
	k := a.dims[d]
	x := a.shapes.get(n.Input(0))
	f := int(n.AttrInt("axis", 1))
	if f < 0 {
		f += len(x)
	}
	if f < 0 || f > len(x) || k.axis >= len(x) && !out {
		a.block(d, "%s: axis %d out of range for rank %d", n, f, len(x))
		return
	}
	if out {
		if k.axis == 0 && f == 1 {
			a.tie(d, n.Input(0), 0)
			return
		}
		// Reached from below: only a one-to-one mapping is followed.
		want := a.size(k.v, k.axis)
		for ax := f; ax < len(x) && k.axis == 1; ax++ {
			if x[ax] == want && prod(x[f:]) == want {
				a.tie(d, n.Input(0), ax)
				return
			}
		}
		if len(a.segs[d]) == 0 {
			a.block(d, "%s: cannot follow Flatten backwards", n)
		}
		return
	}
	if k.axis < f {
		if k.axis == 0 && f == 1 {
			a.tie(d, n.Output(0), 0)
			return
		}
		a.block(d, "%s: channels merge with other leading dimensions", n)
		return
	}
	if prod(x[f:k.axis]) != 1 || prod(x[k.axis+1:]) < 1 {
		a.block(d, "%s: channels are not the outer dimension of what is flattened", n)
		return
	}
	block := prod(x[k.axis+1:])
	if block == 1 {
		a.tie(d, n.Output(0), 1)
		return
	}
	a.derive(d, n.Output(0), 1, 0, block)
}

// reshape follows a Reshape with a constant shape that keeps the channels
// as the outer part of one output dimension.
func (a *analyzer) reshape(d int, n *graph.Node, port int, out bool) {
	k := a.dims[d]
	if port != 0 {
		a.block(d, "%s: channels reach the shape input", n)
		return
	}
	c := n.Input(1).Const()
	if c == nil {
		a.block(d, "%s: the target shape is computed at run time", n)
		return
	}
	shape, err := int64s(c)
	if err != nil {
		a.block(d, "%s: %v", n, err)
		return
	}
	x := a.shapes.get(n.Input(0))
	y := a.shapes.get(n.Output(0))
	if x == nil || y == nil {
		a.block(d, "%s: shapes unknown", n)
		return
	}
	if out {
		if len(a.segs[d]) == 0 {
			// Reached from below: follow one-to-one mappings only.
			if k.axis < len(x) && x[k.axis] == y[k.axis] && prod(x[k.axis:]) == prod(y[k.axis:]) && prod(x[k.axis:]) > 0 && equalPrefix(x, y, k.axis) {
				a.tie(d, n.Input(0), k.axis)
				return
			}
			a.block(d, "%s: cannot follow Reshape backwards", n)
		}
		return
	}
	// Find the output axis whose outer part is the channel axis: the
	// dimensions before it match exactly, and the channel dimension times
	// what follows it in the input fills it.
	ax := k.axis
	if !equalPrefix(x, y, ax) || ax >= len(y) {
		a.block(d, "%s: the dimensions before the channels change", n)
		return
	}
	inner := prod(x[ax+1:])
	after := prod(y[ax+1:])
	if inner < 1 || after < 1 || inner%after != 0 || y[ax] != x[ax]*(inner/after) {
		a.block(d, "%s: the channels are not the outer part of one output dimension", n)
		return
	}
	block := inner / after
	if shape[ax] > 0 {
		a.rs[d] = append(a.rs[d], reshapeEntry{Node: n, Index: ax, Slice: Slice{Axis: ax, Block: block}})
	} else if shape[ax] == 0 && block != 1 {
		a.block(d, "%s: shape entry 0 copies a size that changes", n)
		return
	}
	if block == 1 {
		a.tie(d, n.Output(0), ax)
		return
	}
	a.derive(d, n.Output(0), ax, 0, block)
}

// equalPrefix reports whether x and y agree on their first k dimensions
// (unknown sizes agree with each other only at axis 0, the batch).
func equalPrefix(x, y []int64, k int) bool {
	if k > len(x) || k > len(y) {
		return false
	}
	for i := 0; i < k; i++ {
		if x[i] != y[i] || x[i] < 0 && i > 0 {
			return false
		}
	}
	return true
}

// class gathers the dimensions of one union-find root.
type class struct {
	dims      []int
	members   []Member
	values    []ValueDim
	dw        []*graph.Node
	rs        []reshapeEntry
	reasons   []string
	sources   []*graph.Node
	derived   []seg // where a derived class's indices come from
	first     int   // earliest source position, for ordering
	size      int64
	sizeClash string
}

func (a *analyzer) finish(order []*graph.Node) *Analysis {
	classes := map[int]*class{}
	var roots []int
	for id := range a.dims {
		r := a.find(id)
		c := classes[r]
		if c == nil {
			c = &class{first: len(order) + 1, size: -1}
			classes[r] = c
			roots = append(roots, r)
		}
		k := a.dims[id]
		c.dims = append(c.dims, id)
		c.members = append(c.members, a.members[id]...)
		c.values = append(c.values, ValueDim{Value: k.v, Slice: Slice{Axis: k.axis, Block: 1}})
		c.dw = append(c.dw, a.dw[id]...)
		c.rs = append(c.rs, a.rs[id]...)
		c.reasons = append(c.reasons, a.reasons[id]...)
		for _, s := range a.sources[id] {
			c.sources = append(c.sources, s)
			c.first = min(c.first, a.pos[s])
		}
		for s := range a.segs[id] {
			c.derived = append(c.derived, s)
		}
		s := a.size(k.v, k.axis)
		if len(a.segs[id]) == 0 {
			if c.size < 0 {
				c.size = s
			} else if s != c.size && c.sizeClash == "" {
				c.sizeClash = fmt.Sprintf("%s has %d channels where others have %d", k.v.Name, s, c.size)
			}
		}
	}
	// A derived class (a Concat or Flatten output) passes its members on
	// to the classes its indices come from, at their offsets.
	type part struct {
		c             *class
		offset, block int64
	}
	var resolve func(c *class, depth int) []part
	resolve = func(c *class, depth int) []part {
		if len(c.derived) == 0 || depth > 64 {
			return []part{{c, 0, 1}}
		}
		var out []part
		for _, s := range c.derived {
			for _, p := range resolve(classes[a.find(s.from)], depth+1) {
				out = append(out, part{p.c, s.offset + p.offset*s.block, p.block * s.block})
			}
		}
		return out
	}
	for _, r := range roots {
		c := classes[r]
		if len(c.derived) == 0 {
			continue
		}
		why := ""
		switch {
		case len(c.reasons) > 0:
			why = c.reasons[0]
		case len(c.sources) > 0:
			why = "a Concat or Flatten output is also produced by " + c.sources[0].String()
		case len(c.dw) > 0 || len(c.rs) > 0:
			why = "a Concat or Flatten output meets a depthwise Conv or a Reshape"
		}
		for _, p := range resolve(c, 0) {
			base := p.c
			if why != "" {
				base.reasons = append(base.reasons, "its channels pass through a Concat or Flatten whose output is left alone: "+why)
				continue
			}
			compose := func(s Slice) Slice {
				return Slice{Axis: s.Axis, Offset: s.Offset + p.offset*s.Block, Block: p.block * s.Block}
			}
			for _, m := range c.members {
				m.Slice = compose(m.Slice)
				base.members = append(base.members, m)
			}
			for _, v := range c.values {
				v.Slice = compose(v.Slice)
				base.values = append(base.values, v)
			}
		}
	}
	an := &Analysis{Graph: a.g, shapes: a.shapes, order: order}
	sort.Slice(roots, func(i, j int) bool {
		ci, cj := classes[roots[i]], classes[roots[j]]
		if ci.first != cj.first {
			return ci.first < cj.first
		}
		return roots[i] < roots[j]
	})
	for _, r := range roots {
		c := classes[r]
		if len(c.derived) > 0 {
			continue
		}
		g := &Group{Size: c.size, Members: dedupMembers(c.members), Values: dedupValues(c.values), Depthwise: uniqueNodes(c.dw), Reshapes: c.rs}
		if len(c.sources) > 0 {
			g.Name = c.sources[0].Name()
			if g.Name == "" {
				g.Name = c.sources[0].String()
			}
		} else {
			g.Name = c.values[0].Value.Name
		}
		switch {
		case len(c.reasons) > 0:
			g.Reason = c.reasons[0]
		case c.sizeClash != "":
			g.Reason = c.sizeClash
		case len(c.sources) == 0:
			g.Reason = "no weight produces these channels"
		case c.size < 1:
			g.Reason = "the channel count is unknown"
		default:
			g.Reason = sharedMember(g)
		}
		an.Groups = append(an.Groups, g)
	}
	return an
}

// sharedMember returns a reason when a member constant is used by more
// nodes than the group accounts for (a weight shared with another layer).
func sharedMember(g *Group) string {
	seen := map[*graph.Value]bool{}
	for _, m := range g.Members {
		if seen[m.Value] {
			continue
		}
		seen[m.Value] = true
		if len(m.Value.Uses()) != 1 {
			return fmt.Sprintf("constant %s is shared by %d uses", m.Value.Name, len(m.Value.Uses()))
		}
	}
	return ""
}

// int64s reads an int64 (or int32) constant.
func int64s(t *graph.Tensor) ([]int64, error) {
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	switch t.DataType() {
	case int32(onnx.TensorProto_INT64):
		out := make([]int64, len(raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	case int32(onnx.TensorProto_INT32):
		out := make([]int64, len(raw)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("constant %s is %s, not an integer tensor", t.Name(), onnx.DataTypeName(t.DataType()))
}

func dedupMembers(ms []Member) []Member {
	type key struct {
		v *graph.Value
		s Slice
	}
	seen := map[key]bool{}
	var out []Member
	for _, m := range ms {
		if k := (key{m.Value, m.Slice}); !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

func dedupValues(vs []ValueDim) []ValueDim {
	seen := map[ValueDim]bool{}
	var out []ValueDim
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
