package convertfloat_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

// TestConvertFloatStreams: a Llama with external weights converted to
// float16 streamed writes the bytes of the in-memory run, holding a weight
// and its converted form at a time, in half the side file.
func TestConvertFloatStreams(t *testing.T) {
	in := filepath.Join(t.TempDir(), "llama.onnx")
	o := modelgen.LlamaOptions{Vocab: 512, Hidden: 64, Layers: 2, MaxSeq: 16, Seed: 2}
	if err := onnx.WriteFile(in, modelgen.Llama(o), onnx.WriteOptions{ExternalThreshold: 1024, ExternalLocation: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	total, largest := passtest.ExternalBytes(t, in)
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	for _, pipeline := range []string{"convert-float(to=float16)", "convert-float(to=bfloat16,compute=float32)"} {
		want, _, _ := passtest.RunFile(t, in, pipeline, false, opts)
		got, _, peak := passtest.RunFile(t, in, pipeline, true, opts)
		passtest.SameFiles(t, want, got)
		var side int64
		for name, b := range got {
			if name != "out.onnx" {
				side += int64(len(b))
			}
		}
		if side == 0 || side > total/2+64*64 {
			t.Errorf("%s: side files %d bytes for %d bytes of float32 weights: want about half", pipeline, side, total)
		}
		// One thread: a weight read and its 16-bit copy.
		if limit := largest + largest/2; peak > 2*limit || peak >= total/2 {
			t.Errorf("%s: peak held %d bytes; want about one weight (largest %d, model %d)", pipeline, peak, largest, total)
		}
	}
}
