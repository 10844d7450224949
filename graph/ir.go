package graph

import (
	"sync"

	"github.com/onnxopt/onnxopt/onnx"
)

// Model is an ONNX model in IR form.
type Model struct {
	// Proto holds every model-level field (IR version, opsets, producer,
	// metadata, functions, training info); its Graph field is nil while the
	// model is in IR form.
	Proto *onnx.ModelProto
	Graph *Graph
	// Store reads tensors kept in external data files; it is nil for
	// models built in memory.
	Store *onnx.ExternalStore

	names        map[string]bool // every value and node name in use, all graphs
	hasSubgraphs bool            // some node holds a graph (If, Loop, Scan)

	// borrowed is set when tensor bytes may be shared with a proto the
	// caller still holds (FromProto) or with another model (Clone): the
	// first in-place change of a tensor then copies its bytes, and owned
	// records the tensors already copied.
	borrowed bool
	ownedMu  sync.Mutex // passes change tensors from several goroutines
	owned    map[*onnx.TensorProto]bool
}

// Graph is a graph or a subgraph.
type Graph struct {
	// Proto holds the graph-level fields the IR does not model (name,
	// doc_string, quantization_annotation, metadata_props, unknown fields);
	// its structural fields are nil while the graph is in IR form.
	Proto *onnx.GraphProto

	Nodes              []*Node
	Inputs             []*Value
	Outputs            []*Value
	Initializers       []*Value // dense constants, in file order
	SparseInitializers []*Value // sparse constants, in file order
	ValueInfo          []*Value // values described in value_info, in file order

	Parent *Graph // enclosing graph; nil for the main graph
	Owner  *Node  // node whose attribute holds this graph; nil for the main graph
	Model  *Model

	scope   map[string]*Value            // values defined in this graph, by name
	outInfo map[int]*onnx.ValueInfoProto // output descriptors that differ from the value's own
	viInfo  map[int]*onnx.ValueInfoProto // value_info descriptors that differ from the value's own
}

// Value is an edge of the graph: a graph input, a constant, or a node's
// output.
type Value struct {
	Name string
	// Info describes the value's type (and doc string, metadata) as found
	// in the graph's input, output or value_info lists; nil when unknown.
	Info *onnx.ValueInfoProto
	// Tensor is set for dense initializers.
	Tensor *Tensor
	// Sparse is set for sparse initializers.
	Sparse *onnx.SparseTensorProto

	graph    *Graph
	producer *Node
	outIndex int
	uses     []Use
	isInput  bool // listed in graph.input (an initializer may be too)
}

// Use is one place a value is consumed: input Index of Node.
type Use struct {
	Node  *Node
	Index int
}

// Node is one operator call.
type Node struct {
	// Proto holds op_type, domain, name, attributes, doc string and
	// metadata; its input and output fields are nil while in IR form, and
	// attributes that hold graphs have them in Subgraphs instead.
	Proto     *onnx.NodeProto
	Subgraphs []*Subgraph

	graph   *Graph
	inputs  []*Value // nil entries are omitted optional inputs ("")
	outputs []*Value // nil entries are omitted optional outputs ("")

	constTensor *Tensor // cached wrapper of a Constant node's value
}

// Subgraph is a graph held by a node attribute (If's then_branch, Loop's
// body, Scan's body): attribute AttrIndex of the node, element Index of its
// graphs list (0 for a single-graph attribute).
type Subgraph struct {
	AttrIndex int
	Index     int
	List      bool // held in the attribute's graphs list rather than g
	Graph     *Graph
}
