package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
)

func TestIdenticalModelsGiveAnEmptyDiff(t *testing.T) {
	r := mustCompare(t, mlp(t), mlp(t))
	if !r.Empty() {
		t.Fatalf("identical models differ: %+v %+v", r.Nodes, r.Summary)
	}
	for _, td := range r.Tensors {
		if td.Status != "same" {
			t.Errorf("tensor %s: status %s, want same", td.Name, td.Status)
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text, 0); err != nil {
		t.Fatal(err)
	}
	if text.Len() != 0 {
		t.Errorf("text output for identical models:\n%s", text.String())
	}
}

func TestPrunedWeightsAreListedWithSparsity(t *testing.T) {
	a, b := mlp(t), mlp(t)
	pruned := matMulWeights(b)
	if len(pruned) < 3 {
		t.Fatalf("want several MatMul weights, got %d", len(pruned))
	}
	for _, w := range pruned {
		pruneHalf(t, w)
	}
	r := mustCompare(t, a, b)
	if len(r.Nodes.Added)+len(r.Nodes.Removed)+len(r.Nodes.Changed) != 0 {
		t.Errorf("pruning changed nodes: %+v", r.Nodes)
	}
	isPruned := map[string]bool{}
	for _, w := range pruned {
		isPruned[w.Name] = true
		td := tensorByName(r, w.Name)
		if td == nil {
			t.Fatalf("pruned weight %s is not listed", w.Name)
		}
		if td.Status != "changed" || td.Before.Sparsity != 0 || td.After.Sparsity < 0.49 || td.After.Sparsity > 0.51 {
			t.Errorf("%s: status %s, sparsity %.3f → %.3f; want changed, 0 → 0.5", w.Name, td.Status, td.Before.Sparsity, td.After.Sparsity)
		}
		if td.MaxAbsDiff == nil || *td.MaxAbsDiff <= 0 || td.RelChange == nil || *td.RelChange <= 0 || *td.RelChange >= 1 {
			t.Errorf("%s: max |Δ| %v, relative change %v; want both in (0, 1)", w.Name, td.MaxAbsDiff, td.RelChange)
		}
	}
	for _, td := range r.Tensors {
		if !isPruned[td.Name] && td.Status != "same" {
			t.Errorf("untouched tensor %s has status %s", td.Name, td.Status)
		}
	}
	if r.Summary.After.Sparsity <= r.Summary.Before.Sparsity {
		t.Errorf("overall sparsity %.3f → %.3f did not grow", r.Summary.Before.Sparsity, r.Summary.After.Sparsity)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text, 0); err != nil {
		t.Fatal(err)
	}
	for _, w := range pruned {
		if !strings.Contains(text.String(), w.Name) || !strings.Contains(text.String(), "0.0% → 50.0%") {
			t.Errorf("text output lacks %s with its sparsity:\n%s", w.Name, text.String())
		}
	}
}

func TestInt8DequantizeLinearIsRecognized(t *testing.T) {
	a, b := mlp(t), mlp(t)
	var target *graph.Node
	for _, n := range b.Graph.Nodes {
		if n.OpType() == "MatMul" {
			target = n
			break
		}
	}
	wname := target.Input(1).Name
	maxScale := quantizeInt8(t, b, target)
	r := mustCompare(t, a, b)
	td := tensorByName(r, wname)
	if td == nil || td.Status != "changed" || td.Quantized == nil {
		t.Fatalf("weight %s: %+v; want changed and quantized", wname, td)
	}
	q := td.Quantized
	if q.Scheme != "DequantizeLinear" || q.DType != "int8" || td.After.DType != "int8" || td.After.Bytes*4 != td.Before.Bytes {
		t.Errorf("quantized %+v, after %+v", q, td.After)
	}
	// Rounding to the nearest step: no element is off by more than half
	// the largest step.
	if q.MaxAbsErr <= 0 || q.MaxAbsErr > float64(maxScale)/2*1.0001 || q.RelErr == nil || *q.RelErr > 0.05 {
		t.Errorf("reconstruction error max %g (bound %g), relative %v", q.MaxAbsErr, maxScale/2, q.RelErr)
	}
	if len(r.Nodes.Added) != 1 || r.Nodes.Added[0].Op != "DequantizeLinear" {
		t.Errorf("added nodes %+v, want the DequantizeLinear", r.Nodes.Added)
	}
	if len(r.Nodes.Removed) != 0 {
		t.Errorf("removed nodes %+v", r.Nodes.Removed)
	}
	if scale := tensorByName(r, wname+"_scale"); scale == nil || scale.Status != "added" {
		t.Errorf("scale tensor: %+v, want added", scale)
	}
	if r.Summary.Quantized != 1 {
		t.Errorf("quantized count %d, want 1", r.Summary.Quantized)
	}
}

func TestMatMulNBitsReplacementIsMatchedAndReconstructed(t *testing.T) {
	a, b := mlp(t), mlp(t)
	var targets []*graph.Node
	for _, n := range b.Graph.Nodes {
		if n.OpType() == "MatMul" {
			targets = append(targets, n)
		}
	}
	weights := map[string]float32{}
	for _, n := range targets {
		w := n.Input(1).Name
		weights[w] = quantizeNBits(t, b, n, 16)
	}
	r := mustCompare(t, a, b)
	if len(r.Nodes.Added) != 0 || len(r.Nodes.Removed) != 0 {
		t.Errorf("MatMul → MatMulNBits should be matched, not added and removed: added %+v removed %+v", r.Nodes.Added, r.Nodes.Removed)
	}
	ops := 0
	for _, c := range r.Nodes.Changed {
		for _, ch := range c.Changes {
			if ch == "op MatMul → com.microsoft.MatMulNBits" {
				ops++
			}
		}
	}
	if ops != len(targets) {
		t.Errorf("%d op changes reported, want %d: %+v", ops, len(targets), r.Nodes.Changed)
	}
	for w, maxScale := range weights {
		td := tensorByName(r, w)
		if td == nil || td.Quantized == nil || td.Quantized.Scheme != "MatMulNBits" || td.Quantized.Bits != 4 {
			t.Fatalf("weight %s: %+v, want a 4-bit MatMulNBits weight", w, td)
		}
		if e := td.Quantized.MaxAbsErr; e <= 0 || e > float64(maxScale)/2*1.0001 {
			t.Errorf("%s: max reconstruction error %g, bound %g", w, e, maxScale/2)
		}
		if td.After.Name != "packed_"+w || td.After.DType != "uint8" {
			t.Errorf("%s replaced by %+v", w, td.After)
		}
	}
}

// rename gives every node and every value that is not a graph input or
// output a new name.
func rename(m *graph.Model) {
	m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			name := "renamed_" + strings.ReplaceAll(n.Name(), "/", "_")
			n.Proto.Name = &name
			for _, v := range n.Outputs() {
				if v != nil && !v.IsOutput() {
					v.Name = "v_" + v.Name
				}
			}
		}
		for _, v := range g.Initializers {
			v.Name = "w_" + v.Name
		}
	})
}

func TestRenamedNodesAndValuesAreMatched(t *testing.T) {
	a, b := mlp(t), mlp(t)
	rename(b)
	// Reverse independent nodes' file order too: matching must not rely
	// on it.
	for i, j := 0, len(b.Graph.Nodes)-1; i < j; i, j = i+1, j-1 {
		b.Graph.Nodes[i], b.Graph.Nodes[j] = b.Graph.Nodes[j], b.Graph.Nodes[i]
	}
	r := mustCompare(t, a, b)
	if len(r.Nodes.Added)+len(r.Nodes.Removed) != 0 {
		t.Fatalf("renaming added %+v and removed %+v nodes", r.Nodes.Added, r.Nodes.Removed)
	}
	if len(r.Nodes.Changed) != len(a.Graph.Nodes) {
		t.Errorf("%d nodes reported changed, want all %d as renamed", len(r.Nodes.Changed), len(a.Graph.Nodes))
	}
	for _, c := range r.Nodes.Changed {
		if c.After.Name != "renamed_"+strings.ReplaceAll(c.Before.Name, "/", "_") {
			t.Errorf("%s matched with %s", c.Before.Name, c.After.Name)
		}
		for _, ch := range c.Changes {
			if !strings.HasPrefix(ch, "renamed") && !strings.HasPrefix(ch, "output 0 renamed") {
				t.Errorf("%s: unexpected change %q", c.Before.Name, ch)
			}
		}
	}
	for _, td := range r.Tensors {
		if td.Status != "same" || td.After == nil || td.After.Name != "w_"+td.Name {
			t.Errorf("tensor %s: status %s after %+v; want same data under w_%s", td.Name, td.Status, td.After, td.Name)
		}
	}
}

func TestMetadataOpsetsAndIOChanges(t *testing.T) {
	a, b := mlp(t), mlp(t)
	b.SetMetadata("onnxopt.pipeline", "prune(sparsity=0.5)")
	b.SetOpset("", 19)
	b.Graph.Outputs[0].Name = "scores"
	r := mustCompare(t, a, b)
	if r.Empty() {
		t.Fatal("differences not seen")
	}
	find := func(list []Change, key string) *Change {
		for i := range list {
			if list[i].Key == key {
				return &list[i]
			}
		}
		return nil
	}
	if c := find(r.Metadata, "metadata_props.onnxopt.pipeline"); c == nil || c.Before != "" || c.After != "prune(sparsity=0.5)" {
		t.Errorf("metadata change: %+v in %+v", c, r.Metadata)
	}
	if c := find(r.Opsets, "ai.onnx"); c == nil || c.Before != "17" || c.After != "19" {
		t.Errorf("opset change: %+v in %+v", c, r.Opsets)
	}
	if c := find(r.IO, "output logits"); c == nil || !strings.HasPrefix(c.After, "scores:") {
		t.Errorf("output rename: %+v in %+v", c, r.IO)
	}
}

func TestJSONHasTheDocumentedKeys(t *testing.T) {
	a, b := mlp(t), mlp(t)
	pruneHalf(t, matMulWeights(b)[0])
	r := mustCompare(t, a, b)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"summary", "nodes", "tensors", "metadata"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	nodes := doc["nodes"].(map[string]any)
	for _, k := range []string{"added", "removed", "changed"} {
		if _, ok := nodes[k].([]any); !ok {
			t.Errorf("nodes.%s is %T, want a list", k, nodes[k])
		}
	}
	changed := 0
	for _, x := range doc["tensors"].([]any) {
		td := x.(map[string]any)
		for _, side := range []string{"before", "after"} {
			info := td[side].(map[string]any)
			for _, k := range []string{"dtype", "shape", "bytes", "sparsity"} {
				if _, ok := info[k]; !ok {
					t.Errorf("tensor %v: %s lacks %s", td["name"], side, k)
				}
			}
		}
		if td["status"] == "changed" {
			changed++
			if td["after"].(map[string]any)["sparsity"].(float64) != 0.5 {
				t.Errorf("pruned tensor %v: after sparsity %v", td["name"], td["after"])
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d changed tensors in JSON, want 1", changed)
	}
}

func TestSparseStorageIsComparedByValue(t *testing.T) {
	a, b := mlp(t), mlp(t)
	w := matMulWeights(b)[0]
	pruneHalf(t, w)
	pruneHalf(t, matMulWeights(a)[0])
	vals, _ := w.Tensor.Float32s()
	var nz []float32
	var idx []int64
	for i, x := range vals {
		if x != 0 {
			nz = append(nz, x)
			idx = append(idx, int64(i))
		}
	}
	b.Graph.MakeSparse(w, sparseTensor(w.Name, w.Tensor.Dims(), nz, idx))
	r := mustCompare(t, a, b)
	td := tensorByName(r, w.Name)
	if td == nil || td.After.Kind != "sparse" || td.MaxAbsDiff == nil || *td.MaxAbsDiff != 0 {
		t.Fatalf("sparse re-storage: %+v", td)
	}
	if td.Status != "changed" || td.After.Sparsity < 0.49 || td.After.Sparsity > 0.51 {
		t.Errorf("sparse storage: status %s, before %+v after %+v", td.Status, td.Before, td.After)
	}
}
