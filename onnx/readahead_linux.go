package onnx

import (
	"os"

	"golang.org/x/sys/unix"
)

// readAhead asks the kernel to start reading n bytes of f at off into the
// page cache, in the background: a streamed pass reads its weights in
// file order, so while it works on one tensor the disk fetches the next.
// Page cache is not the process's memory; failure is harmless and ignored.
func readAhead(f *os.File, off, n int64) {
	if n <= 0 {
		return
	}
	fd := int(f.Fd())
	go func() { _ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED) }()
}
