package channels

import (
	"github.com/onnxopt/onnxopt/graph"
)

// Role is what a coupled constant does for the channels of its group.
type Role int

const (
	// Source weights produce the channels (a MatMul column, a Conv
	// output filter).
	Source Role = iota
	// Sink weights read the channels (the next layer's input slice).
	Sink
	// Through weights carry a channel to itself (a depthwise filter).
	Through
	// Param vectors are per-channel parameters: biases, BatchNormalization
	// vectors, per-channel constants of elementwise ops.
	Param
)

func (r Role) String() string {
	return [...]string{"source", "sink", "through", "param"}[r]
}

// Slice maps channel c of a group to the indices [Offset+c*Block,
// Offset+(c+1)*Block) along Axis of a tensor.
type Slice struct {
	Axis   int
	Offset int64
	Block  int64
}

// Member is a constant that shrinks with a group.
type Member struct {
	Value *graph.Value // the constant (initializer or Constant node output)
	Node  *graph.Node  // the node that uses it
	Role  Role
	Slice
}

// ValueDim is an activation dimension that shrinks with a group.
type ValueDim struct {
	Value *graph.Value
	Slice
}

// Group is a set of dimensions that hold the same channels: removing
// channel c removes its slice from every member and every value.
type Group struct {
	Name    string // the first producing node
	Size    int64  // channels
	Members []Member
	Values  []ValueDim
	// Depthwise lists depthwise Convs whose group attribute is the size.
	Depthwise []*graph.Node
	// Reshapes lists Reshape nodes whose shape constant spells out a size
	// that depends on the group.
	Reshapes []reshapeEntry
	// Reason says why the group is left alone; empty when it can shrink.
	Reason string
}

type reshapeEntry struct {
	Node  *graph.Node
	Index int // entry of the shape constant
	Slice
}

// Analysis is the channel dependency analysis of a model's main graph.
type Analysis struct {
	Groups []*Group      // in graph order; see Group.Reason
	Graph  *graph.Graph  // the graph analyzed (the model's main graph)
	Order  []*graph.Node // Graph's nodes in the topological order analyzed
	shapes shapes
}

// GroupReport is one group in a pass report.
type GroupReport struct {
	Name   string `json:"name"`
	Before int64  `json:"before"`
	After  int64  `json:"after"`
	Reason string `json:"reason,omitempty"`
}

// FirstSource returns the first weight that produces g's channels, or nil.
// It identifies a group across two analyses of a model whose weights have
// not been renamed.
func FirstSource(g *Group) *graph.Value {
	for _, m := range g.Members {
		if m.Role == Source {
			return m.Value
		}
	}
	return nil
}
