package onnx

import (
	"errors"
	"os"
	"sync"
)

// Temporary files being written, so that an interrupted program can remove
// them (see RemoveTempFiles).
var temps struct {
	sync.Mutex
	names   map[string]bool
	removed bool // RemoveTempFiles ran: the program is exiting
}

// createTemp creates and registers a temporary file in one step under the
// lock, so an interrupt cannot fall between the two and miss it.
func createTemp(dir, pattern string) (*os.File, error) {
	temps.Lock()
	defer temps.Unlock()
	if temps.removed {
		return nil, errInterrupted
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if temps.names == nil {
		temps.names = map[string]bool{}
	}
	temps.names[f.Name()] = true
	return f, nil
}

// errInterrupted refuses new temporary files once the program is exiting.
var errInterrupted = errors.New("interrupted")

func unregisterTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.names, name)
}

// RemoveTempFiles deletes the temporary files of writes in progress; a
// program calls it when interrupted (SIGINT) so no partial file remains.
// Temporary files created after it are removed as soon as they are
// registered, since the program is about to exit.
func RemoveTempFiles() {
	temps.Lock()
	defer temps.Unlock()
	temps.removed = true
	for name := range temps.names {
		os.Remove(name)
	}
}
