package passes

// Report is what a pipeline run did, pass by pass; `onnxopt run --report`
// writes it as JSON.
type Report struct {
	Input    string        `json:"input,omitempty"`
	Output   string        `json:"output,omitempty"`
	Pipeline string        `json:"pipeline"`
	Passes   []*PassReport `json:"passes"`
	// BytesBefore and BytesAfter count the bytes of all constant tensors.
	BytesBefore int64   `json:"bytes_before"`
	BytesAfter  int64   `json:"bytes_after"`
	FileBytes   int64   `json:"file_bytes,omitempty"`
	Seconds     float64 `json:"seconds"`
}

// PassReport holds one pass's timing and statistics.
type PassReport struct {
	Pass    string            `json:"pass"`
	Options map[string]string `json:"options"`
	Seconds float64           `json:"seconds"`
	// TensorsTouched counts the tensors the pass changed.
	TensorsTouched int `json:"tensors_touched"`
	// WeightsZeroed counts elements the pass set to zero.
	WeightsZeroed int64 `json:"weights_zeroed"`
	// NodesAdded and NodesRemoved count graph nodes (subgraphs included).
	NodesAdded   int   `json:"nodes_added"`
	NodesRemoved int   `json:"nodes_removed"`
	BytesBefore  int64 `json:"bytes_before"`
	BytesAfter   int64 `json:"bytes_after"`
	// Tensors has per-tensor detail for the tensors the pass looked at.
	Tensors []TensorReport `json:"tensors,omitempty"`
	// Skipped lists what the pass left alone, with the reason.
	Skipped []Skip `json:"skipped,omitempty"`
	// Notes are other things worth telling the user.
	Notes []string `json:"notes,omitempty"`
	// Extra holds pass-specific figures.
	Extra map[string]any `json:"extra,omitempty"`
}

// TensorReport is one tensor before and after a pass.
type TensorReport struct {
	Name           string  `json:"name"`
	Shape          []int64 `json:"shape"`
	DType          string  `json:"dtype,omitempty"` // the element type, when not float32
	SparsityBefore float64 `json:"sparsity_before"`
	SparsityAfter  float64 `json:"sparsity_after"`
	BytesBefore    int64   `json:"bytes_before,omitempty"`
	BytesAfter     int64   `json:"bytes_after,omitempty"`
	Detail         string  `json:"detail,omitempty"`
}

// Skip is something a pass left alone, and why.
type Skip struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}
