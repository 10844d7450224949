package onnx

import (
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

func registerTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	if temps.removed {
		os.Remove(name) // created while the program was being interrupted
		return
	}
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
