package diff

import (
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// mlp builds a small MLP in IR form; each call returns a fresh model that
// shares no bytes with another.
func mlp(t *testing.T) *graph.Model {
	t.Helper()
	m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Classes: 8, Seed: 7}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCompare(t *testing.T, a, b *graph.Model) *Result {
	t.Helper()
	r, err := Compare(a, b, "before.onnx", "after.onnx")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// matMulWeights returns the weight inputs of m's MatMul nodes.
func matMulWeights(m *graph.Model) []*graph.Value {
	var out []*graph.Value
	for _, n := range m.Graph.Nodes {
		if n.OpType() == "MatMul" && isConstant(n.Input(1)) {
			out = append(out, n.Input(1))
		}
	}
	return out
}

// pruneHalf zeroes the smaller-magnitude half of w (by a median split).
func pruneHalf(t *testing.T, w *graph.Value) {
	t.Helper()
	v, err := w.Tensor.MutableFloat32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if i%2 == 0 {
			v[i] = 0
		}
	}
}

func tensorByName(r *Result, name string) *TensorDiff {
	for _, t := range r.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// quantizeInt8 replaces MatMul weight w (in [K, N]) of n by
// DequantizeLinear(int8, per-column scale, axis=1) and returns the largest
// scale used.
func quantizeInt8(t *testing.T, m *graph.Model, n *graph.Node) float32 {
	t.Helper()
	w := n.Input(1)
	f, err := w.Tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	K, N := w.Tensor.Dims()[0], w.Tensor.Dims()[1]
	sc := make([]float32, N)
	var maxScale float32
	for c := int64(0); c < N; c++ {
		var mx float32
		for k := int64(0); k < K; k++ {
			mx = max(mx, float32(math.Abs(float64(f[k*N+c]))))
		}
		sc[c] = mx / 127
		maxScale = max(maxScale, sc[c])
	}
	q := make([]byte, K*N)
	for i, x := range f {
		q[i] = byte(int8(math.Round(float64(x / sc[int64(i)%N]))))
	}
	dt8 := int32(onnx.TensorProto_INT8)
	qv := m.Graph.NewInitializer(w.Name+"_quantized", &onnx.TensorProto{Dims: []int64{K, N}, DataType: &dt8, RawData: q})
	sv := m.Graph.NewInitializer(w.Name+"_scale", tensorF32([]int64{N}, sc))
	one := int64(1)
	axis := &onnx.AttributeProto{Name: strPtr("axis"), Type: onnx.AttributeProto_INT.Enum(), I: &one}
	dq := m.Graph.NewNode("DequantizeLinear", w.Name+"_DequantizeLinear", []*graph.Value{qv, sv}, []string{w.Name + "_dequantized"}, axis)
	n.SetInput(1, dq.Output(0))
	if err := m.Graph.RemoveConstant(w); err != nil {
		t.Fatal(err)
	}
	if err := m.Graph.Sort(); err != nil {
		t.Fatal(err)
	}
	return maxScale
}

// quantizeNBits replaces MatMul n by com.microsoft MatMulNBits with 4-bit
// blocks (asymmetric, default zero point 8 when zero is false), renamed,
// with a renamed output; it returns the largest scale.
func quantizeNBits(t *testing.T, m *graph.Model, n *graph.Node, block int64) float32 {
	t.Helper()
	w := n.Input(1)
	f, err := w.Tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	K, N := w.Tensor.Dims()[0], w.Tensor.Dims()[1]
	nb := (K + block - 1) / block
	packed := make([]byte, N*nb*block/2)
	sc := make([]float32, N*nb)
	var maxScale float32
	for c := int64(0); c < N; c++ {
		for b := int64(0); b < nb; b++ {
			var mx float32
			for k := b * block; k < min((b+1)*block, K); k++ {
				mx = max(mx, float32(math.Abs(float64(f[k*N+c]))))
			}
			s := mx / 7
			sc[c*nb+b] = s
			maxScale = max(maxScale, s)
			for j := int64(0); j < block; j++ {
				k := b*block + j
				q := int64(8)
				if k < K && s > 0 {
					q = int64(math.Round(float64(f[k*N+c]/s))) + 8
				}
				packed[(c*nb+b)*block/2+j/2] |= byte(q&0xF) << (4 * (j % 2))
			}
		}
	}
	u8 := int32(onnx.TensorProto_UINT8)
	bv := m.Graph.NewInitializer("packed_"+w.Name, &onnx.TensorProto{Dims: []int64{N, nb, block / 2}, DataType: &u8, RawData: packed})
	sv := m.Graph.NewInitializer("scales_"+w.Name, tensorF32([]int64{N * nb}, sc))
	attrs := []*onnx.AttributeProto{intAttr("K", K), intAttr("N", N), intAttr("bits", 4), intAttr("block_size", block)}
	q := m.Graph.NewNode("MatMulNBits", "quantized_"+n.Name(), []*graph.Value{n.Input(0), bv, sv}, []string{"q_out_" + n.Output(0).Name}, attrs...)
	q.SetDomain("com.microsoft")
	n.Output(0).ReplaceAllUsesWith(q.Output(0))
	if err := m.Graph.RemoveNode(n); err != nil {
		t.Fatal(err)
	}
	if err := m.Graph.RemoveConstant(w); err != nil {
		t.Fatal(err)
	}
	if err := m.Graph.Sort(); err != nil {
		t.Fatal(err)
	}
	m.SetOpset("com.microsoft", 1)
	return maxScale
}

func tensorF32(dims []int64, v []float32) *onnx.TensorProto {
	dt := int32(onnx.TensorProto_FLOAT)
	p := &onnx.TensorProto{Dims: dims, DataType: &dt}
	onnx.SetFloat32s(p, append([]float32(nil), v...))
	return p
}

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: strPtr(name), Type: onnx.AttributeProto_INT.Enum(), I: &v}
}

func strPtr(s string) *string { return &s }

func sparseTensor(name string, dims []int64, vals []float32, idx []int64) *onnx.SparseTensorProto {
	values := tensorF32([]int64{int64(len(vals))}, vals)
	values.Name = &name
	i64 := int32(onnx.TensorProto_INT64)
	indices := &onnx.TensorProto{Dims: []int64{int64(len(idx))}, DataType: &i64, Int64Data: idx}
	return &onnx.SparseTensorProto{Values: values, Indices: indices, Dims: dims}
}
