//go:build !cgo

package ort

// LoadRuntime reports ErrNoCgo: ONNX Runtime needs cgo.
func LoadRuntime() (RuntimeInfo, error) { return RuntimeInfo{}, ErrNoCgo }

func openBackend(string, []byte, Options) (backend, []ValueInfo, []ValueInfo, error) {
	return nil, nil, nil, ErrNoCgo
}
