package sparsestorage

import (
	"encoding/binary"
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// Pass is the sparse-storage pass.
var Pass = &passes.Pass{
	Name: "sparse-storage",
	Doc:  "store mostly-zero float initializers as sparse initializers (values plus linear indices)",
	Options: []passes.Option{
		{Name: "min-sparsity", Kind: passes.Float, Default: "0.5", Doc: "store a tensor sparse when at least this fraction of its elements is zero"},
		{Name: "index-type", Kind: passes.Enum, Default: "int64", Values: []string{"int64", "int32", "int16", "int8"},
			Doc: "element type of the indices; only int64 passes the ONNX checker, ONNX Runtime loads all four"},
	},
	Run: run,
	// Each initializer is read, replaced by its sparse form (moved to the
	// output's side file at once when the model is streamed) and released.
	Streams: true,
}

func init() { passes.Register(Pass) }

// indexTypes maps the index-type option to its data type and width.
var indexTypes = map[string]struct {
	dtype onnx.TensorProto_DataType
	bytes int
	max   int64 // largest linear index the type holds
}{
	"int64": {onnx.TensorProto_INT64, 8, 1<<63 - 1},
	"int32": {onnx.TensorProto_INT32, 4, 1<<31 - 1},
	"int16": {onnx.TensorProto_INT16, 2, 1<<15 - 1},
	"int8":  {onnx.TensorProto_INT8, 1, 1<<7 - 1},
}

func run(ctx *passes.Context, m *graph.Model, args passes.Args) error {
	minSparsity := args.Float("min-sparsity")
	if minSparsity < 0 || minSparsity > 1 {
		return fmt.Errorf("min-sparsity %v is not between 0 and 1", minSparsity)
	}
	it := indexTypes[args.String("index-type")]
	var stored, bytesSaved, done, total int64
	var err error
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			if isDenseFloat(v.Tensor) && len(v.Tensor.Dims()) > 0 {
				total += v.Tensor.Bytes()
			}
		}
	})
	m.Graph.Walk(func(g *graph.Graph) {
		if err != nil {
			return
		}
		// Constant nodes keep their dense values: report the ones that
		// would qualify so the user knows why they stayed.
		for _, n := range g.Nodes {
			if n.OpType() != "Constant" || n.Domain() != "" {
				continue
			}
			for _, v := range n.Outputs() {
				if t := v.Const(); t != nil && isDenseFloat(t) {
					if s, e := zeroFraction(t); e == nil && s >= minSparsity && s > 0 {
						ctx.Skip(v.Name, "value of a Constant node (%.0f%% zeros); only initializers are stored sparse", 100*s)
					}
				}
			}
		}
		// Iterate over a copy: MakeSparse edits g.Initializers.
		for _, v := range append([]*graph.Value(nil), g.Initializers...) {
			t := v.Tensor
			if !isDenseFloat(t) || len(t.Dims()) == 0 {
				continue
			}
			e := store(ctx, m, g, v, minSparsity, it.dtype, it.bytes, it.max, &stored, &bytesSaved)
			if re := t.Release(); e == nil {
				e = re
			}
			if e != nil {
				err = fmt.Errorf("initializer %q: %w", v.Name, e)
				return
			}
			done += t.Bytes()
			ctx.TickBytes(done, total)
		}
	})
	if err != nil {
		return err
	}
	ctx.Set("tensors_sparse", stored)
	ctx.Set("bytes_saved", bytesSaved)
	return nil
}

// store replaces the initializer v by its sparse form when it has enough
// zeros and the form is smaller, recording what it did; the caller
// releases v's dense tensor.
func store(ctx *passes.Context, m *graph.Model, g *graph.Graph, v *graph.Value, minSparsity float64, idx onnx.TensorProto_DataType, idxBytes int, maxIndex int64, stored, bytesSaved *int64) error {
	t := v.Tensor
	s, err := zeroFraction(t)
	if err != nil || s < minSparsity || s == 0 {
		return err
	}
	if v.IsInput() {
		ctx.Skip(v.Name, "also a graph input (a caller may replace it), so it stays dense")
		return nil
	}
	sp, reason, err := sparsify(v.Name, t, idx, idxBytes, maxIndex)
	if err != nil {
		return err
	}
	if sp == nil {
		ctx.Skip(v.Name, "%s", reason)
		return nil
	}
	before := t.Bytes()
	after := graph.NewTensor(sp.Values).Bytes() + graph.NewTensor(sp.Indices).Bytes()
	g.MakeSparse(v, sp)
	if err := m.ReleaseSparse(v); err != nil {
		return err
	}
	*stored++
	*bytesSaved += before - after
	ctx.Report.TensorsTouched++
	ctx.Tensor(passes.TensorReport{
		Name: v.Name, Shape: t.Dims(),
		SparsityBefore: s, SparsityAfter: s,
		BytesBefore: before, BytesAfter: after,
		Detail: fmt.Sprintf("sparse: %d nonzeros, %s linear indices", sp.Values.Dims[0], onnx.DataTypeName(int32(idx))),
	})
	return nil
}

// isDenseFloat reports whether t is a float tensor of whole bytes per
// element, the kind this pass stores sparse.
func isDenseFloat(t *graph.Tensor) bool {
	dt := t.DataType()
	return onnx.IsFloat(dt) && onnx.ElemBits(dt) >= 8 && onnx.ElemBits(dt)%8 == 0
}

// zeroFraction returns the fraction of t's elements whose bits are all zero.
func zeroFraction(t *graph.Tensor) (float64, error) {
	raw, err := t.Raw()
	if err != nil {
		return 0, err
	}
	w := onnx.ElemBits(t.DataType()) / 8
	n := len(raw) / w
	if n == 0 {
		return 0, nil
	}
	return float64(n-countNonzero(raw, w)) / float64(n), nil
}

func countNonzero(raw []byte, w int) int {
	nnz := 0
	for i := 0; i < len(raw); i += w {
		if !allZero(raw[i : i+w]) {
			nnz++
		}
	}
	return nnz
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// sparsify builds the sparse form of t with linear indices of the given
// type. It returns a nil tensor and the reason when the sparse form is not
// worth it or not possible.
func sparsify(name string, t *graph.Tensor, idxType onnx.TensorProto_DataType, idxBytes int, maxIndex int64) (*onnx.SparseTensorProto, string, error) {
	raw, err := t.Raw()
	if err != nil {
		return nil, "", err
	}
	w := onnx.ElemBits(t.DataType()) / 8
	n := int64(len(raw) / w)
	nnz := int64(countNonzero(raw, w))
	dense := int64(len(raw))
	sparse := nnz * int64(w+idxBytes)
	if sparse >= dense {
		return nil, fmt.Sprintf("sparse form would not be smaller (%d bytes with %s indices, dense %d bytes)",
			sparse, onnx.DataTypeName(int32(idxType)), dense), nil
	}
	if n-1 > maxIndex {
		return nil, fmt.Sprintf("%d elements: linear indices do not fit %s", n, onnx.DataTypeName(int32(idxType))), nil
	}
	vals := make([]byte, 0, nnz*int64(w))
	idx := make([]byte, nnz*int64(idxBytes))
	k := 0
	for i := int64(0); i < n; i++ {
		e := raw[i*int64(w) : (i+1)*int64(w)]
		if allZero(e) {
			continue
		}
		vals = append(vals, e...)
		putIndex(idx[k*idxBytes:], idxBytes, i)
		k++
	}
	dt := t.DataType()
	valName := name
	return &onnx.SparseTensorProto{
		Values:  &onnx.TensorProto{Name: &valName, DataType: &dt, Dims: []int64{nnz}, RawData: vals},
		Indices: &onnx.TensorProto{DataType: proto32(int32(idxType)), Dims: []int64{nnz}, RawData: idx},
		Dims:    append([]int64(nil), t.Dims()...),
	}, "", nil
}

func putIndex(b []byte, width int, i int64) {
	switch width {
	case 8:
		binary.LittleEndian.PutUint64(b, uint64(i))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(i))
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(i))
	default:
		b[0] = byte(i)
	}
}

func proto32(v int32) *int32 { return &v }
