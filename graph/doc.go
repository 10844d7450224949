// Package graph is onnxopt's IR: a model's graph as nodes and values with
// use-def links kept consistent by construction, subgraphs (If, Loop, Scan
// bodies) as nested graphs that see their enclosing graphs' values, a
// topological sort, a structural checker, and a lossless conversion from
// and back to the protobuf model.
//
// Three nouns: Graph, Node and Value. A Value is produced by at most one
// node or is a graph input or a constant (an initializer, which holds a
// Tensor). Node inputs are changed only through methods that keep the
// value's use list in step.
//
// Everything the IR does not model (doc strings, metadata, attributes,
// quantization annotations, unknown fields) stays in the original protobuf
// messages that Model, Graph, Node and Value keep, so converting back
// without changes gives the input model, field for field.
package graph
