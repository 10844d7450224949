package inspect_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	_ "github.com/onnxopt/onnxopt/passes/all"
)

// TestQuantizedLayers: inspect lists the nodes reading integer weights
// with the float shape they stand for, bits, blocks, scale type,
// accuracy_level and bytes, for quantize's 4-bit LLM forms and its
// dynamic Conv.
func TestQuantizedLayers(t *testing.T) {
	llama, err := graph.FromProto(modelgen.Llama(modelgen.LlamaOptions{Vocab: 64, Hidden: 64, Intermediate: 128, Layers: 1, Heads: 2, MaxSeq: 16, Seed: 1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := inspect.Model(llama)
	if err != nil {
		t.Fatal(err)
	}
	passtest.Run(t, llama, "quantize(type=int4,gather=true,block=32)", 1)
	s, err := inspect.Model(llama)
	if err != nil {
		t.Fatal(err)
	}
	// Parameters count the weights packed codes stand for (the tied table
	// once), not the packed bytes, nor the scales: quantizing keeps them
	// (plus the 2-element shape of the Reshape that shows the packed
	// table to GatherBlockQuantized as rows).
	if s.Params != before.Params+2 {
		t.Errorf("%d parameters after quantization, %d before; want %d", s.Params, before.Params, before.Params+2)
	}
	byOp := map[string][]inspect.QuantizedLayer{}
	for _, l := range s.Quantized {
		byOp[l.Op] = append(byOp[l.Op], l)
	}
	gbq := byOp["com.microsoft.GatherBlockQuantized"]
	if len(gbq) != 1 || gbq[0].Shape[0] != 64 || gbq[0].Shape[1] != 64 || gbq[0].Bits != 4 || gbq[0].Block != 32 || gbq[0].DType != "uint4" {
		t.Errorf("GatherBlockQuantized layers %+v; want one uint4 [64 64] table in blocks of 32", gbq)
	}
	nb := byOp["com.microsoft.MatMulNBits"]
	if len(nb) != 8 { // 7 linear layers and the tied head
		t.Fatalf("%d MatMulNBits layers, want 8: %+v", len(nb), nb)
	}
	for _, l := range nb {
		// 4 bits per weight, one float32 scale per 32 weights, maybe
		// zero points: between 0.5 and 0.7 bytes per weight.
		e := l.Shape[0] * l.Shape[1]
		if l.AccuracyLevel == nil || *l.AccuracyLevel != 4 || l.ScaleDType != "float32" || l.Bytes < e/2+e/8 || l.Bytes > e*7/10 {
			t.Errorf("%+v: want accuracy_level 4, float32 scales, ~0.625 bytes per weight", l)
		}
	}

	cnn, err := graph.FromProto(modelgen.CNN(modelgen.CNNOptions{Channels: 8, Stages: 1, Height: 8, Width: 8, Seed: 1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	passtest.Run(t, cnn, "quantize(mode=dynamic,dynamic-conv=true)", 1)
	if s, err = inspect.Model(cnn); err != nil {
		t.Fatal(err)
	}
	convs := 0
	for _, l := range s.Quantized {
		if l.Op == "ConvInteger" {
			convs++
			if l.DType != "uint8" || l.Bits != 8 || len(l.Shape) != 4 {
				t.Errorf("%+v: want a uint8 4-D weight", l)
			}
		}
	}
	if convs != 4 {
		t.Errorf("%d ConvInteger layers, want 4", convs)
	}
}
