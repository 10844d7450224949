package onnx

// TensorSite says where a tensor sits in a model.
type TensorSite int

const (
	SiteInitializer       TensorSite = iota // GraphProto.initializer
	SiteSparseInitializer                   // values or indices of GraphProto.sparse_initializer
	SiteAttribute                           // a node attribute (Constant's value, ...)
)

// WalkTensors calls fn for every TensorProto stored in the model:
// initializers, sparse initializers' values and indices, and tensors in
// node attributes, in subgraphs, functions and training graphs too.
func WalkTensors(m *ModelProto, fn func(t *TensorProto, site TensorSite)) {
	walkGraph(m.GetGraph(), fn)
	for _, f := range m.GetFunctions() {
		walkNodes(f.GetNode(), fn)
	}
	for _, ti := range m.GetTrainingInfo() {
		walkGraph(ti.GetInitialization(), fn)
		walkGraph(ti.GetAlgorithm(), fn)
	}
}

func walkGraph(g *GraphProto, fn func(*TensorProto, TensorSite)) {
	if g == nil {
		return
	}
	for _, t := range g.GetInitializer() {
		fn(t, SiteInitializer)
	}
	for _, s := range g.GetSparseInitializer() {
		walkSparse(s, SiteSparseInitializer, fn)
	}
	walkNodes(g.GetNode(), fn)
}

func walkSparse(s *SparseTensorProto, site TensorSite, fn func(*TensorProto, TensorSite)) {
	if s.GetValues() != nil {
		fn(s.GetValues(), site)
	}
	if s.GetIndices() != nil {
		fn(s.GetIndices(), site)
	}
}

func walkNodes(nodes []*NodeProto, fn func(*TensorProto, TensorSite)) {
	for _, n := range nodes {
		for _, a := range n.GetAttribute() {
			if a.GetT() != nil {
				fn(a.GetT(), SiteAttribute)
			}
			for _, t := range a.GetTensors() {
				fn(t, SiteAttribute)
			}
			if a.GetSparseTensor() != nil {
				walkSparse(a.GetSparseTensor(), SiteAttribute, fn)
			}
			for _, s := range a.GetSparseTensors() {
				walkSparse(s, SiteAttribute, fn)
			}
			walkGraph(a.GetG(), fn)
			for _, g := range a.GetGraphs() {
				walkGraph(g, fn)
			}
		}
	}
}
