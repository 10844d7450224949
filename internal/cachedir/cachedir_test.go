package cachedir

import (
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv("ONNXOPT_CACHE", "/somewhere/else")
	if got := Dir(); got != "/somewhere/else" {
		t.Errorf("with ONNXOPT_CACHE: %s", got)
	}
	t.Setenv("ONNXOPT_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := Dir(); got != filepath.Join("/xdg", "onnxopt") {
		t.Errorf("with XDG_CACHE_HOME: %s", got)
	}
}
