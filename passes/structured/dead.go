package structured

import (
	"fmt"
	"math"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"google.golang.org/protobuf/proto"
)

// DeadNeurons removes channels that cannot influence the output.
var DeadNeurons = &passes.Pass{
	Name: "dead-neurons",
	Doc:  "remove neurons that cannot influence the output (zero incoming or outgoing weights), folding constant ones into the next bias",
	Run:  runDead,
}

// deadKind says why a channel is dead.
type deadKind int

const (
	zeroOut   deadKind = iota // every weight reading it is zero
	zeroConst                 // zero incoming weights; its value is 0 where it is read
	folded                    // zero incoming weights; its constant value went into the next bias
)

func runDead(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
	an, err := Analyze(m)
	if err != nil {
		return err
	}
	// Phase 1: find dead channels and fold constant ones into the next
	// layers' biases (which may add bias tensors and Add nodes).
	dead := map[*graph.Value][]int64{} // keyed by the group's first source weight
	var counts [3]int
	var reports []GroupReport
	folds := newFolder(an.Graph)
	for _, g := range an.Groups {
		if g.Reason != "" {
			ctx.Skip(g.Name, "%s", g.Reason)
			continue
		}
		key := firstSource(g)
		if key == nil {
			continue
		}
		chans, kinds, why, err := findDead(an, g, folds)
		if err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
		for _, w := range why {
			ctx.Note("group %s: %s", g.Name, w)
		}
		if len(chans) == 0 {
			continue
		}
		if int64(len(chans)) >= g.Size {
			// Keep one channel: a layer of width zero is not valid ONNX.
			chans = chans[1:]
			kinds = kinds[1:]
		}
		for _, k := range kinds {
			counts[k]++
		}
		dead[key] = chans
		reports = append(reports, GroupReport{Name: g.Name, Before: g.Size, After: g.Size - int64(len(chans))})
	}
	if err := folds.apply(); err != nil {
		return err
	}
	// Phase 2: analyze the (possibly changed) graph again and remove.
	an, err = Analyze(m)
	if err != nil {
		return err
	}
	remove := map[*Group][]int64{}
	for _, g := range an.Groups {
		if ch, ok := dead[firstSource(g)]; ok && g.Reason == "" {
			remove[g] = ch
			delete(dead, firstSource(g))
		}
	}
	if len(dead) > 0 {
		return fmt.Errorf("internal: %d groups changed while folding constants", len(dead))
	}
	if err := an.Remove(remove); err != nil {
		return err
	}
	if err := m.Graph.Sort(); err != nil {
		return err
	}
	for _, r := range reports {
		ctx.Note("group %s: %d -> %d channels", r.Name, r.Before, r.After)
	}
	ctx.Set("groups", reports)
	ctx.Set("dead_zero_outgoing", counts[zeroOut])
	ctx.Set("dead_zero_incoming", counts[zeroConst])
	ctx.Set("dead_constant_folded", counts[folded])
	return nil
}

func firstSource(g *Group) *graph.Value {
	for _, m := range g.Members {
		if m.Role == Source {
			return m.Value
		}
	}
	return nil
}

// findDead returns g's dead channels and why each is dead; constant
// channels are queued in f for folding. why lists channels that look dead
// but are kept, with the reason.
func findDead(an *Analysis, g *Group, f *folder) (chans []int64, kinds []deadKind, why []string, err error) {
	sums := map[*graph.Value]map[int][]float64{}
	sliceZero := func(m Member, c int64) (bool, error) {
		if sums[m.Value] == nil {
			sums[m.Value] = map[int][]float64{}
		}
		per := sums[m.Value][m.Axis]
		if per == nil {
			if per, err = axisSums(m.Value, m.Axis, false); err != nil {
				return false, err
			}
			sums[m.Value][m.Axis] = per
		}
		for j := int64(0); j < m.Block; j++ {
			if i := m.Offset + c*m.Block + j; i >= int64(len(per)) {
				return false, fmt.Errorf("%s: index %d beyond axis %d", m.Value.Name, i, m.Axis)
			}
			if per[m.Offset+c*m.Block+j] != 0 {
				return false, nil
			}
		}
		return true, nil
	}
	all := func(role Role, c int64) (bool, int, error) {
		n := 0
		for _, m := range g.Members {
			if m.Role != role {
				continue
			}
			n++
			z, err := sliceZero(m, c)
			if err != nil || !z {
				return false, n, err
			}
		}
		return true, n, nil
	}
	for c := int64(0); c < g.Size; c++ {
		out, nOut, err := all(Sink, c)
		if err != nil {
			return nil, nil, nil, err
		}
		if nOut == 0 {
			return nil, nil, nil, nil // the channels are read by nothing we know
		}
		if out {
			chans, kinds = append(chans, c), append(kinds, zeroOut)
			continue
		}
		in, _, err := all(Source, c)
		if err != nil {
			return nil, nil, nil, err
		}
		if !in {
			continue
		}
		at, reason := constantChannel(an, g, c)
		if reason != "" {
			why = append(why, fmt.Sprintf("channel %d has zero incoming weights but is kept: %s", c, reason))
			continue
		}
		zero := true
		for _, k := range at {
			zero = zero && k == 0
		}
		if zero {
			chans, kinds = append(chans, c), append(kinds, zeroConst)
			continue
		}
		if reason := f.canFold(g, at); reason != "" {
			why = append(why, fmt.Sprintf("channel %d is a constant but is kept: %s", c, reason))
			continue
		}
		if err := f.fold(g, c, at); err != nil {
			return nil, nil, nil, err
		}
		chans, kinds = append(chans, c), append(kinds, folded)
	}
	return chans, kinds, why, nil
}

// constantChannel evaluates channel c of g, whose producing weights are
// all zero, through the group's ops and returns its constant value at the
// input of each sink node; reason is set when it cannot be proved
// constant.
func constantChannel(an *Analysis, g *Group, c int64) (map[*graph.Node]float64, string) {
	inGroup := map[*graph.Value]int{}
	for _, v := range g.Values {
		if v.Offset != 0 || v.Block != 1 {
			return nil, "it passes through a Concat or Flatten"
		}
		inGroup[v.Value] = v.Axis
	}
	params := map[*graph.Value]Member{}
	for _, m := range g.Members {
		if m.Role == Param {
			params[m.Value] = m
		}
	}
	pos := map[*graph.Node]int{}
	for i, n := range an.order {
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
		if m.Role == Sink {
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
	data, err := t.Float32s()
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
	if t.DataType() != int32(onnx.TensorProto_FLOAT) {
		return math.NaN()
	}
	data, err := t.Float32s()
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
	data, err := t.Float32s()
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

// folder accumulates the constant contributions of dead channels to the
// biases of the layers that read them.
type folder struct {
	g     *graph.Graph
	delta map[*graph.Node][]float64
	order []*graph.Node
}

func newFolder(g *graph.Graph) *folder { return &folder{g: g, delta: map[*graph.Node][]float64{}} }

// canFold says why the constant channel cannot go into the sinks' biases
// ("" when it can).
func (f *folder) canFold(g *Group, at map[*graph.Node]float64) string {
	for _, m := range g.Members {
		if m.Role != Sink {
			continue
		}
		n := m.Node
		switch n.OpType() {
		case "MatMul":
			if y := n.Output(0); y.IsOutput() && !hasBiasAdd(y) {
				return fmt.Sprintf("%s has no bias and its output is a graph output", n)
			}
		case "Gemm":
			if n.AttrFloat("beta", 1) == 0 {
				return fmt.Sprintf("%s has beta=0", n)
			}
			if c := n.Input(2); c != nil && !foldableBias(c, 0) {
				return fmt.Sprintf("%s: bias %s is not a private [N] constant", n, c.Name)
			}
		case "Conv":
			if !allZero(n.AttrInts("pads")) || n.AttrString("auto_pad", "NOTSET") != "NOTSET" {
				return fmt.Sprintf("%s pads its input, so a constant channel is not constant at the borders", n)
			}
			if c := n.Input(2); c != nil && !foldableBias(c, 0) {
				return fmt.Sprintf("%s: bias %s is not a private constant", n, c.Name)
			}
		default:
			return fmt.Sprintf("%s cannot take a folded bias", n)
		}
	}
	return ""
}

// hasBiasAdd reports whether y's only use is an Add with a private
// per-output constant.
func hasBiasAdd(y *graph.Value) bool { return biasAdd(y) != nil }

func biasAdd(y *graph.Value) *graph.Value {
	if len(y.Uses()) != 1 || y.IsOutput() {
		return nil
	}
	u := y.Uses()[0]
	if u.Node.OpType() != "Add" || u.Node.Domain() != "" {
		return nil
	}
	b := u.Node.Input(1 - u.Index)
	if b == nil || !foldableBias(b, 0) {
		return nil
	}
	if yd := b.Const().Dims(); len(yd) != 1 {
		return nil
	}
	return b
}

// foldableBias reports whether b is a float32 vector constant used once.
func foldableBias(b *graph.Value, _ int) bool {
	t := b.Const()
	if t == nil || t.DataType() != int32(onnx.TensorProto_FLOAT) || len(b.Uses()) != 1 {
		return false
	}
	d := t.Dims()
	return len(d) == 1 || len(d) == 2 && d[0] == 1
}

// fold adds channel c's constant contribution to each sink's bias delta.
func (f *folder) fold(g *Group, c int64, at map[*graph.Node]float64) error {
	for _, m := range g.Members {
		if m.Role != Sink {
			continue
		}
		k := at[m.Node]
		t := m.Value.Const()
		data, err := t.Float32s()
		if err != nil {
			return fmt.Errorf("weight %s: %w", m.Value.Name, err)
		}
		d := t.Dims()
		// The output channel axis of the sink's weight.
		outAxis := 0
		if m.Node.OpType() == "MatMul" || m.Node.OpType() == "Gemm" && m.Axis == 0 {
			outAxis = 1
		}
		nOut := d[outAxis]
		delta := f.delta[m.Node]
		if delta == nil {
			delta = make([]float64, nOut)
			f.delta[m.Node] = delta
			f.order = append(f.order, m.Node)
		}
		inner := prod(d[m.Axis+1:])
		outInner := prod(d[outAxis+1:])
		for i, x := range data {
			if x == 0 {
				continue
			}
			if idx := (int64(i) / inner) % d[m.Axis]; idx != c {
				continue
			}
			o := (int64(i) / outInner) % nOut
			delta[o] += k * float64(x)
		}
	}
	return nil
}

// apply writes the accumulated deltas into the sinks' biases, creating
// them where missing.
func (f *folder) apply() error {
	for _, n := range f.order {
		delta := f.delta[n]
		switch n.OpType() {
		case "MatMul":
			y := n.Output(0)
			if b := biasAdd(y); b != nil {
				if err := addInto(b, delta, 1); err != nil {
					return err
				}
				continue
			}
			b := f.g.NewInitializer(y.Name+"_folded_bias", vector(delta, 1))
			add := f.g.NewNode("Add", n.Name()+"_folded_bias", []*graph.Value{y, b}, []string{y.Name + "_biased"})
			for _, u := range append([]graph.Use(nil), y.Uses()...) {
				if u.Node != add {
					u.Node.SetInput(u.Index, add.Output(0))
				}
			}
		case "Gemm", "Conv":
			scale := 1.0
			if n.OpType() == "Gemm" {
				scale = 1 / float64(n.AttrFloat("beta", 1))
			}
			if b := n.Input(2); b != nil {
				if err := addInto(b, delta, scale); err != nil {
					return err
				}
				continue
			}
			n.SetInput(2, f.g.NewInitializer(n.Name()+"_folded_bias", vector(delta, scale)))
		}
	}
	return nil
}

func vector(delta []float64, scale float64) *onnx.TensorProto {
	v := make([]float32, len(delta))
	for i, x := range delta {
		v[i] = float32(x * scale)
	}
	p := &onnx.TensorProto{Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT))}
	onnx.SetFloat32s(p, v)
	return p
}

// addInto adds delta*scale to bias constant b (replacing its tensor).
func addInto(b *graph.Value, delta []float64, scale float64) error {
	t := b.Const()
	data, err := t.Float32s()
	if err != nil {
		return fmt.Errorf("bias %s: %w", b.Name, err)
	}
	if len(data) != len(delta) {
		return fmt.Errorf("bias %s has %d values, the layer %d outputs", b.Name, len(data), len(delta))
	}
	v := make([]float32, len(data))
	for i := range data {
		v[i] = float32(float64(data[i]) + delta[i]*scale)
	}
	p := &onnx.TensorProto{Name: proto.String(b.Name), Dims: append([]int64(nil), t.Dims()...), DataType: proto.Int32(int32(onnx.TensorProto_FLOAT))}
	onnx.SetFloat32s(p, v)
	return replaceConstant(b, p)
}
