package repair

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"google.golang.org/protobuf/proto"
)

// bias is where a layer's per-output bias lives: read returns it (zeros
// when there is none yet) and set writes it, creating the constant or the
// Add node on first write.
type bias struct {
	read func() ([]float32, error)
	set  func([]float32) error
}

// vectorConst reports whether v is a float32 constant of n values shaped
// [n] or [1, n], used once.
func vectorConst(v *graph.Value, n int) bool {
	t := v.Const()
	if t == nil || t.DataType() != int32(onnx.TensorProto_FLOAT) || len(v.Uses()) != 1 {
		return false
	}
	d := t.Dims()
	return len(d) == 1 && d[0] == int64(n) || len(d) == 2 && d[0] == 1 && d[1] == int64(n)
}

func floatVector(v []float32) *onnx.TensorProto {
	p := &onnx.TensorProto{Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT))}
	onnx.SetFloat32s(p, v)
	return p
}

// inPlace reads and writes the constant v (scaled: the layer adds
// scale·v, Gemm's beta).
func inPlace(v *graph.Value, scale float32) bias {
	return bias{
		read: func() ([]float32, error) {
			b, err := v.Const().Float32s()
			out := make([]float32, len(b))
			for i, x := range b {
				out[i] = x * scale
			}
			return out, err
		},
		set: func(b []float32) error {
			dst, err := v.Const().MutableFloat32s()
			if err != nil {
				return err
			}
			for i, x := range b {
				dst[i] = x / scale
			}
			return nil
		},
	}
}

// biasOf finds l's bias. Gemm and Conv: their third input (a new or a
// private copy when missing or shared). MatMul: the vector constant of the
// Add that is its only use, else a new Add after it.
func biasOf(g *graph.Graph, l *layer) (bias, error) {
	n, rows := l.node, l.rows
	zeros := func() ([]float32, error) { return make([]float32, rows), nil }
	switch n.OpType() {
	case "Gemm", "Conv":
		scale := float32(1)
		if n.OpType() == "Gemm" {
			scale = n.AttrFloat("beta", 1)
		}
		b := n.Input(2)
		if b != nil && vectorConst(b, rows) && scale != 0 {
			return inPlace(b, scale), nil
		}
		if b != nil && b.Const() == nil {
			return bias{}, fmt.Errorf("bias %s is not a constant", b.Name)
		}
		if b != nil && (b.Const().DataType() != int32(onnx.TensorProto_FLOAT) || scale == 0) {
			return bias{}, fmt.Errorf("bias %s is not a float32 vector of %d values", b.Name, rows)
		}
		// Missing, shared or broadcast: a private [rows] vector.
		read := zeros
		if b != nil {
			read = func() ([]float32, error) {
				v, err := b.Const().Float32s()
				if err != nil {
					return nil, err
				}
				out := make([]float32, rows)
				for i := range out {
					switch len(v) {
					case 1:
						out[i] = v[0] * scale
					case rows:
						out[i] = v[i] * scale
					default:
						return nil, fmt.Errorf("bias %s has %d values for %d outputs", b.Name, len(v), rows)
					}
				}
				return out, nil
			}
		}
		return bias{read: read, set: func(v []float32) error {
			if n.OpType() == "Gemm" {
				scale := n.AttrFloat("beta", 1)
				v = append([]float32(nil), v...)
				for i := range v {
					v[i] /= scale
				}
			}
			n.SetInput(2, g.NewInitializer(l.weight.Name+"_repair_bias", floatVector(v)))
			return nil
		}}, nil
	}
	y := n.Output(0)
	if b := passes.AddedConstant(y); b != nil && vectorConst(b, rows) {
		return inPlace(b, 1), nil
	}
	return bias{read: zeros, set: func(v []float32) error {
		b := g.NewInitializer(l.weight.Name+"_repair_bias", floatVector(v))
		add := g.NewNode("Add", n.Name()+"_repair_bias", []*graph.Value{y, b}, []string{y.Name + "_repaired"})
		if t := y.Type(); t != nil {
			add.Output(0).SetType(t)
		}
		for _, u := range append([]graph.Use(nil), y.Uses()...) {
			if u.Node != add {
				u.Node.SetInput(u.Index, add.Output(0))
			}
		}
		if y.IsOutput() {
			// The model's output keeps its name: the Add takes it over.
			name, out := y.Name, add.Output(0)
			for i, o := range g.Outputs {
				if o == y {
					g.Outputs[i] = out
				}
			}
			if err := g.RenameValue(y, g.Model.UniqueName(name+"_unbiased")); err != nil {
				return err
			}
			if err := g.RenameValue(out, name); err != nil {
				return err
			}
		}
		return g.Sort()
	}}, nil
}
