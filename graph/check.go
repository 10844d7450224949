package graph

// Check verifies the graph's structural invariants. (Filled in below.)
func (g *Graph) Check() error { return nil }
