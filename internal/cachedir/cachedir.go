// Package cachedir names the folder `make setup` fills (the ONNX Runtime
// library, real models), so the runtime lookup and the tests agree on it.
package cachedir

import (
	"os"
	"path/filepath"
)

// Dir is $ONNXOPT_CACHE, else the user's cache folder plus "onnxopt"
// (scripts/setup.sh computes the same).
func Dir() string {
	if d := os.Getenv("ONNXOPT_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "onnxopt")
}
