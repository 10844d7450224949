package quantize

import (
	"github.com/onnxopt/onnxopt/internal/testenv"
	"slices"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// boundaryTypes returns the element types of a model's inputs and outputs.
func boundaryTypes(p *onnx.ModelProto) []int32 {
	var out []int32
	for _, vs := range [][]*onnx.ValueInfoProto{p.GetGraph().GetInput(), p.GetGraph().GetOutput()} {
		for _, v := range vs {
			out = append(out, v.GetType().GetTensorType().GetElemType())
		}
	}
	return out
}

// scaleTypes returns the data types of the scale inputs (input scaleAt) of
// the nodes of type op.
func scaleTypes(p *onnx.ModelProto, op string, scaleAt int) map[string]int32 {
	types := initTypes(p)
	out := map[string]int32{}
	for _, n := range p.GetGraph().GetNode() {
		if n.GetOpType() == op && len(n.GetInput()) > scaleAt {
			out[n.GetInput()[scaleAt]] = types[n.GetInput()[scaleAt]]
		}
	}
	return out
}

// TestInt4Float16MLP quantizes a float16 MLP to 4 bits in both forms: the
// scales are float16, no Cast is needed, the model keeps float16 at its
// boundary, runs in ONNX Runtime close to the float16 model, and is at
// most 0.16 of the float32 file.
func TestInt4Float16MLP(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     modelgen.MLPOptions
		pipeline string
		op       string
		scaleAt  int
	}{
		{"matmulnbits", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=int4,block=32)", "MatMulNBits", 2},
		{"matmulnbits-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 1024, TransB: true}, "quantize(type=int4,block=32)", "MatMulNBits", 2},
		{"matmulnbits-uint4-asym", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=uint4,block=32,symmetric=false)", "MatMulNBits", 2},
		{"matmulnbits-gptq", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=int4,block=32,method=gptq,samples=8)", "MatMulNBits", 2},
		{"qdq", modelgen.MLPOptions{Dim: 256, Hidden: 1024, Rank3: true}, "quantize(type=int4,block=32,format=qdq)", "DequantizeLinear", 1},
		{"qdq-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 1024, TransB: true}, "quantize(type=int4,block=32,format=qdq)", "DequantizeLinear", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f32 := modelgen.MLP(c.opts)
			ref := half(t, f32)
			q, rep := apply(t, ref, c.pipeline)
			if got := rep.Extra["quantized_nodes"]; got != 5 {
				t.Fatalf("quantized_nodes %v, want 5; skipped %v", got, rep.Skipped)
			}
			if n := countOps(q)[c.op]; n != 5 {
				t.Errorf("%d %s nodes, want 5 (ops %v)", n, c.op, countOps(q))
			}
			if casts, ok := rep.Extra["casts_inserted"]; ok || countOps(q)["Cast"] != countOps(ref)["Cast"] {
				t.Errorf("casts_inserted %v, %d Cast nodes (float16 model: %d): want none added", casts, countOps(q)["Cast"], countOps(ref)["Cast"])
			}
			for name, st := range scaleTypes(q, c.op, c.scaleAt) {
				if st != tFloat16 {
					t.Errorf("scale %s is %s, want float16", name, onnx.DataTypeName(st))
				}
			}
			if got, want := boundaryTypes(q), boundaryTypes(ref); !slices.Equal(got, want) {
				t.Errorf("boundary types %v, want the float16 model's %v", got, want)
			}
			cos := cosines(t, ref, q, 4, nil)
			size32, size16, size := len(encode(t, f32)), len(encode(t, ref)), len(encode(t, q))
			t.Logf("%s: cosine %.5f vs float16; size %.3f of float32, %.3f of float16", c.pipeline, cos[0], float64(size)/float64(size32), float64(size)/float64(size16))
			if cos[0] < 0.98 {
				t.Errorf("cosine %.5f vs float16, want >= 0.98", cos[0])
			}
			if r := float64(size) / float64(size32); r > 0.16 {
				t.Errorf("file is %.3f of the float32 one, want <= 0.16", r)
			}
		})
	}
}

// TestInt4Float16Llama quantizes a float16 tied Llama with gather=true:
// every linear layer is a float16 MatMulNBits, the embedding a float16
// GatherBlockQuantized, the tied table stored once for both, and the
// logits stay close to the float16 model's.
func TestInt4Float16Llama(t *testing.T) {
	testenv.Heavy(t)
	ref := half(t, smallLlama())
	q, rep := apply(t, ref, "quantize(type=int4,block=32,gather=true)")
	ops := countOps(q)
	if ops["GatherBlockQuantized"] != 1 || ops["MatMulNBits"] != 15 || ops["Gemm"] != 0 || ops["Cast"] != countOps(ref)["Cast"] {
		t.Errorf("ops %v (float16 model: %v)", ops, countOps(ref))
	}
	if len(rep.Tensors) != 15 {
		t.Errorf("%d tensors reported, want 15 (the tied table once)", len(rep.Tensors))
	}
	gbq := scaleTypes(q, "GatherBlockQuantized", 2)
	head := scaleTypes(q, "MatMulNBits", 2)
	for name, st := range gbq {
		if _, shared := head[name]; !shared || st != tFloat16 {
			t.Errorf("embedding scales %s (%s) not the head's float16 ones", name, onnx.DataTypeName(st))
		}
	}
	for name := range initTypes(q) {
		if name == "embed_tokens.weight" {
			t.Error("the float embedding table is still stored")
		}
	}
	d, top1 := compareOn(t, ref, q, prompts(3, 8, 8, 16, 512))
	t.Logf("logits cosine %.5f, rel L2 %.4f, last-token top-1 agreement %.3f over 64 prompts", d.Cosine, d.RelL2, top1)
	if d.Cosine < 0.975 { // as the float32 model (TestLlamaINT4Gather)
		t.Errorf("logits cosine %.5f vs float16, want >= 0.975", d.Cosine)
	}
}

// TestInt4Float16LlamaSize checks the size ratio on a float16 Llama whose
// weights dominate, against the float32 and the float16 files.
func TestInt4Float16LlamaSize(t *testing.T) {
	testenv.Heavy(t)
	f32 := modelgen.Llama(modelgen.LlamaOptions{Vocab: 4096, Hidden: 512, Layers: 2, Heads: 8, MaxSeq: 64})
	ref := half(t, f32)
	q, _ := apply(t, ref, "quantize(type=int4,block=32,gather=true)")
	size32, size16, size := len(encode(t, f32)), len(encode(t, ref)), len(encode(t, q))
	r := float64(size) / float64(size32)
	t.Logf("%d (float32) / %d (float16) -> %d bytes: %.3f of float32, %.3f of float16", size32, size16, size, r, float64(size)/float64(size16))
	if r > 0.16 {
		t.Errorf("quantized model is %.3f of the float32 one, want <= 0.16", r)
	}
}
