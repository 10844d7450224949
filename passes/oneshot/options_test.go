package oneshot_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/passes"
)

// TestBadOptions: options a calibrated method cannot honour are errors
// naming the option, when the pipeline is parsed.
func TestBadOptions(t *testing.T) {
	for text, want := range map[string]string{
		"prune(sparsity=0.5,method=lasso)":                  "method",
		"prune(threshold=0.1,method=wanda)":                 "threshold",
		"prune(sparsity=0.5,scope=global,method=sparsegpt)": "scope=global",
		"prune(sparsity=0.5,method=sparsegpt,damp=0)":       "damp=0",
		"prune(sparsity=0.5,method=sparsegpt,blocksize=0)":  "blocksize=0",
		"prune(sparsity=0.5,method=wanda,samples=0)":        "samples=0",
		"nm(method=sparsegpt,damp=-1)":                      "damp=-1",
		"prune(sparsity=0.5,method=sparsegpt,mask=column)":  "mask",
		"nm(method=wanda,calib=/no/such/folder)":            "calib",
		"prune(sparsity=0.5,layers=owl)":                    "layers=owl",
		"prune(sparsity=0.5,layers=error)":                  "layers=error",
		"nm(method=wanda,layers=owl)":                       "layers",
		// Options that would be ignored are refused, naming what they need.
		"prune(sparsity=0.5,calib=cal)":                         "calib= has no effect without method=wanda or method=sparsegpt",
		"nm(samples=4)":                                         "samples= has no effect without method=",
		"prune(sparsity=0.5,mask=layer)":                        "mask= has no effect",
		"prune(sparsity=0.5,method=wanda,damp=0.1)":             "damp= has no effect without method=sparsegpt",
		"nm(method=wanda,damps=0.1|1)":                          "damps= has no effect",
		"prune(sparsity=0.5,method=sparsegpt,damp=0.1,damps=1)": "damp= or damps=",
		"prune(sparsity=0.5,method=sparsegpt,damps=0.1|-1)":     "damps=",
		"nm(method=sparsegpt,mask=row)":                         "mask=",
		"prune(sparsity=0.5,target=original)":                   "target= has no effect without method=wanda or method=sparsegpt",
		"nm(method=wanda,ridge=0.5)":                            "ridge= has no effect without target=original",
		"nm(method=wanda,target=original,ridge=-1)":             "ridge=-1",
	} {
		_, err := passes.Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %q", text, err, want)
		}
	}
}

// TestNeedsRuntime: only the calibrated methods need ONNX Runtime.
func TestNeedsRuntime(t *testing.T) {
	for text, want := range map[string]bool{
		"prune(sparsity=0.5)":                  false,
		"prune(sparsity=0.5,method=magnitude)": false,
		"prune(sparsity=0.5,method=wanda)":     true,
		"prune(sparsity=0.5,method=sparsegpt)": true,
		"nm":                                   false,
		"nm(method=sparsegpt)":                 true,
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

// TestDynamicShapesNeedSizes: calibrating on random inputs with an
// unsized dynamic dimension is refused before any weight changes.
func TestDynamicShapesNeedSizes(t *testing.T) {
	runtime(t)
	p := modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1, Rank3: true})
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := passtest.Values(t, m, "block0.fc1.weight")[0]
	_, err = passtest.RunErr(m, "prune(sparsity=0.5,method=wanda)", 0)
	if err == nil || !strings.Contains(err.Error(), "shapes=") {
		t.Fatalf("error %v, want one asking for shapes=", err)
	}
	if after := passtest.Values(t, m, "block0.fc1.weight")[0]; after != before {
		t.Errorf("a weight changed before the error")
	}
}
