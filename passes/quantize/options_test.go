package quantize

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
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
