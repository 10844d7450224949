package all_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/all"
)

// randomModel builds a small random network from seed: a chain of
// MatMul/Add/Gemm/Relu layers (MLP-ish) or Conv/BatchNormalization/Relu
// layers (Conv-ish), with residual adds, some dead branches and some
// constant subexpressions, so that every pass finds something to do.
func randomModel(seed int64) *onnx.ModelProto {
	r := rand.New(rand.NewSource(seed))
	b := modelgen.NewBuilder(fmt.Sprintf("fuzz%d", seed))
	b.Seed = seed
	if r.Intn(2) == 0 {
		return mlpish(r, b)
	}
	return convish(r, b)
}

func dim(r *rand.Rand) int64 { return []int64{1, 2, 3, 4, 5, 8, 16, 17}[r.Intn(8)] }

func mlpish(r *rand.Rand, b *modelgen.Builder) *onnx.ModelProto {
	width := dim(r)
	x := b.Input("x", onnx.TensorProto_FLOAT, "batch", width)
	for i, layers := 0, 1+r.Intn(4); i < layers; i++ {
		out := dim(r)
		w := b.InitNormal(fmt.Sprintf("l%d.weight", i), []int64{width, out}, 0, 1)
		bias := b.InitNormal(fmt.Sprintf("l%d.bias", i), []int64{out}, 0, 0.1)
		var y string
		switch r.Intn(3) {
		case 0:
			y = b.Op(fmt.Sprintf("l%d/add", i), "Add", []string{b.Op(fmt.Sprintf("l%d/mm", i), "MatMul", []string{x, w}), bias})
		case 1:
			wt := b.InitNormal(fmt.Sprintf("l%d.weight_t", i), []int64{out, width}, 0, 1)
			y = b.Op(fmt.Sprintf("l%d/gemm", i), "Gemm", []string{x, wt, bias}, modelgen.AttrInt("transB", 1))
		default:
			y = b.Op(fmt.Sprintf("l%d/mm", i), "MatMul", []string{x, w})
		}
		if r.Intn(2) == 0 {
			y = b.Op(fmt.Sprintf("l%d/relu", i), "Relu", []string{y})
		}
		if out == width && r.Intn(2) == 0 {
			y = b.Op(fmt.Sprintf("l%d/residual", i), "Add", []string{y, x})
		}
		if r.Intn(3) == 0 { // a constant subexpression feeding the layer
			c := b.Op(fmt.Sprintf("l%d/const", i), "Mul", []string{bias, bias})
			y = b.Op(fmt.Sprintf("l%d/shift", i), "Add", []string{y, c})
		}
		if r.Intn(4) == 0 { // a dead branch
			b.Op(fmt.Sprintf("l%d/dead", i), "Relu", []string{y})
		}
		x, width = y, out
	}
	b.Output(x, onnx.TensorProto_FLOAT, "batch", width)
	return b.Model(17)
}

func convish(r *rand.Rand, b *modelgen.Builder) *onnx.ModelProto {
	ch := dim(r)
	size := int64(8)
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, ch, size, size)
	for i, layers := 0, 1+r.Intn(3); i < layers; i++ {
		out := dim(r)
		k := []int64{1, 3}[r.Intn(2)]
		group := int64(1)
		if out == ch && r.Intn(3) == 0 {
			group = ch // depthwise
		}
		w := b.InitNormal(fmt.Sprintf("c%d.weight", i), []int64{out, ch / group, k, k}, 0, 1)
		inputs := []string{x, w}
		if r.Intn(2) == 0 {
			inputs = append(inputs, b.InitNormal(fmt.Sprintf("c%d.bias", i), []int64{out}, 0, 0.1))
		}
		pad := (k - 1) / 2
		y := b.Op(fmt.Sprintf("c%d/conv", i), "Conv", inputs,
			modelgen.AttrInts("kernel_shape", k, k), modelgen.AttrInts("pads", pad, pad, pad, pad), modelgen.AttrInt("group", group))
		if r.Intn(2) == 0 {
			scale := b.InitNormal(fmt.Sprintf("c%d.bn.scale", i), []int64{out}, 1, 0.05)
			shift := b.InitNormal(fmt.Sprintf("c%d.bn.shift", i), []int64{out}, 0, 0.05)
			mean := b.InitNormal(fmt.Sprintf("c%d.bn.mean", i), []int64{out}, 0, 0.05)
			vari := b.Init(fmt.Sprintf("c%d.bn.var", i), []int64{out}, ones(out))
			y = b.Op(fmt.Sprintf("c%d/bn", i), "BatchNormalization", []string{y, scale, shift, mean, vari})
		}
		y = b.Op(fmt.Sprintf("c%d/relu", i), "Relu", []string{y})
		if out == ch && r.Intn(2) == 0 {
			y = b.Op(fmt.Sprintf("c%d/residual", i), "Add", []string{y, x})
		}
		x, ch = y, out
	}
	b.Output(x, onnx.TensorProto_FLOAT, 1, ch, size, size)
	return b.Model(17)
}

func ones(n int64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// sampleStep picks options for pass p: defaults, or values drawn from r.
// Steps that need ONNX Runtime (quantize's static mode calibrates) are
// refused: the caller samples again.
func sampleStep(r *rand.Rand, p *passes.Pass) (passes.Step, error) {
	var given []passes.KV
	for _, o := range p.Options {
		// Most options keep their default: many only apply with another
		// (damp= with method=sparsegpt), and one set without it is refused.
		if o.Default != "" && r.Intn(4) != 0 {
			continue
		}
		var v string
		switch o.Kind {
		case passes.Float:
			v = []string{"0", "0.25", "0.5", "0.75", "0.9", "0.99"}[r.Intn(6)]
		case passes.Int:
			if o.Default == "" {
				continue
			}
			v = o.Default
		case passes.Bool:
			v = []string{"true", "false"}[r.Intn(2)]
		case passes.Enum:
			v = o.Values[r.Intn(len(o.Values))]
		default:
			continue
		}
		if p.Name == "prune" && o.Name == "threshold" || o.Name == "percentile" {
			continue // prune takes sparsity or threshold, not both; percentiles are (50, 100]
		}
		given = append(given, passes.KV{Key: o.Name, Value: v})
	}
	step, err := passes.NewStep(p.Name, given)
	if err == nil && step.NeedsRuntime() {
		return step, fmt.Errorf("%s needs ONNX Runtime", passes.Pipeline{step})
	}
	return step, err
}

// checkRun runs step over a fresh model from seed: the pass either fails
// with an error or leaves a model that passes the IR checker and writes
// out as a model that reads back. A recovered panic fails the test.
func checkRun(t *testing.T, seed int64, pipe passes.Pipeline) {
	t.Helper()
	m, err := graph.FromProto(randomModel(seed), nil)
	if err != nil {
		t.Fatalf("seed %d: generated model does not load: %v", seed, err)
	}
	if _, err := passes.Run(pipe, m, passes.RunOptions{Threads: 1}); err != nil {
		t.Logf("seed %d, pipeline %s: %v", seed, pipe, err)
		if strings.Contains(err.Error(), "internal error") {
			t.Fatalf("seed %d, pipeline %s: %v", seed, pipe, err)
		}
		return
	}
	if err := m.Graph.Check(); err != nil {
		t.Fatalf("seed %d, pipeline %s: IR check: %v", seed, pipe, err)
	}
	b, err := onnx.Encode(m.ToProto())
	if err != nil {
		t.Fatalf("seed %d, pipeline %s: encode: %v", seed, pipe, err)
	}
	p, err := onnx.Decode(b)
	if err != nil {
		t.Fatalf("seed %d, pipeline %s: output does not decode: %v", seed, pipe, err)
	}
	back, err := graph.FromProto(p, nil)
	if err == nil {
		err = back.Graph.Check()
	}
	if err != nil {
		t.Fatalf("seed %d, pipeline %s: output does not load: %v", seed, pipe, err)
	}
}

// FuzzPasses runs every registered pass, with default or sampled options,
// over small random graphs, one pass at a time and all in a row.
func FuzzPasses(f *testing.F) {
	for seed := int64(0); seed < 16; seed++ {
		f.Add(seed, uint64(seed))
	}
	f.Fuzz(func(t *testing.T, seed int64, optSeed uint64) {
		r := rand.New(rand.NewSource(int64(optSeed)))
		var all passes.Pipeline
		for _, p := range passes.All() {
			if p.NeedsReference {
				continue // repair always calibrates; its own tests run it
			}
			// Options that contradict each other are refused when the
			// pipeline is parsed (a usage error): sample again.
			step, err := sampleStep(r, p)
			for try := 0; err != nil && try < 500; try++ {
				step, err = sampleStep(r, p)
			}
			if err != nil {
				t.Fatalf("%s: no sampled options accepted: %v", p.Name, err)
			}
			checkRun(t, seed, passes.Pipeline{step})
			all = append(all, step)
		}
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		checkRun(t, seed, all)
	})
}

// TestNeedsRuntime: the passes say which of their runs call ONNX Runtime,
// the harness above relies on it.
func TestNeedsRuntime(t *testing.T) {
	for text, want := range map[string]bool{
		"quantize(mode=static)":  true,
		"quantize(mode=dynamic)": false,
		"quantize(type=int4)":    false,
		"dce":                    false,
	} {
		p, err := passes.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := p[0].NeedsRuntime(); got != want {
			t.Errorf("%s: NeedsRuntime() = %v, want %v", text, got, want)
		}
	}
}
