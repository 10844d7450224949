package quantize

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

func TestBadOptions(t *testing.T) {
	for _, c := range []struct{ pipeline, want string }{
		{"quantize(type=int4,block=20)", "block=20"},
		{"quantize(type=int4,mode=dynamic)", "weight-only"},
		{"quantize(ops=Relu)", `cannot quantize "Relu"`},
		{"quantize(mode=static,samples=0)", "samples=0"},
		{"quantize(mode=static,shapes=x:1xq)", `dimension "q"`},
		{"quantize(mode=static,calib=/nonexistent/folder)", "calib"},
		{"quantize(type=int4,target=original)", "target= has no effect without method=gptq"},
		{"quantize(type=int4,grid=minmax)", "grid= has no effect without method=gptq"},
		{"quantize(type=int4,method=gptq,target=layer,ridge=1)", "ridge= has no effect without target=original"},
		{"quantize(type=int4,method=gptq,target=original,ridge=0)", "ridge=0"},
	} {
		m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1}), nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := passes.Parse(c.pipeline)
		if err == nil {
			_, err = passes.Run(pl, m, passes.RunOptions{})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.pipeline, err, c.want)
		}
	}
}

// TestUnsizedImage checks that random calibration refuses an image input
// whose height and width are dynamic and not given by shapes (it would be
// calibrated on 1x1 images), before changing the model, and that naming
// them, by input or by dimension, is enough.
func TestUnsizedImage(t *testing.T) {
	b := modelgen.NewBuilder("img")
	f := onnx.TensorProto_FLOAT
	b.Input("x", f, "N", 3, "H", "W")
	b.Output("y", f, "N", 4, "H", "W")
	w := b.InitNormal("w", []int64{4, 3, 1, 1}, 0, 0.5)
	b.Node("Conv", []string{"x", w}, []string{"y"})
	model := b.Model(13)
	m, err := graph.FromProto(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Graph.DumpString()
	pl, err := passes.Parse("quantize(mode=static)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = passes.Run(pl, m, passes.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), `input "x" has dynamic dimensions 2 (H), 3 (W)`) || !strings.Contains(err.Error(), "shapes=x:1x3x224x224") {
		t.Errorf("error %v, want one naming x's H and W and suggesting shapes=", err)
	}
	if after := m.Graph.DumpString(); after != before {
		t.Errorf("the refused pass changed the model:\n%s\nwas\n%s", after, before)
	}
	testenv.Runtime(t)
	for _, sh := range []string{"x:2x3x8x8", "H:8|W:8"} {
		q, _ := apply(t, model, "quantize(mode=static,samples=1,shapes="+sh+")")
		if countOps(q)["QuantizeLinear"] != 2 {
			t.Errorf("shapes=%s: ops %v, want the Conv quantized", sh, countOps(q))
		}
	}
}
