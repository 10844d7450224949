package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/onnxopt/onnxopt/internal/cachedir"
)

// ORTVersion is the ONNX Runtime release onnxopt is tested against and that
// `make setup` fetches.
const ORTVersion = "1.30.0"

// LibraryEnv names the environment variable that points onnxopt at an ONNX
// Runtime shared library: the library file itself, or a folder holding it.
const LibraryEnv = "ONNXOPT_ORT_LIB"

// libraryFile is the ONNX Runtime shared library's file name.
var libraryFile = map[string]string{"darwin": "libonnxruntime.dylib"}[runtime.GOOS]

func init() {
	if libraryFile == "" {
		libraryFile = "libonnxruntime.so.1"
	}
}

// ErrNoCgo is returned when a session is opened in a build without cgo,
// which ONNX Runtime needs.
var ErrNoCgo = errors.New("onnxopt was built without cgo, so it cannot run models through ONNX Runtime; rebuild with CGO_ENABLED=1 and a C compiler")

// LibraryError reports that the ONNX Runtime library could not be found or
// loaded; it names every place that was tried.
type LibraryError struct {
	Tried []string // each place looked, with what was found there
	Err   error    // the loader's error, if it got that far
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	b.WriteString("cannot load the ONNX Runtime library: looked in ")
	b.WriteString(strings.Join(e.Tried, "; "))
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	fmt.Fprintf(&b, ". Run `make setup` to fetch ONNX Runtime %s into %s, or set %s to the library file or its folder",
		ORTVersion, cacheLibraryDir(), LibraryEnv)
	return b.String()
}

func (e *LibraryError) Unwrap() error { return e.Err }

// cacheLibraryDir is where `make setup` puts the ONNX Runtime library.
func cacheLibraryDir() string { return filepath.Join(cachedir.Dir(), "onnxruntime-"+ORTVersion) }

// findLibrary picks the ONNX Runtime library to load: $ONNXOPT_ORT_LIB (a
// file, or a folder holding the library) when set, else the copy `make
// setup` put in the cache folder, else the bare file name, which the
// dynamic loader looks up on the system's library path. tried describes
// the places passed over, for error messages.
func findLibrary() (path string, tried []string, err error) {
	if env := os.Getenv(LibraryEnv); env != "" {
		p := env
		if st, err := os.Stat(env); err == nil && st.IsDir() {
			p = filepath.Join(env, libraryFile)
		}
		if _, err := os.Stat(p); err != nil {
			return "", nil, &LibraryError{Tried: []string{fmt.Sprintf("%s=%s (%s does not exist)", LibraryEnv, env, p)}}
		}
		return p, nil, nil
	}
	tried = append(tried, LibraryEnv+" (not set)")
	p := filepath.Join(cacheLibraryDir(), libraryFile)
	if _, err := os.Stat(p); err == nil {
		return p, nil, nil
	}
	tried = append(tried, p+" (not found)")
	tried = append(tried, "the system library path ("+libraryFile+")")
	return libraryFile, tried, nil
}
