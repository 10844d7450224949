package ort

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
)

// InputSpec describes one input a model needs: a graph input that is not
// also an initializer.
type InputSpec struct {
	Name string
	Type *onnx.TypeProto
	Kind Kind
	// DType and Dims describe a tensor input (or the tensor inside an
	// optional). Dims is nil when the rank is not declared.
	DType DType
	Dims  []Dim
}

// Dim is one declared dimension: a fixed size, a symbolic name, or neither
// (unknown).
type Dim struct {
	Size  int64  // the fixed size; -1 when not fixed
	Param string // the symbolic name (dim_param), if any
}

// InputSpecs lists the inputs a model needs, in graph order. Graph inputs
// that are also initializers (models before IR version 4 list weights as
// inputs) are left out: they are not fed.
func InputSpecs(m *onnx.ModelProto) []InputSpec {
	init := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		init[t.GetName()] = true
	}
	for _, t := range m.GetGraph().GetSparseInitializer() {
		init[t.GetValues().GetName()] = true
	}
	var specs []InputSpec
	for _, in := range m.GetGraph().GetInput() {
		if !init[in.GetName()] {
			specs = append(specs, specOf(in))
		}
	}
	return specs
}

// OutputSpecs describes a model's graph outputs, in graph order.
func OutputSpecs(m *onnx.ModelProto) []InputSpec {
	var specs []InputSpec
	for _, out := range m.GetGraph().GetOutput() {
		specs = append(specs, specOf(out))
	}
	return specs
}

func specOf(vi *onnx.ValueInfoProto) InputSpec {
	s := InputSpec{Name: vi.GetName(), Type: vi.GetType()}
	tt := vi.GetType().GetTensorType()
	switch vi.GetType().GetValue().(type) {
	case *onnx.TypeProto_TensorType:
		s.Kind = KindTensor
	case *onnx.TypeProto_SequenceType:
		s.Kind = KindSequence
	case *onnx.TypeProto_OptionalType:
		s.Kind = KindOptional
		tt = vi.GetType().GetOptionalType().GetElemType().GetTensorType()
	case *onnx.TypeProto_MapType:
		s.Kind = KindMap
	case *onnx.TypeProto_SparseTensorType:
		s.Kind = KindSparseTensor
	}
	if tt != nil {
		s.DType = DType(tt.GetElemType())
		if sh := tt.GetShape(); sh != nil {
			s.Dims = []Dim{}
			for _, d := range sh.GetDim() {
				dim := Dim{Size: -1, Param: d.GetDimParam()}
				if _, ok := d.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok {
					dim.Size = d.GetDimValue()
				}
				s.Dims = append(s.Dims, dim)
			}
		}
	}
	return s
}

// ConfigError reports settings that do not fit the model: a shape for an
// input or dimension it does not have, a rank that does not match, an input
// that cannot be generated. It is the caller's mistake, not the model's.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Shapes sets the sizes of dynamic dimensions for generated inputs. A key
// is an input name (the value is the whole shape) or a symbolic dimension
// name (the value is one size). Dimensions not set are 1.
type Shapes map[string][]int64

// ParseShape parses "NAME=1x3x224x224" (or "NAME=4" for one dimension).
func ParseShape(s string) (name string, dims []int64, err error) {
	i := strings.LastIndex(s, "=")
	if i <= 0 || i == len(s)-1 {
		return "", nil, fmt.Errorf("shape %q: want NAME=DIMS, such as x=1x3x224x224 or batch=4", s)
	}
	name = s[:i]
	for _, f := range strings.Split(s[i+1:], "x") {
		d, err := strconv.ParseInt(f, 10, 64)
		if err != nil || d < 0 {
			return "", nil, fmt.Errorf("shape %q: dimension %q is not a size (a whole number, 0 or more)", s, f)
		}
		dims = append(dims, d)
	}
	return name, dims, nil
}

// Check reports keys of sh that name neither an input nor a symbolic
// dimension of specs, and symbolic dimension keys given more than one size.
func (sh Shapes) Check(specs []InputSpec) error {
	inputs, params := map[string]bool{}, map[string]bool{}
	var names []string
	for _, s := range specs {
		inputs[s.Name] = true
		names = append(names, s.Name)
		for _, d := range s.Dims {
			if d.Param != "" && !params[d.Param] {
				params[d.Param] = true
				names = append(names, d.Param)
			}
		}
	}
	keys := make([]string, 0, len(sh))
	for k := range sh {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case inputs[k]:
		case params[k]:
			if len(sh[k]) != 1 {
				return fmt.Errorf("shape for dimension %q has %d sizes, want one", k, len(sh[k]))
			}
		default:
			return fmt.Errorf("shape %q names no input or symbolic dimension of the model (it has: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// Shape resolves the shape of a tensor input: from sh by input name, else
// each dimension fixed, or from sh by symbolic name, or 1.
// Defaulted lists the dynamic dimensions of specs that sh leaves unset
// (and so are given size 1), as "input dim N (name)" strings, so a command
// can tell the user what it actually ran.
func Defaulted(specs []InputSpec, sh Shapes) []string {
	var out []string
	for _, s := range specs {
		if _, ok := sh[s.Name]; ok {
			continue
		}
		for i, d := range s.Dims {
			if d.Size >= 0 || d.Param != "" && len(sh[d.Param]) == 1 {
				continue
			}
			name := d.Param
			if name == "" {
				name = "?"
			}
			out = append(out, fmt.Sprintf("%s dim %d (%s)", s.Name, i, name))
		}
	}
	return out
}

func (s InputSpec) Shape(sh Shapes) ([]int64, error) {
	if dims, ok := sh[s.Name]; ok {
		if s.Dims != nil {
			if len(dims) != len(s.Dims) {
				return nil, fmt.Errorf("input %q has rank %d (%s), but its shape was given as %v", s.Name, len(s.Dims), TypeString(s.Type), dims)
			}
			for i, d := range s.Dims {
				if d.Size >= 0 && d.Size != dims[i] {
					return nil, fmt.Errorf("input %q has dimension %d fixed at %d (%s), but its shape was given as %v", s.Name, i, d.Size, TypeString(s.Type), dims)
				}
			}
		}
		return append([]int64{}, dims...), nil
	}
	if s.Dims == nil {
		return nil, fmt.Errorf("input %q does not declare its shape; set it (for example %s=1x3x224x224)", s.Name, s.Name)
	}
	shape := make([]int64, len(s.Dims))
	for i, d := range s.Dims {
		switch {
		case d.Size >= 0:
			shape[i] = d.Size
		case d.Param != "" && len(sh[d.Param]) == 1:
			shape[i] = sh[d.Param][0]
		default:
			shape[i] = 1
		}
	}
	return shape, nil
}

// MaxGeneratedBytes bounds the inputs GenerateInputs makes for one sample.
var MaxGeneratedBytes int64 = 4 << 30

// GenerateInputs makes one sample of random inputs for specs: the same seed
// and sample number give the same values. Floats are uniform in [-1, 1);
// integers are in [1, 8) (never 0, so integer division cannot trap; small,
// so they are valid indices into most axes); bools are random.
func GenerateInputs(specs []InputSpec, sh Shapes, seed int64, sample int) ([]Value, error) {
	if err := sh.Check(specs); err != nil {
		return nil, &ConfigError{err}
	}
	// Size everything first: a --shape typo must not exhaust memory.
	var total int64
	for _, s := range specs {
		shape, err := s.Shape(sh)
		if err != nil || s.Kind != KindTensor && s.Kind != KindOptional {
			continue // reported below
		}
		n, err := onnx.NumElements(shape)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("input %q: %v", s.Name, err)}
		}
		b := onnx.StorageBytes(int32(s.DType), n)
		if b < 0 {
			b = n * 16 // strings: a rough size per element
		}
		if total += b; total > MaxGeneratedBytes || b > MaxGeneratedBytes {
			return nil, &ConfigError{fmt.Errorf("generated inputs would take more than %d GiB (input %q has shape %v): give smaller --shape sizes", MaxGeneratedBytes>>30, s.Name, shape)}
		}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(sample)))
	vals := make([]Value, len(specs))
	for i, s := range specs {
		if s.Kind != KindTensor && s.Kind != KindOptional || s.Kind == KindOptional && s.Type.GetOptionalType().GetElemType().GetTensorType() == nil {
			return nil, &ConfigError{fmt.Errorf("input %q is %s: only tensors can be generated; give test data instead", s.Name, TypeString(s.Type))}
		}
		shape, err := s.Shape(sh)
		if err != nil {
			return nil, &ConfigError{err}
		}
		t, err := randomTensor(rng, s.DType, shape)
		if err != nil {
			return nil, fmt.Errorf("input %q: %v", s.Name, err)
		}
		vals[i] = t
	}
	return vals, nil
}

// randomTensor fills a tensor as GenerateInputs describes.
func randomTensor(rng *rand.Rand, dt DType, shape []int64) (*Tensor, error) {
	t, err := NewTensor(dt, shape)
	if err != nil {
		return nil, err
	}
	n := t.Len()
	b := t.Raw
	switch {
	case dt == String:
		for i := range t.Strings {
			t.Strings[i] = "s" + strconv.Itoa(rng.IntN(8))
		}
	case dt == Bool:
		for i := range b {
			b[i] = byte(rng.IntN(2))
		}
	case dt == Float32 || dt == DType(onnx.TensorProto_COMPLEX64):
		for i := 0; i < len(b)/4; i++ {
			putLE(b[4*i:], 4, uint64(math.Float32bits(float32(2*rng.Float64()-1))))
		}
	case dt == Float64 || dt == DType(onnx.TensorProto_COMPLEX128):
		for i := 0; i < len(b)/8; i++ {
			putLE(b[8*i:], 8, math.Float64bits(2*rng.Float64()-1))
		}
	case dt == Float16:
		for i := 0; i < n; i++ {
			putLE(b[2*i:], 2, uint64(onnx.Float32ToFloat16(float32(2*rng.Float64()-1))))
		}
	case dt == BFloat16:
		for i := 0; i < n; i++ {
			putLE(b[2*i:], 2, uint64(onnx.Float32ToBFloat16(float32(2*rng.Float64()-1))))
		}
	case dt.IsFloat(): // float8 and float4: random codes of finite, modest values
		w := dt.bits()
		for i := 0; i < n; i++ {
			for {
				code := uint32(rng.IntN(1 << w))
				var v float64
				if w == 8 {
					v = smallFloat(dt, code)
				} else {
					v = packedElement(dt, []byte{byte(code)}, 0)
				}
				if !math.IsNaN(v) && math.Abs(v) <= 4 {
					putPacked(b, w, i, code)
					break
				}
			}
		}
	default: // integers of every width
		w := dt.bits()
		hi := 8
		switch dt {
		case DType(onnx.TensorProto_INT4):
			hi = 8 // 1..7
		case DType(onnx.TensorProto_UINT2):
			hi = 4
		case DType(onnx.TensorProto_INT2):
			hi = 2
		}
		for i := 0; i < n; i++ {
			v := uint64(1 + rng.IntN(hi-1))
			if w >= 8 {
				putLE(b[i*w/8:], w/8, v)
			} else {
				putPacked(b, w, i, uint32(v))
			}
		}
	}
	return t, nil
}

// putLE writes the low n bytes of v little-endian.
func putLE(b []byte, n int, v uint64) {
	for i := 0; i < n; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

// putPacked stores a w-bit code as element i of packed data.
func putPacked(b []byte, w, i int, code uint32) {
	if w == 8 {
		b[i] = byte(code)
		return
	}
	per := 8 / w
	shift := uint(i%per) * uint(w)
	mask := byte(1<<w-1) << shift
	b[i/per] = b[i/per]&^mask | byte(code)<<shift&mask
}
