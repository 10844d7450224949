package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
)

// diffModels writes a small MLP and the given pipelines' outputs of it,
// and returns their paths: the original first.
func diffModels(t *testing.T, pipelines ...string) []string {
	t.Helper()
	dir := t.TempDir()
	orig := filepath.Join(dir, "mlp.onnx")
	if err := modelgen.WriteMLP(orig, modelgen.MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Classes: 8, Seed: 3}, false); err != nil {
		t.Fatal(err)
	}
	paths := []string{orig}
	for i, p := range pipelines {
		out := filepath.Join(dir, "out"+string(rune('a'+i))+".onnx")
		if code, _, stderr := runCaptured(t, "run", "-p", p, orig, "-o", out); code != 0 {
			t.Fatalf("run -p %s: exit %d: %s", p, code, stderr)
		}
		paths = append(paths, out)
	}
	return paths
}

func TestDiffIdenticalModelsPrintsNothing(t *testing.T) {
	p := diffModels(t)
	copyPath := filepath.Join(t.TempDir(), "copy.onnx")
	data, err := os.ReadFile(p[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCaptured(t, "diff", "--exit-code", p[0], copyPath)
	if code != 0 || stdout != "" {
		t.Errorf("identical models: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestDiffPrunedAndQuantized(t *testing.T) {
	p := diffModels(t, "prune(sparsity=0.5)", "quantize(type=int8)")
	code, stdout, stderr := runCaptured(t, "diff", p[0], p[1])
	if code != 0 {
		t.Fatalf("diff pruned: exit %d: %s", code, stderr)
	}
	for _, w := range []string{"block0.fc1.weight", "block0.fc2.weight", "block1.fc1.weight", "block1.fc2.weight", "head.weight"} {
		found := false
		for _, line := range strings.Split(stdout, "\n") {
			if strings.Contains(line, w) && strings.Contains(line, "0.0% → 50.0%") {
				found = true
			}
		}
		if !found {
			t.Errorf("pruned weight %s not listed with sparsity 0%% → 50%%:\n%s", w, stdout)
		}
	}
	if code, _, _ := runCaptured(t, "diff", "--exit-code", p[0], p[1]); code != exitFailure {
		t.Errorf("--exit-code on differing models: exit %d, want %d", code, exitFailure)
	}

	code, stdout, stderr = runCaptured(t, "diff", "--json", p[0], p[2])
	if code != 0 {
		t.Fatalf("diff quantized: exit %d: %s", code, stderr)
	}
	var doc struct {
		Summary struct {
			Quantized int `json:"tensors_quantized"`
		} `json:"summary"`
		Nodes struct {
			Changed []struct {
				Changes []string `json:"changes"`
			} `json:"changed"`
		} `json:"nodes"`
		Tensors []struct {
			Name      string `json:"name"`
			Status    string `json:"status"`
			Quantized *struct {
				RelErr float64 `json:"rel_err"`
			} `json:"quantized"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout)
	}
	if doc.Summary.Quantized != 5 {
		t.Errorf("%d quantized weights, want the 5 MatMul weights", doc.Summary.Quantized)
	}
	added := 0
	for _, td := range doc.Tensors {
		if td.Quantized != nil && (td.Status != "changed" || td.Quantized.RelErr <= 0 || td.Quantized.RelErr > 0.05) {
			t.Errorf("quantized %s: status %s, relative error %g", td.Name, td.Status, td.Quantized.RelErr)
		}
		if td.Status == "added" {
			added++
		}
	}
	if added == 0 {
		t.Error("no scale tensors added")
	}
	replaced := 0
	for _, c := range doc.Nodes.Changed {
		for _, ch := range c.Changes {
			if strings.HasPrefix(ch, "op MatMul → com.microsoft.") {
				replaced++
			}
		}
	}
	if replaced != 5 {
		t.Errorf("%d MatMul nodes reported replaced, want 5", replaced)
	}
}

func TestDiffHTMLIsWritten(t *testing.T) {
	p := diffModels(t, "prune(sparsity=0.5)")
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, stderr := runCaptured(t, "diff", "--html", page, "--hist", "block0.fc1.weight", p[0], p[1]); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="plot-sparsity"`, `id="plot-hist-0"`, "Histogram of block0.fc1.weight", `<table class="sortable" id="tensors">`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if code, _, _ := runCaptured(t, "diff", "--html", page, "--hist", "no.such.weight", p[0], p[1]); code != exitUsage {
		t.Errorf("--hist of an unknown weight: exit %d, want %d", code, exitUsage)
	}
}

func TestDiffExitCodes(t *testing.T) {
	p := diffModels(t)
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"diff", p[0]}, exitUsage},
		{[]string{"diff", "--no-such-flag", p[0], p[0]}, exitUsage},
		{[]string{"diff", "--hist", "x", p[0], p[0]}, exitUsage},
		{[]string{"diff", "--limit", "-1", p[0], p[0]}, exitUsage},
		{[]string{"diff", p[0], bad}, exitFailure},
		{[]string{"diff", p[0], filepath.Join(t.TempDir(), "missing.onnx")}, exitFailure},
	} {
		code, _, stderr := runCaptured(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
		if c.code != 0 && !strings.HasPrefix(stderr, "onnxopt: ") {
			t.Errorf("%v: stderr %q lacks the error", c.args, stderr)
		}
	}
}

func TestDiffRunPerLayer(t *testing.T) {
	testenv.Runtime(t)
	p := diffModels(t, "quantize(type=int4)")
	code, stdout, stderr := runCaptured(t, "diff", "--json", "--per-layer", p[0], p[1])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Outputs []struct {
			Name  string   `json:"name"`
			RelL2 *float64 `json:"rel_l2"`
		} `json:"outputs"`
		Layers []struct {
			Name  string   `json:"name"`
			RelL2 *float64 `json:"rel_l2"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Outputs) != 1 || doc.Outputs[0].RelL2 == nil || *doc.Outputs[0].RelL2 <= 0 || *doc.Outputs[0].RelL2 > 0.5 {
		t.Fatalf("outputs: %+v", doc.Outputs)
	}
	if len(doc.Layers) < 4 {
		t.Fatalf("%d layers compared: %+v", len(doc.Layers), doc.Layers)
	}
	// 4-bit weights make the first layer's output differ already.
	if doc.Layers[0].RelL2 == nil || *doc.Layers[0].RelL2 <= 0 {
		t.Errorf("first layer: %+v", doc.Layers[0])
	}
	var growth []string
	for _, l := range doc.Layers {
		if l.RelL2 != nil {
			growth = append(growth, fmt.Sprintf("%s %.3g", l.Name, *l.RelL2))
		}
	}
	t.Logf("output relative L2 %.4g; per layer: %s", *doc.Outputs[0].RelL2, strings.Join(growth, ", "))
}
