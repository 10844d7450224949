package modelgen

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// Builder assembles an ONNX graph node by node, for generators and table
// tests:
//
//	b := modelgen.NewBuilder("relu")
//	x := b.Input("x", onnx.TensorProto_FLOAT, "batch", 4)
//	y := b.Op("relu", "Relu", []string{x})
//	b.Output(y, onnx.TensorProto_FLOAT, "batch", 4)
//	m := b.Model(17)
//
// Dimensions are given as ints (fixed) or strings (symbolic; "" for an
// unknown dimension). Methods panic on misuse (data that does not match its
// dims, a dimension of another type): a Builder is for code that builds
// fixed graphs, not for untrusted input.
type Builder struct {
	// Seed seeds InitNormal; change it before adding tensors.
	Seed int64

	name    string
	nodes   []*onnx.NodeProto
	inputs  []*onnx.ValueInfoProto
	outputs []*onnx.ValueInfoProto
	inits   []*onnx.TensorProto
	drawn   map[*onnx.TensorProto]normal // initializers whose values are drawn when built or written
	imports []*onnx.OperatorSetIdProto
}

// NewBuilder returns an empty builder for a graph called name.
func NewBuilder(name string) *Builder {
	return &Builder{name: name, drawn: map[*onnx.TensorProto]normal{}}
}

// Input adds a graph input and returns its name.
func (b *Builder) Input(name string, elemType onnx.TensorProto_DataType, dims ...any) string {
	b.inputs = append(b.inputs, valueInfo(name, elemType, dims))
	return name
}

// Output marks name as a graph output and returns it.
func (b *Builder) Output(name string, elemType onnx.TensorProto_DataType, dims ...any) string {
	b.outputs = append(b.outputs, valueInfo(name, elemType, dims))
	return name
}

// Init adds a float32 initializer and returns its name.
func (b *Builder) Init(name string, dims []int64, data []float32) string {
	b.inits = append(b.inits, Tensor(name, dims, data))
	return name
}

// InitInt64 adds an int64 initializer (shapes, axes, indices) and returns
// its name.
func (b *Builder) InitInt64(name string, dims []int64, data []int64) string {
	b.inits = append(b.inits, TensorInt64(name, dims, data))
	return name
}

// InitNormal adds a float32 initializer drawn as mean + std*N(0,1) and
// returns its name. The values depend only on b.Seed and name, and are drawn
// when the model is built (Model, Graph) or written.
func (b *Builder) InitNormal(name string, dims []int64, mean, std float32) string {
	return b.draw(name, dims, newNormal(b.Seed, name, mean, std))
}

// initAbsNormal is InitNormal keeping the absolute values (variances).
func (b *Builder) initAbsNormal(name string, dims []int64, mean, std float32) string {
	d := newNormal(b.Seed, name, mean, std)
	d.abs = true
	return b.draw(name, dims, d)
}

func (b *Builder) draw(name string, dims []int64, d normal) string {
	t := &onnx.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT))}
	b.inits = append(b.inits, t)
	b.drawn[t] = d
	return name
}

// Node adds a node and returns it, so that callers can set its domain or
// name. It is named "<op>_<index>" unless renamed.
func (b *Builder) Node(op string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	n := &onnx.NodeProto{
		Name:      proto.String(op + "_" + strconv.Itoa(len(b.nodes))),
		OpType:    proto.String(op),
		Input:     inputs,
		Output:    outputs,
		Attribute: attrs,
	}
	b.nodes = append(b.nodes, n)
	return n
}

// Op adds a node called name with one output, "<name>_output_0", and
// returns the output's name, so that chains read as expressions.
func (b *Builder) Op(name, op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	out := name + "_output_0"
	b.Node(op, inputs, []string{out}, attrs...).Name = proto.String(name)
	return out
}

// Import adds an operator set besides the default domain's, such as
// ("com.microsoft", 1).
func (b *Builder) Import(domain string, version int64) {
	b.imports = append(b.imports, &onnx.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(version)})
}

// Graph returns the graph built so far, with drawn initializers filled in.
// It shares nodes and tensors with b, for use as a subgraph (AttrGraph).
func (b *Builder) Graph() *onnx.GraphProto {
	for t, d := range b.drawn {
		if t.RawData == nil {
			data := make([]float32, numElements(t.Dims))
			d.fill(data, 0)
			t.RawData = float32Bytes(data)
		}
	}
	return b.skeleton()
}

// Model returns a model holding b's graph, importing opset of the default
// domain (plus those added by Import), with the IR version that opset
// needs.
func (b *Builder) Model(opset int64) *onnx.ModelProto {
	return b.wrap(b.Graph(), opset)
}

// skeleton returns the graph without drawing any values.
func (b *Builder) skeleton() *onnx.GraphProto {
	return &onnx.GraphProto{
		Name:        proto.String(b.name),
		Node:        b.nodes,
		Initializer: b.inits,
		Input:       b.inputs,
		Output:      b.outputs,
	}
}

func (b *Builder) wrap(g *onnx.GraphProto, opset int64) *onnx.ModelProto {
	imports := append([]*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}, b.imports...)
	return &onnx.ModelProto{
		IrVersion:    proto.Int64(irVersionFor(opset)),
		ProducerName: proto.String("onnxopt-modelgen"),
		OpsetImport:  imports,
		Graph:        g,
	}
}

// irVersionFor returns the lowest IR version that supports opset.
func irVersionFor(opset int64) int64 {
	switch {
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	case opset <= 22:
		return 10
	default:
		return 11
	}
}

// Tensor returns a float32 tensor stored as little-endian raw_data.
func Tensor(name string, dims []int64, data []float32) *onnx.TensorProto {
	checkLen(name, dims, len(data))
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnx.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)), RawData: raw}
}

// TensorInt64 returns an int64 tensor stored as little-endian raw_data.
func TensorInt64(name string, dims []int64, data []int64) *onnx.TensorProto {
	checkLen(name, dims, len(data))
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &onnx.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnx.TensorProto_INT64)), RawData: raw}
}

func checkLen(name string, dims []int64, n int) {
	if want := numElements(dims); want != int64(n) {
		panic(fmt.Sprintf("modelgen: tensor %q has dims %v (%d elements) but %d values", name, dims, want, n))
	}
}

func valueInfo(name string, elemType onnx.TensorProto_DataType, dims []any) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnx.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case int64:
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}
		case int32:
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			if d != "" {
				dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d}
			}
		default:
			panic(fmt.Sprintf("modelgen: dimension %v of %q is a %T, want an int or a string", d, name, d))
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnx.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elemType)),
			Shape:    shape,
		}}},
	}
}
