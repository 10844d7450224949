package calib

import "github.com/onnxopt/onnxopt/graph"

// Levels returns the level of every node of layers, nodes of m's main
// graph that a calibrated pass fits one after the other: the number of
// layers on the longest path from the model's inputs to the node (0: no
// layer feeds it). A layer's input depends only on layers of lower
// levels, so a pass that changes layers in level order can capture the
// inputs of all layers of one level in one run of the model, after the
// levels before it are done.
func Levels(m *graph.Model, layers []*graph.Node) (map[*graph.Node]int, error) {
	order, err := m.Graph.Toposort()
	if err != nil {
		return nil, err
	}
	at := map[*graph.Node]bool{}
	for _, n := range layers {
		at[n] = true
	}
	depth := map[*graph.Value]int{}
	level := map[*graph.Node]int{}
	for _, n := range order {
		d := 0
		for _, v := range n.Inputs() {
			if v != nil {
				d = max(d, depth[v])
			}
		}
		if at[n] {
			level[n] = d
			d++
		}
		for _, v := range n.Outputs() {
			if v != nil {
				depth[v] = d
			}
		}
	}
	return level, nil
}
