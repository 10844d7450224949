// Package inspect summarizes a model: versions, inputs and outputs, op
// counts, parameters, bytes by data type, and per-tensor sparsity.
package inspect

import (
	"encoding/json"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// Summary is what `onnxopt inspect` prints.
type Summary struct {
	IRVersion       int64            `json:"ir_version"`
	Opsets          map[string]int64 `json:"opsets"`
	Producer        string           `json:"producer"`
	ProducerVersion string           `json:"producer_version,omitempty"`
	Inputs          []IO             `json:"inputs"`
	Outputs         []IO             `json:"outputs"`
	Ops             map[string]int   `json:"ops"`
	Nodes           int              `json:"nodes"`
	Params          int64            `json:"params"`
	Bytes           map[string]int64 `json:"bytes"`
	TotalBytes      int64            `json:"total_bytes"`
	Tensors         []Tensor         `json:"tensors"`
	// Quantized lists the nodes that read integer weights with scales.
	Quantized []QuantizedLayer  `json:"quantized,omitempty"`
	Sparsity  map[string]string `json:"sparsity_annotations,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// IO is a graph input or output.
type IO struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []any  `json:"shape"` // ints, or strings for symbolic dims ("?" unknown)
}

// Tensor is one constant: initializer, sparse initializer or Constant node.
type Tensor struct {
	Name     string  `json:"name"`
	DType    string  `json:"dtype"`
	Shape    []int64 `json:"shape"`
	Sparsity float64 `json:"sparsity"`
	Bytes    int64   `json:"bytes"`
	Kind     string  `json:"kind"` // initializer, sparse, constant
	Graph    string  `json:"graph,omitempty"`
}

// Model summarizes m. Tensor data is read to count zeros.
func Model(m *graph.Model) (*Summary, error) {
	s := &Summary{
		IRVersion:       m.Proto.GetIrVersion(),
		Opsets:          map[string]int64{},
		Producer:        m.Proto.GetProducerName(),
		ProducerVersion: m.Proto.GetProducerVersion(),
		Ops:             map[string]int{},
		Bytes:           map[string]int64{},
	}
	for _, o := range m.Proto.GetOpsetImport() {
		d := o.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		s.Opsets[d] = o.GetVersion()
	}
	for _, v := range m.Graph.Inputs {
		if v.IsConstant() {
			continue // old models list initializers as inputs
		}
		s.Inputs = append(s.Inputs, describe(v))
	}
	for _, v := range m.Graph.Outputs {
		s.Outputs = append(s.Outputs, describe(v))
	}
	var err error
	m.Graph.Walk(func(g *graph.Graph) {
		gname := ""
		if g.Parent != nil {
			gname = g.Proto.GetName()
		}
		for _, n := range g.Nodes {
			op := n.OpType()
			if n.Domain() != "" && n.Domain() != "ai.onnx" {
				op = n.Domain() + "." + op
			}
			s.Ops[op]++
			s.Nodes++
			if l := quantizedLayer(n); l != nil {
				s.Quantized = append(s.Quantized, *l)
			}
			if n.OpType() == "Constant" && n.Domain() == "" {
				if c := n.Output(0).Const(); c != nil && err == nil {
					err = s.addTensor(c, n.Output(0).Name, "constant", gname)
				}
			}
		}
		for _, v := range g.Initializers {
			if err == nil {
				err = s.addTensor(v.Tensor, v.Name, "initializer", gname)
			}
		}
		for _, v := range g.SparseInitializers {
			if err == nil {
				err = s.addSparse(v, gname)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	s.countPacked()
	if a, ok := m.Metadata("onnxopt.sparsity"); ok {
		_ = json.Unmarshal([]byte(a), &s.Sparsity)
	}
	for _, kv := range m.Proto.GetMetadataProps() {
		if s.Metadata == nil {
			s.Metadata = map[string]string{}
		}
		s.Metadata[kv.GetKey()] = kv.GetValue()
	}
	return s, nil
}

func (s *Summary) addTensor(t *graph.Tensor, name, kind, gname string) error {
	n, err := t.Elements()
	if err != nil {
		return err
	}
	sp, err := zeroFraction(t)
	if err != nil {
		return err
	}
	b := t.Bytes()
	dt := onnx.DataTypeName(t.DataType())
	s.Params += n
	s.Bytes[dt] += b
	s.TotalBytes += b
	s.Tensors = append(s.Tensors, Tensor{Name: name, DType: dt, Shape: nonNil(t.Dims()), Sparsity: sp, Bytes: b, Kind: kind, Graph: gname})
	return nil
}

func (s *Summary) addSparse(v *graph.Value, gname string) error {
	vals := graph.NewTensor(v.Sparse.GetValues())
	n, err := onnx.NumElements(v.Sparse.GetDims())
	if err != nil {
		return err
	}
	nnz, err := vals.Elements()
	if err != nil {
		return err
	}
	b := vals.Bytes()
	dt := onnx.DataTypeName(vals.DataType())
	s.Bytes[dt] += b
	if idx := v.Sparse.GetIndices(); idx != nil {
		it := graph.NewTensor(idx)
		s.Bytes[onnx.DataTypeName(it.DataType())] += it.Bytes()
		b += it.Bytes()
	}
	sp := 0.0
	if n > 0 {
		sp = 1 - float64(nnz)/float64(n)
	}
	s.Params += n
	s.TotalBytes += b
	s.Tensors = append(s.Tensors, Tensor{Name: v.Name, DType: dt, Shape: nonNil(v.Sparse.GetDims()), Sparsity: sp, Bytes: b, Kind: "sparse", Graph: gname})
	return nil
}

// countPacked makes Params count the weights quantized layers stand for:
// a MatMulNBits B or a GatherBlockQuantized table is K*N parameters,
// however many codes share a byte (and whatever padding rounds K up to
// whole blocks), and the scales and zero points beside quantized weights
// are storage, not parameters, so quantizing leaves the count as it was.
// A tensor read by several nodes (a tied embedding and head) counts once.
func (s *Summary) countPacked() {
	stored := map[string]int64{}
	for _, t := range s.Tensors {
		stored[t.Name] = product(t.Shape)
	}
	done := map[string]bool{}
	for _, q := range s.Quantized {
		for _, a := range q.aux {
			if n, ok := stored[a]; ok && !done[a] {
				done[a] = true
				s.Params -= n
			}
		}
		n, ok := stored[q.Weight]
		if !ok || done[q.Weight] || q.Bits >= 8 || (q.Op != "com.microsoft.MatMulNBits" && q.Op != "com.microsoft.GatherBlockQuantized") {
			continue
		}
		done[q.Weight] = true
		s.Params += product(q.Shape) - n
	}
}

func product(d []int64) int64 {
	n := int64(1)
	for _, x := range d {
		n *= x
	}
	return n
}

func nonNil(d []int64) []int64 {
	if d == nil {
		return []int64{}
	}
	return d
}

// zeroFraction counts exact zeros: whole zero elements for byte-sized
// types, zero nibbles for 4-bit types, exact 0 (and -0) for floats.
func zeroFraction(t *graph.Tensor) (float64, error) {
	n, err := t.Elements()
	if err != nil || n == 0 {
		return 0, err
	}
	if t.DataType() == int32(onnx.TensorProto_FLOAT) {
		v, err := t.Float32s()
		if err != nil {
			return 0, err
		}
		z := 0
		for _, x := range v {
			if x == 0 {
				z++
			}
		}
		return float64(z) / float64(n), nil
	}
	if t.DataType() == int32(onnx.TensorProto_STRING) {
		return 0, nil
	}
	raw, err := t.Raw()
	if err != nil {
		return 0, err
	}
	bits := onnx.ElemBits(t.DataType())
	z := int64(0)
	switch {
	case bits >= 8:
		w := bits / 8
		for i := int64(0); i < n; i++ {
			e := raw[i*int64(w) : (i+1)*int64(w)]
			zero := true
			for k, c := range e {
				// -0.0 of float types: only the sign bit set in the top byte.
				if c != 0 && !(onnx.IsFloat(t.DataType()) && k == len(e)-1 && c == 0x80) {
					zero = false
					break
				}
			}
			if zero {
				z++
			}
		}
	case bits == 4:
		for i := int64(0); i < n; i++ {
			if (raw[i/2]>>(4*(i%2)))&0xF == 0 {
				z++
			}
		}
	case bits == 2:
		for i := int64(0); i < n; i++ {
			if (raw[i/4]>>(2*(i%4)))&0x3 == 0 {
				z++
			}
		}
	}
	return float64(z) / float64(n), nil
}

func describe(v *graph.Value) IO {
	io := IO{Name: v.Name, DType: onnx.DataTypeName(v.ElemType()), Shape: []any{}}
	if tt := v.Type().GetTensorType(); tt != nil {
		for _, d := range tt.GetShape().GetDim() {
			switch x := d.Value.(type) {
			case *onnx.TensorShapeProto_Dimension_DimValue:
				io.Shape = append(io.Shape, x.DimValue)
			case *onnx.TensorShapeProto_Dimension_DimParam:
				io.Shape = append(io.Shape, x.DimParam)
			default:
				io.Shape = append(io.Shape, "?")
			}
		}
	} else if v.Type() != nil {
		io.DType = typeKind(v.Type())
	}
	return io
}

func typeKind(t *onnx.TypeProto) string {
	switch {
	case t.GetSequenceType() != nil:
		return "sequence"
	case t.GetMapType() != nil:
		return "map"
	case t.GetOptionalType() != nil:
		return "optional"
	case t.GetSparseTensorType() != nil:
		return "sparse_tensor"
	}
	return "unknown"
}

// SortedOps returns op names by descending count, then name.
func (s *Summary) SortedOps() []string {
	ops := make([]string, 0, len(s.Ops))
	for k := range s.Ops {
		ops = append(ops, k)
	}
	sort.Slice(ops, func(i, j int) bool {
		if s.Ops[ops[i]] != s.Ops[ops[j]] {
			return s.Ops[ops[i]] > s.Ops[ops[j]]
		}
		return ops[i] < ops[j]
	})
	return ops
}
