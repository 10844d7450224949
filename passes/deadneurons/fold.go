package deadneurons

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/channels"
	"google.golang.org/protobuf/proto"
)

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
func (f *folder) canFold(g *channels.Group, at map[*graph.Node]float64) string {
	for _, m := range g.Members {
		if m.Role != channels.Sink {
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
	b := passes.AddedConstant(y)
	if b == nil || !foldableBias(b, 0) {
		return nil
	}
	if yd := b.Const().Dims(); len(yd) != 1 {
		return nil
	}
	return b
}

// foldableBias reports whether b is a float (32- or 16-bit) vector
// constant used once.
func foldableBias(b *graph.Value, _ int) bool {
	t := b.Const()
	if t == nil || !channels.IsFloatParam(t) || len(b.Uses()) != 1 {
		return false
	}
	d := t.Dims()
	return len(d) == 1 || len(d) == 2 && d[0] == 1
}

// fold adds channel c's constant contribution to each sink's bias delta.
func (f *folder) fold(g *channels.Group, c int64, at map[*graph.Node]float64) error {
	for _, m := range g.Members {
		if m.Role != channels.Sink {
			continue
		}
		k := at[m.Node]
		t := m.Value.Const()
		data, err := t.Floats()
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
		inner, err := onnx.NumElements(d[m.Axis+1:])
		if err != nil {
			return fmt.Errorf("weight %s: %w", m.Value.Name, err)
		}
		outInner, err := onnx.NumElements(d[outAxis+1:])
		if err != nil {
			return fmt.Errorf("weight %s: %w", m.Value.Name, err)
		}
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
			p, err := vector(delta, 1, weightType(n))
			if err != nil {
				return fmt.Errorf("bias for %s: %w", n, err)
			}
			b := f.g.NewInitializer(y.Name+"_folded_bias", p)
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
			p, err := vector(delta, scale, weightType(n))
			if err != nil {
				return fmt.Errorf("bias for %s: %w", n, err)
			}
			n.SetInput(2, f.g.NewInitializer(n.Name()+"_folded_bias", p))
		}
	}
	return nil
}

// vector is a new bias constant delta*scale of type dt.
func vector(delta []float64, scale float64, dt int32) (*onnx.TensorProto, error) {
	v := make([]float32, len(delta))
	for i, x := range delta {
		v[i] = float32(x * scale)
	}
	raw, err := onnx.EncodeFloats(dt, v)
	if err != nil {
		return nil, err
	}
	p := &onnx.TensorProto{Dims: []int64{int64(len(v))}, DataType: proto.Int32(dt)}
	onnx.SetRaw(p, raw)
	return p, nil
}

// weightType is the element type of sink n's weight (input 1), which its
// bias must share.
func weightType(n *graph.Node) int32 {
	if c := n.Input(1).Const(); c != nil {
		return c.DataType()
	}
	return int32(onnx.TensorProto_FLOAT)
}

// addInto adds delta*scale to bias constant b (replacing its tensor).
func addInto(b *graph.Value, delta []float64, scale float64) error {
	t := b.Const()
	data, err := t.Floats()
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
	raw, err := onnx.EncodeFloats(t.DataType(), v)
	if err != nil {
		return fmt.Errorf("bias %s: %w", b.Name, err)
	}
	p := &onnx.TensorProto{Name: proto.String(b.Name), Dims: append([]int64(nil), t.Dims()...), DataType: proto.Int32(t.DataType())}
	onnx.SetRaw(p, raw)
	return channels.ReplaceConstant(b, p)
}
