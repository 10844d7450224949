package ort

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibrary(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, libraryFile)
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env, cache string
		want       string // "" when an error is expected
	}{
		{env: lib, want: lib},
		{env: dir, want: lib}, // a folder holding the library
		{env: filepath.Join(dir, "missing.so"), want: ""},
		{env: t.TempDir(), want: ""}, // a folder without it
		{cache: filepath.Dir(dir), want: libraryFile},
	} {
		t.Setenv(LibraryEnv, c.env)
		t.Setenv("ONNXOPT_CACHE", c.cache)
		if c.cache == "" {
			t.Setenv("ONNXOPT_CACHE", t.TempDir())
		}
		got, tried, err := findLibrary()
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s=%q: found %s, want an error", LibraryEnv, c.env, got)
		case c.want == "":
			if !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "make setup") {
				t.Errorf("%s=%q: unclear error: %v", LibraryEnv, c.env, err)
			}
		case err != nil:
			t.Errorf("%s=%q: %v", LibraryEnv, c.env, err)
		case got != c.want:
			t.Errorf("%s=%q: found %s, want %s", LibraryEnv, c.env, got, c.want)
		case c.env == "" && len(tried) != 3:
			t.Errorf("falling back to the system path, tried = %q", tried)
		}
	}
	// The cache folder's copy is used when present.
	cache := t.TempDir()
	libDir := filepath.Join(cache, "onnxruntime-"+ORTVersion)
	os.MkdirAll(libDir, 0o755)
	os.WriteFile(filepath.Join(libDir, libraryFile), nil, 0o644)
	t.Setenv(LibraryEnv, "")
	t.Setenv("ONNXOPT_CACHE", cache)
	if got, _, err := findLibrary(); err != nil || got != filepath.Join(libDir, libraryFile) {
		t.Errorf("cache copy: %s, %v", got, err)
	}
	msg := (&LibraryError{Tried: []string{"here (not found)"}}).Error()
	for _, want := range []string{"here (not found)", "make setup", LibraryEnv} {
		if !strings.Contains(msg, want) {
			t.Errorf("library error %q does not say %q", msg, want)
		}
	}
}
