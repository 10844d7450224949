package diff

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/onnx"
)

// Result is everything that differs between two models.
type Result struct {
	Before   string        `json:"before"`
	After    string        `json:"after"`
	Summary  Summary       `json:"summary"`
	Nodes    Nodes         `json:"nodes"`
	Tensors  []*TensorDiff `json:"tensors"`
	IO       []Change      `json:"io"`
	Opsets   []Change      `json:"opsets"`
	Metadata []Change      `json:"metadata"`
	// Outputs and Layers are filled by RunOutputs.
	Outputs []*ValueError `json:"outputs,omitempty"`
	Layers  []*ValueError `json:"layers,omitempty"`
	// Histograms are filled by AddHistograms.
	Histograms []*Histogram `json:"histograms,omitempty"`

	a, b     *graph.Model
	matching *Matching
}

// Summary holds the totals of both models.
type Summary struct {
	Before Totals `json:"before"`
	After  Totals `json:"after"`
	// Counts of differences: nodes added, removed, changed; tensors added,
	// removed, changed (quantized ones included); quantized tensors.
	NodesAdded     int `json:"nodes_added"`
	NodesRemoved   int `json:"nodes_removed"`
	NodesChanged   int `json:"nodes_changed"`
	TensorsAdded   int `json:"tensors_added"`
	TensorsRemoved int `json:"tensors_removed"`
	TensorsChanged int `json:"tensors_changed"`
	Quantized      int `json:"tensors_quantized"`
}

// Totals summarizes one model.
type Totals struct {
	Params   int64          `json:"params"`
	Bytes    int64          `json:"bytes"`
	Sparsity float64        `json:"sparsity"` // zeros among all constant elements
	Nodes    int            `json:"node_count"`
	Ops      map[string]int `json:"ops"`
}

// Nodes lists the node differences.
type Nodes struct {
	Added   []NodeRef     `json:"added"`
	Removed []NodeRef     `json:"removed"`
	Changed []*NodeChange `json:"changed"`
}

// NodeRef names a node.
type NodeRef struct {
	Name    string   `json:"name"`
	Op      string   `json:"op"`
	Graph   string   `json:"graph,omitempty"` // subgraph name; empty for the main graph
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// NodeChange is a matched pair of nodes that differ.
type NodeChange struct {
	Before  NodeRef  `json:"before"`
	After   NodeRef  `json:"after"`
	Matched string   `json:"matched_by"` // name, output, neighbour, position
	Changes []string `json:"changes"`
}

// TensorInfo describes a constant on one side.
type TensorInfo struct {
	Name     string  `json:"name"`
	DType    string  `json:"dtype"`
	Shape    []int64 `json:"shape"`
	Bytes    int64   `json:"bytes"`
	Sparsity float64 `json:"sparsity"`
	Kind     string  `json:"kind"` // initializer, sparse, constant
}

// TensorDiff is one constant of either model and what became of it.
type TensorDiff struct {
	Name   string      `json:"name"`
	Status string      `json:"status"` // added, removed, changed, same
	Before *TensorInfo `json:"before,omitempty"`
	After  *TensorInfo `json:"after,omitempty"`
	// MaxAbsDiff and RelChange compare same-shape float pairs (float16,
	// bfloat16 and float64 decoded to float32): the
	// largest absolute difference and ||after-before|| / ||before||.
	MaxAbsDiff *float64   `json:"max_abs_diff,omitempty"`
	RelChange  *float64   `json:"rel_change,omitempty"`
	Quantized  *Quantized `json:"quantized,omitempty"`
	Changes    []string   `json:"changes,omitempty"`

	a, b *graph.Value
	deq  *dequantized
}

// Change is one differing item (a graph input, an opset, a metadata
// entry): its value before and after ("" when absent).
type Change struct {
	Key    string `json:"key"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Compare reports the differences from a to b. The labels name the models
// in reports (file paths, usually).
func Compare(a, b *graph.Model, labelA, labelB string) (*Result, error) {
	m, err := Match(a, b)
	if err != nil {
		return nil, err
	}
	r := &Result{Before: labelA, After: labelB, a: a, b: b, matching: m,
		Nodes: Nodes{Added: []NodeRef{}, Removed: []NodeRef{}, Changed: []*NodeChange{}},
		IO:    []Change{}, Opsets: []Change{}, Metadata: []Change{}}
	sa, err := inspect.Model(a)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", labelA, err)
	}
	sb, err := inspect.Model(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", labelB, err)
	}
	r.Summary.Before, r.Summary.After = totals(sa), totals(sb)
	r.diffNodes()
	if err := r.diffTensors(sa, sb); err != nil {
		return nil, err
	}
	r.diffIO()
	r.diffModel()
	return r, nil
}

// Empty reports whether the models do not differ at all.
func (r *Result) Empty() bool {
	if len(r.Nodes.Added)+len(r.Nodes.Removed)+len(r.Nodes.Changed)+len(r.IO)+len(r.Opsets)+len(r.Metadata) > 0 {
		return false
	}
	for _, t := range r.Tensors {
		if t.Status != "same" || len(t.Changes) > 0 {
			return false
		}
	}
	return true
}

func totals(s *inspect.Summary) Totals {
	t := Totals{Params: s.Params, Bytes: s.TotalBytes, Nodes: s.Nodes, Ops: s.Ops}
	var zeros, n float64
	for _, x := range s.Tensors {
		e, err := onnx.NumElements(x.Shape)
		if err != nil {
			continue
		}
		zeros += x.Sparsity * float64(e)
		n += float64(e)
	}
	if n > 0 {
		t.Sparsity = zeros / n
	}
	return t
}

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}
