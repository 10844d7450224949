//go:build !cgo

package verify

// RuntimeInfo describes the loaded ONNX Runtime.
type RuntimeInfo struct {
	Version string // e.g. "1.30.0"
	Library string // the shared library loaded
}

// LoadRuntime reports ErrNoCgo: ONNX Runtime needs cgo.
func LoadRuntime() (RuntimeInfo, error) { return RuntimeInfo{}, ErrNoCgo }

func openBackend(string, []byte, Options) (backend, []ValueInfo, []ValueInfo, error) {
	return nil, nil, nil, ErrNoCgo
}
