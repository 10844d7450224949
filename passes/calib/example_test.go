package calib_test

// This file is the whole of a pass that needs activations: its options
// are its own plus calib.Options(), and it reads per-layer statistics
// through a Capture. A real pass is this folder's shape plus one line in
// passes/all.

import (
	"fmt"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// examplePass reports the mean per-feature input norm of every MatMul.
var examplePass = &passes.Pass{
	Name:    "calib-example",
	Doc:     "report the input norms of every MatMul (a calibration example)",
	Options: calib.Options(),
	Check:   func(a passes.Args) error { _, err := calib.Configure(a); return err },
	Run: func(ctx *passes.Context, m *graph.Model, a passes.Args) error {
		cfg, err := calib.Configure(a)
		if err != nil {
			return err
		}
		cfg.Threads = ctx.Threads
		var targets []string
		for _, n := range m.Graph.Nodes {
			if n.OpType() == "MatMul" {
				targets = append(targets, n.Input(0).Name)
			}
		}
		c, err := calib.Open(m, cfg, targets)
		if err != nil {
			return err
		}
		defer c.Close()
		norms := map[string]*calib.L2{}
		for _, t := range targets {
			norms[t] = &calib.L2{}
		}
		err = c.Each(func(_ int, target string, x *ort.Tensor) error {
			rows, err := calib.Rows(x)
			if err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
			return norms[target].Add(rows)
		})
		if err != nil {
			return err
		}
		for _, t := range targets {
			ctx.Set(t, norms[t].Norms())
		}
		return nil
	},
}

func init() { passes.Register(examplePass) }

func TestExamplePass(t *testing.T) {
	m := mlp(t)
	pl, err := passes.Parse("calib-example(samples=3,shapes=x:5x4)")
	if err != nil {
		t.Fatal(err)
	}
	runtime(t)
	rep, err := passes.Run(pl, m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := rep.Passes[0].Extra["r"].([]float64); !ok || len(r) != 8 {
		t.Errorf("no norms of r's 8 features in %v", rep.Passes[0].Extra)
	}
	norms, ok := rep.Passes[0].Extra["x"].([]float64)
	if !ok || len(norms) != 4 {
		t.Fatalf("no norms of x's 4 features in %v", rep.Passes[0].Extra)
	}
	for j, v := range norms {
		if v <= 0 {
			t.Errorf("feature %d of x has norm %g over 15 random rows", j, v)
		}
	}
}
