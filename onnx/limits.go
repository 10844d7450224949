package onnx

// Limits on what onnxopt accepts, so that a hostile model fails early with
// a clear error instead of exhausting the stack or memory.
const (
	// MaxNesting is the deepest nesting of subgraphs (If/Loop/Scan bodies
	// inside bodies) accepted.
	MaxNesting = 64
	// MaxTensorBytes is the largest single tensor that is materialized in
	// memory (16 GiB).
	MaxTensorBytes = 16 << 30
)
