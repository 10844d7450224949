package ort

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// tensorInput builds a graph input; a dim is an int64 size, a string
// symbolic name, or nil (unknown). dims == nil leaves the shape out.
func tensorInput(name string, dt DType, dims ...any) *onnx.ValueInfoProto {
	tt := &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if dims != nil {
		tt.Shape = &onnx.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnx.TensorShapeProto_Dimension{}
			switch d := d.(type) {
			case int:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			case string:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}
}

func specModel() *onnx.ModelProto {
	return &onnx.ModelProto{Graph: &onnx.GraphProto{
		Input: []*onnx.ValueInfoProto{
			tensorInput("x", Float32, "batch", 3, "h", "w"),
			tensorInput("ids", Int64, "batch", nil),
			tensorInput("w", Float32, 3),
			tensorInput("k", Int64, []any{}...), // rank 0
			tensorInput("free", Float16),        // no shape
		},
		Initializer: []*onnx.TensorProto{{Name: proto.String("w"), Dims: []int64{3}, DataType: proto.Int32(1), FloatData: []float32{1, 2, 3}}},
	}}
}

func TestInputSpecs(t *testing.T) {
	specs := InputSpecs(specModel())
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if want := []string{"x", "ids", "k", "free"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("inputs %v, want %v (initializer inputs are not fed)", names, want)
	}
	if specs[2].Dims == nil || len(specs[2].Dims) != 0 {
		t.Errorf("rank-0 input has dims %v", specs[2].Dims)
	}
	if specs[3].Dims != nil {
		t.Errorf("input without a shape has dims %v", specs[3].Dims)
	}
}

func TestShapes(t *testing.T) {
	specs := InputSpecs(specModel())
	for _, c := range []struct {
		shapes Shapes
		want   [][]int64 // per spec; nil: an error is expected
		errMsg string
	}{
		{Shapes{"free": {2}}, [][]int64{{1, 3, 1, 1}, {1, 1}, {}, {2}}, ""},
		{Shapes{"batch": {4}, "h": {32}, "w": {48}, "free": {1}}, [][]int64{{4, 3, 32, 48}, {4, 1}, {}, {1}}, ""},
		{Shapes{"x": {2, 3, 8, 8}, "batch": {5}, "free": {1}}, [][]int64{{2, 3, 8, 8}, {5, 1}, {}, {1}}, ""},
		{Shapes{"x": {2, 4, 8, 8}, "free": {1}}, nil, "dimension 1 fixed at 3"},
		{Shapes{"x": {2, 3}, "free": {1}}, nil, "rank 4"},
		{Shapes{"nope": {1}}, nil, `"nope" names no input or symbolic dimension`},
		{Shapes{"batch": {1, 2}}, nil, "want one"},
		{Shapes{}, nil, `"free" does not declare its shape`},
	} {
		vals, err := GenerateInputs(specs, c.shapes, 1, 0)
		if c.want == nil {
			if err == nil || !strings.Contains(err.Error(), c.errMsg) {
				t.Errorf("%v: error %v, want one saying %q", c.shapes, err, c.errMsg)
			}
			if _, ok := err.(*ConfigError); !ok {
				t.Errorf("%v: error %T is not a *ConfigError", c.shapes, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.shapes, err)
			continue
		}
		for i, v := range vals {
			if got := v.(*Tensor).Shape; !reflect.DeepEqual(got, c.want[i]) && !(len(got) == 0 && len(c.want[i]) == 0) {
				t.Errorf("%v: input %s has shape %v, want %v", c.shapes, specs[i].Name, got, c.want[i])
			}
		}
	}
}

func TestParseShape(t *testing.T) {
	name, dims, err := ParseShape("onnx::Flatten_0=1x3x224x224")
	if err != nil || name != "onnx::Flatten_0" || !reflect.DeepEqual(dims, []int64{1, 3, 224, 224}) {
		t.Errorf("got %q %v %v", name, dims, err)
	}
	for _, bad := range []string{"x", "=1x2", "x=", "x=1xx2", "x=-1", "x=a"} {
		if _, _, err := ParseShape(bad); err == nil {
			t.Errorf("ParseShape(%q) accepted", bad)
		}
	}
}

func TestGenerateInputs(t *testing.T) {
	specs := []InputSpec{
		specOf(tensorInput("f", Float32, 64)),
		specOf(tensorInput("h", Float16, 64)),
		specOf(tensorInput("b16", BFloat16, 64)),
		specOf(tensorInput("i", Int64, 64)),
		specOf(tensorInput("u4", DType(onnx.TensorProto_UINT4), 63)),
		specOf(tensorInput("e4", DType(onnx.TensorProto_FLOAT8E4M3FN), 64)),
		specOf(tensorInput("b", Bool, 64)),
		specOf(tensorInput("s", String, 2)),
	}
	a, err := GenerateInputs(specs, nil, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateInputs(specs, nil, 7, 0)
	c, _ := GenerateInputs(specs, nil, 7, 1)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed and sample gave different inputs")
	}
	if reflect.DeepEqual(a[0], c[0]) {
		t.Error("another sample gave the same inputs")
	}
	for i, v := range a[:7] {
		f, err := v.(*Tensor).Float64s()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := -1.0, 1.0
		switch specs[i].DType {
		case Int64, DType(onnx.TensorProto_UINT4):
			lo, hi = 1, 7
		case Bool:
			lo = 0
		case DType(onnx.TensorProto_FLOAT8E4M3FN):
			lo, hi = -4, 4
		}
		for _, x := range f {
			if math.IsNaN(x) || x < lo || x > hi {
				t.Errorf("input %s has value %g outside [%g, %g]", specs[i].Name, x, lo, hi)
				break
			}
		}
	}
	seq := &onnx.ValueInfoProto{Name: proto.String("q"), Type: &onnx.TypeProto{Value: &onnx.TypeProto_SequenceType{SequenceType: &onnx.TypeProto_Sequence{}}}}
	if _, err := GenerateInputs([]InputSpec{specOf(seq)}, nil, 1, 0); err == nil {
		t.Error("a sequence input was generated")
	}
}

func TestReadInputDirErrors(t *testing.T) {
	dir := t.TempDir()
	specs := []InputSpec{specOf(tensorInput("x", Float32, 2))}
	if _, err := ReadInputDir(dir, specs); err == nil || !strings.Contains(err.Error(), "no input_N.pb") {
		t.Errorf("empty folder: %v", err)
	}
	p := TensorToProto(f32([]int64{2}, 1, 2), "x")
	b, _ := proto.Marshal(p)
	os.WriteFile(filepath.Join(dir, "input_0.pb"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "input_1.pb"), b, 0o644)
	if _, err := ReadInputDir(dir, specs); err == nil || !strings.Contains(err.Error(), "has 2 input files") {
		t.Errorf("too many files: %v", err)
	}
	os.Remove(filepath.Join(dir, "input_1.pb"))
	got, err := ReadInputDir(dir, specs)
	if err != nil || !reflect.DeepEqual(got[0][0], f32([]int64{2}, 1, 2)) {
		t.Errorf("got %v, %v", got, err)
	}
}
