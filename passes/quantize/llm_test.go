package quantize

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/verify"
)

// prompts returns n batches of random token ids [batch, seq] below vocab.
func prompts(seed uint64, n, batch, seq int, vocab int64) [][]ort.Value {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]ort.Value, n)
	for i := range out {
		t, err := ort.NewTensor(ort.Int64, []int64{int64(batch), int64(seq)})
		if err != nil {
			panic(err)
		}
		for j := 0; j < batch*seq; j++ {
			binary.LittleEndian.PutUint64(t.Raw[8*j:], uint64(rng.Int64N(vocab)))
		}
		out[i] = []ort.Value{t}
	}
	return out
}

// writeSamples writes samples (one input each, named name) as a folder of
// ONNX test data sets, for calib=DIR.
func writeSamples(t testing.TB, name string, samples [][]ort.Value) string {
	t.Helper()
	dir := t.TempDir()
	for i, s := range samples {
		x := s[0].(*ort.Tensor)
		dt := int32(x.DType)
		tp := &onnx.TensorProto{Name: &name, DataType: &dt, Dims: x.Shape, RawData: x.Raw}
		b, err := proto.Marshal(tp)
		if err != nil {
			t.Fatal(err)
		}
		set := filepath.Join(dir, fmt.Sprintf("test_data_set_%d", i))
		if err := os.MkdirAll(set, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(set, "input_0.pb"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compareOn runs ref and cand on the given inputs and returns the
// comparison of their first output, and the share of samples' rows whose
// last-position arg-max agrees (for [batch, seq, vocab] logits; 0
// otherwise).
func compareOn(t testing.TB, ref, cand *onnx.ModelProto, inputs [][]ort.Value) (*verify.Diff, float64) {
	t.Helper()
	testenv.Runtime(t)
	rs, cs := open(t, ref), open(t, cand)
	d := &verify.Diff{Name: rs.Outputs()[0].Name}
	agree, rows := 0, 0
	for _, in := range inputs {
		ro, err := rs.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		co, err := cs.Run(in)
		if err != nil {
			t.Fatalf("running the quantized model: %v", err)
		}
		d.Add(ro[0], co[0], verify.Tolerance{CosineOnly: true})
		if sh := ro[0].(*ort.Tensor).Shape; len(sh) == 3 {
			a, b := floats(t, ro[0]), floats(t, co[0])
			seq, v := int(sh[1]), int(sh[2])
			for i := range int(sh[0]) {
				off := ((i+1)*seq - 1) * v
				rows++
				if argmax(a[off:off+v]) == argmax(b[off:off+v]) {
					agree++
				}
			}
		}
	}
	if rows == 0 {
		return d, 0
	}
	return d, float64(agree) / float64(rows)
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// randomInputs draws n samples of ref's inputs with seed.
func randomInputs(t testing.TB, ref *onnx.ModelProto, n int, seed int64, shapes ort.Shapes) [][]ort.Value {
	t.Helper()
	out := make([][]ort.Value, n)
	for k := range out {
		in, err := ort.GenerateInputs(ort.InputSpecs(ref), shapes, seed, k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = in
	}
	return out
}

// smallLlama is the acceptance model: hidden 128, 2 layers, vocab 512,
// tied head.
func smallLlama() *onnx.ModelProto {
	return modelgen.Llama(modelgen.LlamaOptions{Vocab: 512, Hidden: 128, Layers: 2, Heads: 4, KVHeads: 2, MaxSeq: 64, Seed: 5})
}

// TestLlamaINT4Gather checks the LLM recipe on a small tied Llama: every
// linear layer becomes MatMulNBits, the embedding GatherBlockQuantized,
// the tied table is stored once for both, and the logits stay close.
func TestLlamaINT4Gather(t *testing.T) {
	testenv.Heavy(t)
	ref := smallLlama()
	q, rep := apply(t, ref, "quantize(type=int4,block=32,gather=true)")
	ops := countOps(q)
	if ops["GatherBlockQuantized"] != 1 || ops["MatMulNBits"] != 15 || ops["MatMul"] != 4 || ops["Gemm"] != 0 {
		// 7 linear layers per decoder layer plus the head; the 4 MatMuls
		// left are attention's activation products.
		t.Errorf("ops %v", ops)
	}
	// One B shared by the Gather (through its Reshape) and the head.
	var gbq, head *onnx.NodeProto
	for _, n := range q.GetGraph().GetNode() {
		switch {
		case n.GetOpType() == "GatherBlockQuantized":
			gbq = n
		case n.GetOpType() == "MatMulNBits" && n.GetName() == "lm_head/Gemm":
			head = n
		}
	}
	if gbq == nil || head == nil {
		t.Fatalf("no GatherBlockQuantized or head MatMulNBits among %v", ops)
	}
	var rows *onnx.NodeProto
	for _, n := range q.GetGraph().GetNode() {
		if len(n.GetOutput()) > 0 && n.GetOutput()[0] == gbq.GetInput()[0] {
			rows = n
		}
	}
	if rows == nil || rows.GetOpType() != "Reshape" || rows.GetInput()[0] != head.GetInput()[1] || gbq.GetInput()[2] != head.GetInput()[2] {
		t.Errorf("embedding and head do not share B and scales: gather %v, head %v, rows %v", gbq.GetInput(), head.GetInput(), rows)
	}
	for _, init := range q.GetGraph().GetInitializer() {
		if init.GetName() == "embed_tokens.weight" {
			t.Error("the float embedding table is still stored")
		}
	}
	if len(rep.Tensors) != 15 {
		t.Errorf("%d tensors reported, want 15 (the tied table once)", len(rep.Tensors))
	}
	d, top1 := compareOn(t, ref, q, prompts(3, 8, 8, 16, 512)) // 64 prompts
	t.Logf("logits cosine %.5f, rel L2 %.4f, last-token top-1 agreement %.3f over 64 prompts", d.Cosine, d.RelL2, top1)
	// Random N(0, 0.02) weights have no structure for 4 bits to keep:
	// every weight carries about 8.6% relative rounding error (block 32),
	// and the logits measure 0.981 (0.985 at block 16).
	if d.Cosine < 0.975 {
		t.Errorf("logits cosine %.5f, want >= 0.975", d.Cosine)
	}
	if top1 < 0.95 {
		t.Errorf("top-1 agrees on %.3f of prompts, want >= 0.95", top1)
	}
}

// TestLlamaSize checks the size ratio on a Llama whose weights dominate.
func TestLlamaSize(t *testing.T) {
	testenv.Heavy(t)
	ref := modelgen.Llama(modelgen.LlamaOptions{Vocab: 4096, Hidden: 512, Layers: 2, Heads: 8, MaxSeq: 64})
	q, _ := apply(t, ref, "quantize(type=int4,block=32,gather=true)")
	before, after := len(encode(t, ref)), len(encode(t, q))
	ratio := float64(after) / float64(before)
	t.Logf("%d -> %d bytes (%.3f)", before, after, ratio)
	if ratio > 0.16 {
		t.Errorf("quantized model is %.3f of the float one, want <= 0.16", ratio)
	}
}

// TestLlamaINT8Head is the recipe that keeps the LM head at 8 bits: the
// head is excluded from the 4-bit pass, which still quantizes the tied
// table for the Gather, and a second pass stores the head in INT8.
func TestLlamaINT8Head(t *testing.T) {
	ref := smallLlama()
	q, _ := apply(t, ref, "quantize(type=int4,block=32,gather=true,exclude=lm_head*),quantize(type=int8,mode=weight-only,include=lm_head*)")
	ops := countOps(q)
	if ops["GatherBlockQuantized"] != 1 || ops["MatMulNBits"] != 14 || ops["Gemm"] != 1 || ops["DequantizeLinear"] != 1 {
		t.Errorf("ops %v", ops)
	}
	for _, n := range q.GetGraph().GetNode() {
		if n.GetName() == "lm_head/Gemm" {
			p, _ := producerOf(q, n.GetInput()[1])
			if p == nil || p.GetOpType() != "DequantizeLinear" {
				t.Errorf("the head's weight %s is not an INT8 DequantizeLinear", n.GetInput()[1])
			}
		}
	}
	d, top1 := compareOn(t, ref, q, prompts(3, 8, 8, 16, 512))
	t.Logf("logits cosine %.5f, rel L2 %.4f, top-1 %.3f", d.Cosine, d.RelL2, top1)
	if d.Cosine < 0.975 || top1 < 0.95 {
		t.Errorf("cosine %.5f, top-1 %.3f", d.Cosine, top1)
	}
}

func producerOf(p *onnx.ModelProto, name string) (*onnx.NodeProto, int) {
	for _, n := range p.GetGraph().GetNode() {
		for i, o := range n.GetOutput() {
			if o == name {
				return n, i
			}
		}
	}
	return nil, -1
}

// TestAccuracyLevels checks that ONNX Runtime loads and runs MatMulNBits
// at each accuracy level with every block size.
func TestAccuracyLevels(t *testing.T) {
	ref := modelgen.MLP(modelgen.MLPOptions{Dim: 128, Hidden: 256, Blocks: 1})
	for _, block := range []int{16, 32, 64, 128} {
		for _, level := range []int{0, 1, 4} {
			q, _ := apply(t, ref, fmt.Sprintf("quantize(type=int4,block=%d,accuracy-level=%d)", block, level))
			found := false
			for _, n := range q.GetGraph().GetNode() {
				if n.GetOpType() != "MatMulNBits" {
					continue
				}
				for _, a := range n.GetAttribute() {
					found = found || a.GetName() == "accuracy_level" && a.GetI() == int64(level)
				}
			}
			if !found {
				t.Fatalf("block %d: no MatMulNBits with accuracy_level %d", block, level)
			}
			if cos := cosines(t, ref, q, 2, ort.Shapes{"batch": {8}}); cos[0] < 0.98 {
				t.Errorf("block %d accuracy level %d: cosine %.4f", block, level, cos[0])
			}
		}
	}
}

func TestBadWeightOnlyOptions(t *testing.T) {
	for _, c := range []struct{ pipeline, want string }{
		{"quantize(type=int4,accuracy-level=5)", "accuracy-level=5"},
		{"quantize(type=int8,mode=dynamic,method=gptq)", "method=gptq"},
		{"quantize(mode=static,method=rtn)", "method=rtn"},
		{"quantize(type=int8,gather=true)", "gather=true"},
		{"quantize(type=int4,method=gptq,damps=0.1|0)", "damps="},
		{"quantize(type=int4,method=gptq,damps=x)", "damps="},
		{"quantize(type=int4,damps=0.1|1)", "damps= has no effect without method=gptq"},
		{"quantize(type=int4,damp=0.1)", "damp= has no effect without method=gptq"},
		{"quantize(type=int4,method=gptq,damp=0.1,damps=1)", "damp= or damps="},
	} {
		if _, err := passes.Parse(c.pipeline); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.pipeline, err, c.want)
		}
	}
}

// correlated returns n samples of a [batch, dim] float input whose rows
// lie near a rank-16 subspace with a few large-scale features, as
// activations of trained models do (independent uniform inputs give
// H ≈ σ²I, where GPTQ has nothing to exploit and equals rounding to
// nearest). The subspace is fixed; seed draws the rows.
func correlated(seed uint64, n, batch, dim int) [][]ort.Value {
	const rank = 16
	basis := rand.New(rand.NewPCG(99, 1))
	a := make([]float64, rank*dim)
	for i := range a {
		a[i] = basis.NormFloat64() / 4
	}
	scale := make([]float64, dim)
	for j := range scale {
		scale[j] = 1
		if j%37 == 0 {
			scale[j] = 8 // outlier features
		}
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([][]ort.Value, n)
	for s := range out {
		x := make([]float32, batch*dim)
		for r := range batch {
			z := make([]float64, rank)
			for i := range z {
				z[i] = rng.NormFloat64()
			}
			for j := range dim {
				v := 0.05 * rng.NormFloat64()
				for i := range z {
					v += z[i] * a[i*dim+j]
				}
				x[r*dim+j] = float32(v * scale[j])
			}
		}
		out[s] = []ort.Value{&ort.Tensor{DType: ort.Float32, Shape: []int64{int64(batch), int64(dim)}, Raw: onnx.Float32sAsBytes(x)}}
	}
	return out
}

// TestGPTQBeatsRTN fits GPTQ on calibration samples and compares the
// output error with rounding to nearest on held-out samples drawn with
// another seed.
func TestGPTQBeatsRTN(t *testing.T) {
	testenv.Heavy(t)
	testenv.Runtime(t)
	for _, c := range []struct {
		name     string
		opts     modelgen.MLPOptions
		typ      string
		maxRatio float64
	}{
		{"int4", modelgen.MLPOptions{Dim: 256, Hidden: 512}, "type=int4,block=32", 0.7},
		{"int4-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 512, TransB: true}, "type=int4,block=32", 0.7},
		{"int4-qdq", modelgen.MLPOptions{Dim: 256, Hidden: 512}, "type=int4,block=32,format=qdq", 0.7},
		{"int8", modelgen.MLPOptions{Dim: 256, Hidden: 512}, "type=int8,mode=weight-only", 0.9},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := modelgen.MLP(c.opts)
			dir := writeSamples(t, "input", correlated(1, 16, 64, 256))
			eval := correlated(2, 8, 64, 256)
			if ratio := gptqRatio(t, ref, c.typ, "calib="+dir+",samples=16", eval); ratio > c.maxRatio {
				t.Errorf("GPTQ error is %.2fx RTN's, want <= %.2f", ratio, c.maxRatio)
			}
		})
	}
}
