package convertfloat

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// Pass is the convert-float pass.
var Pass = &passes.Pass{
	Name: "convert-float",
	Doc:  "convert float weights and computation to float16, bfloat16 or float32 (Casts where an op must stay)",
	Options: []passes.Option{
		{Name: "to", Kind: passes.Enum, Values: []string{"float16", "bfloat16", "float32"}, Default: "float16", Doc: "the float type to convert to"},
		{Name: "keep-io", Kind: passes.Bool, Default: "true", Doc: "graph inputs and outputs keep their types (Casts at the boundary)"},
		{Name: "compute", Kind: passes.Enum, Values: []string{"native", "float32"}, Default: "native", Doc: "native: ops compute in the new type; float32: weights only, each behind a Cast"},
		{Name: "block", Kind: passes.List, Doc: "op types that keep their type, besides the built-in list"},
	},
	Check: func(a passes.Args) error {
		if a.String("compute") == "float32" && a.String("to") == "float32" {
			return fmt.Errorf("compute=float32 stores weights in a 16-bit type: use to=float16 or to=bfloat16")
		}
		return nil
	},
	Run: run,
	// Each constant is read, converted and released (in streaming mode its
	// new bytes go to the output's side file at once).
	Streams: true,
}

func init() { passes.Register(Pass) }

// Element types, short.
const (
	tFloat   = int32(onnx.TensorProto_FLOAT)
	tFloat16 = int32(onnx.TensorProto_FLOAT16)
	tBFloat  = int32(onnx.TensorProto_BFLOAT16)
)

var typeNames = map[string]int32{"float16": tFloat16, "bfloat16": tBFloat, "float32": tFloat}

// minWeightOnly is the smallest constant compute=float32 converts: below
// it a Cast node costs more than the bytes saved.
const minWeightOnly = 16

// converter holds one run's decisions.
type converter struct {
	m       *graph.Model
	to      int32
	keepIO  bool
	weights bool // compute=float32
	userBlk map[string]bool
	orig    map[*graph.Value]int32 // element types before the pass
	newT    map[*graph.Value]int32
	mode    map[*graph.Node]bool // true: computes in the target type
	reasons map[string]int       // "Op: reason" -> node count
	casts   map[castKey]*graph.Value
	touched map[*graph.Graph]bool
	clamped atomic.Int64
	threads int                    // for converting constants
	beyond  map[*graph.Tensor]bool // constants holding finite values beyond ±65504 (to=float16)
	nCasts  int
	nConsts int
}

type castKey struct {
	g  *graph.Graph
	v  *graph.Value
	to int32
}

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	c := &converter{
		m: m, to: typeNames[a.String("to")], keepIO: a.Bool("keep-io"), weights: a.String("compute") == "float32",
		threads: ctx.Threads, userBlk: map[string]bool{}, newT: map[*graph.Value]int32{}, mode: map[*graph.Node]bool{},
		reasons: map[string]int{}, casts: map[castKey]*graph.Value{}, touched: map[*graph.Graph]bool{},
	}
	if v := m.Opset(""); c.to == tBFloat && v < 13 {
		return fmt.Errorf("bfloat16 needs opset 13 or later (Cast and most ops accept bfloat16 from opset 13), but the model imports opset %d", v)
	}
	for _, op := range a.List("block") {
		c.userBlk[op] = true
	}
	orig, err := graph.ElemTypes(m.Graph)
	if err != nil {
		return err
	}
	c.orig = orig
	if c.to == tFloat16 {
		c.findBeyond()
	}
	m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			c.decide(n)
		}
	})
	m.Graph.Walk(func(g *graph.Graph) {
		if err == nil {
			err = c.convertConstants(g)
		}
	})
	if err != nil {
		return err
	}
	c.typeValues()
	m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range append([]*graph.Node(nil), g.Nodes...) {
			c.castInputs(n)
		}
	})
	m.Graph.Walk(func(g *graph.Graph) {
		if err == nil {
			err = c.fixOutputs(g)
		}
	})
	if err != nil {
		return err
	}
	c.describe()
	for g := range c.touched {
		if err := g.Sort(); err != nil {
			return err
		}
	}
	c.report(ctx)
	return nil
}

// source reports whether dt is a float type the pass converts from.
func (c *converter) source(dt int32) bool {
	return dt != c.to && (dt == tFloat || dt == tFloat16 || dt == tBFloat)
}

// decide chooses whether n computes in the target type.
func (c *converter) decide(n *graph.Node) {
	op := n.OpType()
	if op == "Constant" && n.Domain() == "" {
		return // a constant: see convertConstants
	}
	involved := false
	for _, v := range append(append([]*graph.Value(nil), n.Inputs()...), n.Outputs()...) {
		if v != nil && c.source(c.orig[v]) {
			involved = true
		}
	}
	if op == "Cast" && c.source(int32(n.AttrInt("to", 0))) {
		involved = true
	}
	if !involved {
		return
	}
	reason := ""
	switch {
	case c.weights:
		return // compute=float32: no op changes
	case n.Domain() != "" && n.Domain() != "ai.onnx":
		reason = "custom domain " + n.Domain()
	case len(n.Subgraphs) > 0:
		reason = "holds subgraphs (converted inside)"
	case c.userBlk[op]:
		reason = "listed in block="
	case c.to != tFloat && blocked[op] != "":
		reason = blocked[op]
	case c.to == tFloat16 && !float16Ops[op]:
		reason = "no float16 kernel in ONNX Runtime's CPU provider"
	case c.to == tBFloat && !bfloat16Ops[op]:
		reason = "no bfloat16 kernel in ONNX Runtime's CPU provider"
	}
	if reason == "" {
		for _, v := range n.Inputs() {
			if v != nil && c.orig[v] == 0 {
				reason = "an input's type is unknown"
			}
		}
	}
	if reason == "" && c.keepIO && c.to != tFloat && outputActivations[op] && feedsMainOutput(n) {
		reason = "computes a float32 graph output (keeps small probabilities exact)"
	}
	if reason == "" && c.to == tFloat16 && op != "Clip" {
		// Clamping a Clip bound changes nothing in float16; clamping any
		// other weight would (a BatchNormalization variance of 1e7).
		for _, v := range n.Inputs() {
			if t := v.Const(); t != nil && c.beyond[t] {
				reason = "a weight exceeds the float16 range (±65504)"
			}
		}
	}
	if reason != "" {
		c.reasons[op+": "+reason]++
		return
	}
	c.mode[n] = true
}

// feedsMainOutput reports whether an output of n is a main-graph output.
func feedsMainOutput(n *graph.Node) bool {
	if n.Graph().Parent != nil {
		return false
	}
	for _, v := range n.Outputs() {
		for _, o := range n.Graph().Outputs {
			if v != nil && o == v {
				return true
			}
		}
	}
	return false
}

// want is the type input i of n must have after the pass.
func (c *converter) want(n *graph.Node, i int) int32 {
	v := n.Input(i)
	if anyInput[n.OpType()] {
		return c.typeOf(v)
	}
	if c.mode[n] && c.source(c.orig[v]) && !slotIn(keepInputs[n.OpType()], i) {
		return c.to
	}
	return c.orig[v]
}

func (c *converter) typeOf(v *graph.Value) int32 {
	if t, ok := c.newT[v]; ok {
		return t
	}
	return c.orig[v]
}

// convertConstants converts g's float constants that only converted uses
// read (compute=float32: all large enough ones).
func (c *converter) convertConstants(g *graph.Graph) error {
	var consts []*graph.Value
	for _, v := range g.Initializers {
		if !v.IsInput() {
			consts = append(consts, v)
		}
	}
	for _, n := range g.Nodes {
		if n.OpType() == "Constant" && n.Domain() == "" && n.Output(0).Const() != nil {
			consts = append(consts, n.Output(0))
		}
	}
	var todo []*graph.Tensor
	for _, v := range consts {
		t := v.Const()
		if !c.source(t.DataType()) || len(v.Uses()) == 0 || v.IsOutput() {
			continue
		}
		ok := true
		if c.weights {
			// A constant beyond the float16 range stays float32: no op
			// around it would absorb the clamping, as native mode's
			// float32 islands do.
			n, err := t.Elements()
			ok = err == nil && n >= minWeightOnly && !c.beyond[t]
		} else {
			for _, u := range v.Uses() {
				if c.want(u.Node, u.Index) != c.to {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		todo = append(todo, t)
		c.newT[v] = c.to
		if n, _ := v.Producer(); n != nil {
			v.SetElemType(c.to)
		}
	}
	if err := c.convertAll(todo); err != nil {
		return err
	}
	c.nConsts += len(todo)
	// ConstantOfShape's value attribute follows its output.
	for _, n := range g.Nodes {
		a := n.Attr("value")
		if n.OpType() != "ConstantOfShape" || !c.mode[n] || a == nil || a.GetT() == nil || !c.source(a.GetT().GetDataType()) {
			continue
		}
		t := graph.NewTensor(proto.Clone(a.GetT()).(*onnx.TensorProto))
		if err := c.convertTensors([]*graph.Tensor{t}); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		c.nConsts++
		na := proto.Clone(a).(*onnx.AttributeProto)
		na.T = t.Proto
		n.SetAttr(na)
	}
	return nil
}

// typeValues sets the new type of graph inputs (keep-io=false) and of the
// outputs of converted nodes.
func (c *converter) typeValues() {
	if !c.keepIO && !c.weights {
		for _, v := range c.m.Graph.Inputs {
			if v.Tensor == nil && c.source(c.orig[v]) {
				c.newT[v] = c.to
			}
		}
	}
	c.m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if !c.mode[n] {
				continue
			}
			for k, v := range n.Outputs() {
				if v != nil && c.source(c.orig[v]) && !slotIn(keepOutputs[n.OpType()], k) {
					c.newT[v] = c.to
				}
			}
			if n.OpType() == "Cast" && c.source(int32(n.AttrInt("to", 0))) {
				n.SetAttr(&onnx.AttributeProto{Name: proto.String("to"), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(int64(c.to))})
			}
		}
	})
}

// castInputs gives each input of n the type n wants, through a Cast in
// n's graph (one per value and type).
func (c *converter) castInputs(n *graph.Node) {
	for i, v := range n.Inputs() {
		if v == nil {
			continue
		}
		have, want := c.typeOf(v), c.want(n, i)
		if have == want || !onnx.IsFloatWeight(have) || !onnx.IsFloatWeight(want) {
			continue
		}
		n.SetInput(i, c.cast(n.Graph(), v, want))
	}
}

// cast returns v converted to type to by a Cast node in g.
func (c *converter) cast(g *graph.Graph, v *graph.Value, to int32) *graph.Value {
	k := castKey{g, v, to}
	if w := c.casts[k]; w != nil {
		return w
	}
	name := v.Name + "_" + onnx.DataTypeName(to)
	n := g.NewNode("Cast", name+"_cast", []*graph.Value{v}, []string{name},
		&onnx.AttributeProto{Name: proto.String("to"), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(int64(to))})
	w := n.Output(0)
	c.orig[w], c.newT[w] = to, to
	c.casts[k] = w
	c.touched[g] = true
	c.nCasts++
	return w
}

// fixOutputs casts g's outputs back to their former type where they
// changed (always in subgraphs, whose owners keep their types; in the main
// graph with keep-io). A main-graph output keeps its name.
func (c *converter) fixOutputs(g *graph.Graph) error {
	if g.Parent == nil && !c.keepIO {
		return nil
	}
	for i, o := range g.Outputs {
		before, now := c.orig[o], c.typeOf(o)
		if before == now || !onnx.IsFloatWeight(before) || !onnx.IsFloatWeight(now) {
			continue
		}
		name := o.Name
		if o.Graph() == g {
			// The output's name moves to the Cast that restores its type.
			if err := g.RenameValue(o, g.Model.UniqueName(name+"_"+onnx.DataTypeName(now))); err != nil {
				return err
			}
		}
		w := c.cast(g, o, before)
		if o.Graph() == g {
			if err := g.RenameValue(w, name); err != nil {
				return err
			}
			if o.Info != nil {
				w.Info, o.Info = o.Info, nil
			}
		}
		g.Outputs[i] = w
	}
	return nil
}

// describe updates the descriptors of values whose type changed.
func (c *converter) describe() {
	for v, t := range c.newT {
		if t != c.orig[v] && v.Tensor == nil && v.Info != nil {
			v.SetElemType(t)
		}
	}
}

func (c *converter) report(ctx *passes.Context) {
	ctx.Report.TensorsTouched = c.nConsts
	ctx.Set("to", onnx.DataTypeName(c.to))
	ctx.Set("constants_converted", c.nConsts)
	ctx.Set("casts_inserted", c.nCasts)
	if c.to == tFloat16 {
		ctx.Set("values_clamped", c.clamped.Load())
		if c.clamped.Load() > 0 {
			ctx.Note("%d weight values beyond the float16 range were clamped to ±65504", c.clamped.Load())
		}
	}
	ctx.Set("nodes_converted", len(c.mode))
	kept := 0
	var lines []string
	for r, k := range c.reasons {
		kept += k
		lines = append(lines, fmt.Sprintf("%d× %s", k, r))
	}
	sort.Strings(lines)
	ctx.Set("nodes_kept", kept)
	if len(lines) > 0 {
		ctx.Note("ops kept in their former type: %s", strings.Join(lines, "; "))
	}
	if c.weights {
		ctx.Note("compute=float32: weights stored as %s behind Casts, every op computes as before", onnx.DataTypeName(c.to))
	}
}
