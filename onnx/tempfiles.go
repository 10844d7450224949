package onnx

import (
	"os"
	"sync"
)

// Temporary files being written, so that an interrupted program can remove
// them (see RemoveTempFiles).
var temps struct {
	sync.Mutex
	names map[string]bool
}

func registerTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	if temps.names == nil {
		temps.names = map[string]bool{}
	}
	temps.names[name] = true
}

func unregisterTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.names, name)
}

// RemoveTempFiles deletes the temporary files of writes in progress; a
// program calls it when interrupted (SIGINT) so no partial file remains.
func RemoveTempFiles() {
	temps.Lock()
	defer temps.Unlock()
	for name := range temps.names {
		os.Remove(name)
	}
}
