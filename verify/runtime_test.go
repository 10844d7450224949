package verify

import (
	"errors"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
)

// needRuntime loads ONNX Runtime, or ends the test through testenv.Missing
// when the library (or cgo) is not there.
func needRuntime(t testing.TB) {
	t.Helper()
	if _, err := LoadRuntime(); err != nil {
		var le *LibraryError
		if errors.As(err, &le) || errors.Is(err, ErrNoCgo) {
			testenv.Missing(t, "ONNX Runtime "+ORTVersion+" ("+err.Error()+")")
		}
		t.Fatal(err)
	}
}
