// Package channelstest holds what the tests of the channel passes
// (prune-channels, dead-neurons) and of their analysis share: small
// models, a comparison in ONNX Runtime, and reading results back.
package channelstest

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/verify"
)

// Load converts a built model into IR form.
func Load(t *testing.T, p *onnx.ModelProto) *graph.Model {
	t.Helper()
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RunPipeline runs a pipeline text over m and returns the pass reports.
func RunPipeline(t *testing.T, m *graph.Model, text string) *passes.Report {
	t.Helper()
	p, err := passes.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(p, m, passes.RunOptions{})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return rep
}

// Write saves m to a temporary file and returns the path.
func Write(t *testing.T, m *graph.Model, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := m.WriteFile(path, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// CompareORT runs both models in ONNX Runtime on the same random inputs
// and returns the comparison of each output; it ends the test when the
// runtime is not installed.
func CompareORT(t *testing.T, ref, cand string, shapes ort.Shapes) *verify.Report {
	t.Helper()
	testenv.Runtime(t)
	rep, err := verify.Verify(ref, cand, verify.Config{
		Options:   ort.Options{Threads: 1},
		Tolerance: verify.Tolerance{ATol: 1e-4},
		Shapes:    shapes,
		Samples:   2,
		Seed:      7,
	})
	if err != nil {
		t.Fatalf("running %s against %s in ONNX Runtime: %v", filepath.Base(cand), filepath.Base(ref), err)
	}
	for _, d := range rep.Outputs {
		if len(d.Problems) > 0 {
			t.Errorf("output %s: %v", d.Name, d.Problems)
		}
	}
	return rep
}

// Dims returns the shape of constant name in m.
func Dims(t *testing.T, m *graph.Model, name string) []int64 {
	t.Helper()
	v := m.Graph.Lookup(name)
	if v == nil || v.Const() == nil {
		t.Fatalf("no constant %s", name)
	}
	return v.Const().Dims()
}

// Params counts the float32 constant elements of m.
func Params(m *graph.Model) int64 {
	var n int64
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			if e, err := v.Tensor.Elements(); err == nil && v.Tensor.DataType() == int32(onnx.TensorProto_FLOAT) {
				n += e
			}
		}
		for _, node := range g.Nodes {
			if c := node.Output(0).Const(); node.OpType() == "Constant" && c != nil && c.DataType() == int32(onnx.TensorProto_FLOAT) {
				e, _ := c.Elements()
				n += e
			}
		}
	})
	return n
}

// Seq returns n deterministic values in [-1, 1) with no zeros.
func Seq(n int64, seed int) []float32 {
	out := make([]float32, n)
	x := uint32(seed*7919 + 17)
	for i := range out {
		x = x*1664525 + 1013904223
		f := float32(x>>8)/float32(1<<24)*2 - 1
		if math.Abs(float64(f)) < 1e-3 {
			f = 0.5
		}
		out[i] = f
	}
	return out
}

// GroupByName returns the group called name, failing the test when there
// is none.
func GroupByName(t *testing.T, an *channels.Analysis, name string) *channels.Group {
	t.Helper()
	for _, g := range an.Groups {
		if g.Name == name {
			return g
		}
	}
	var names []string
	for _, g := range an.Groups {
		names = append(names, g.Name)
	}
	t.Fatalf("no group %s (groups: %v)", name, names)
	return nil
}

// F32 is the element type of every tensor the tests build.
const F32 = onnx.TensorProto_FLOAT

func convAttrs(k, pad int64) []*onnx.AttributeProto {
	return []*onnx.AttributeProto{modelgen.AttrInts("kernel_shape", k, k), modelgen.AttrInts("pads", pad, pad, pad, pad)}
}

// BN adds a BatchNormalization of c channels with seeded parameters.
func BN(b *modelgen.Builder, name, x string, c int64, seed int) string {
	scale := b.Init(name+".scale", []int64{c}, Seq(c, seed))
	shift := b.Init(name+".shift", []int64{c}, Seq(c, seed+1))
	mean := b.Init(name+".mean", []int64{c}, Seq(c, seed+2))
	v := Seq(c, seed+3)
	for i := range v {
		v[i] = 1 + v[i]*v[i]
	}
	variance := b.Init(name+".var", []int64{c}, v)
	return b.Op(name, "BatchNormalization", []string{x, scale, shift, mean, variance})
}

// Conv adds a Conv from in to out channels (k×k kernel, padding pad, group
// groups) with seeded weights.
func Conv(b *modelgen.Builder, name, x string, in, out, k, pad, group int64, seed int) string {
	w := b.Init(name+".weight", []int64{out, in / group, k, k}, Seq(out*in/group*k*k, seed))
	attrs := convAttrs(k, pad)
	if group != 1 {
		attrs = append(attrs, modelgen.AttrInt("group", group))
	}
	return b.Op(name, "Conv", []string{x, w}, attrs...)
}

// MLPOptions is the generated MLP the channel pass tests share.
func MLPOptions() modelgen.MLPOptions {
	return modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 3, Seed: 5}
}
