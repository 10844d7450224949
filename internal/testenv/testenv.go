// Package testenv locates the external things tests need (the ONNX Runtime
// library, the ONNX backend test suite, real models fetched by `make setup`)
// and decides what happens when one is missing: under CI=true the test
// fails; elsewhere it is skipped with a message that says how to install it.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/cachedir"
	"github.com/onnxopt/onnxopt/ort"
)

// SetupHint says how to install everything the tests need.
const SetupHint = "run `make setup` (installs libonnx-testdata and fetches ONNX Runtime and the real models)"

// CacheDir is the folder that `make setup` fills: $ONNXOPT_CACHE, else the
// user's cache folder plus "onnxopt".
func CacheDir() string { return cachedir.Dir() }

// BackendSuiteDir is where Debian's libonnx-testdata installs the ONNX backend
// test suite (folders node/, pytorch-converted/, pytorch-operator/, simple/).
func BackendSuiteDir() string {
	if d := os.Getenv("ONNXOPT_BACKEND_SUITE"); d != "" {
		return d
	}
	return "/usr/share/libonnx-testdata/data"
}

// ModelsDir holds the real models fetched by `make setup`.
func ModelsDir() string { return filepath.Join(CacheDir(), "models") }

// Model returns the path of a real model fetched by `make setup`, such as
// "ppocr-det.onnx", "ppocr-cls.onnx" or "hello_deepa.onnx"; the test fails
// (CI) or skips (locally) if it is missing.
func Model(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ModelsDir(), name)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "real model "+name)
	}
	return p
}

// BackendSuite returns BackendSuiteDir, failing (CI) or skipping (locally)
// when the suite is not installed.
func BackendSuite(t testing.TB) string {
	t.Helper()
	d := BackendSuiteDir()
	if _, err := os.Stat(filepath.Join(d, "node")); err != nil {
		Missing(t, "the ONNX backend test suite (Debian package libonnx-testdata)")
	}
	return d
}

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test because what is required is not installed: a
// failure under CI, a skip elsewhere.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is missing (CI=true, so this fails instead of skipping): %s", what, SetupHint)
	}
	t.Skipf("%s is missing; %s", what, SetupHint)
}

// Runtime loads ONNX Runtime (once per process) for a test that runs
// models. When the library is missing, or the build has no cgo, the test
// fails under CI and is skipped elsewhere (Missing); any other load error
// fails it.
func Runtime(t testing.TB) {
	t.Helper()
	if _, err := ort.LoadRuntime(); err != nil {
		var le *ort.LibraryError
		if errors.As(err, &le) || errors.Is(err, ort.ErrNoCgo) {
			Missing(t, "ONNX Runtime "+ort.ORTVersion+" ("+err.Error()+")")
		}
		t.Fatal(err)
	}
}

// Heavy marks a numerical acceptance test that runs real models through
// ONNX Runtime for many seconds. `make test` runs every test once, then
// the concurrent packages again under the race detector with -short; such
// a test adds minutes there and no concurrency the first run missed, so it
// is skipped under -short only.
func Heavy(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("numerical acceptance run: covered by make test's run without -short")
	}
}
