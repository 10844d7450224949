package onnx

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// readWhole reads a large file into one buffer the program owns, advised
// for huge pages and filled with one sequential read. On virtual machines
// this is several times faster than mapping the file copy-on-write, where
// every 4 KiB page costs a fault when read and another when first written.
// The buffer is ordinary garbage-collected memory: it goes away with the
// last tensor that aliases it.
func readWhole(f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return []byte{}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s is too large to read on this platform", f.Name())
	}
	b := make([]byte, size)
	if size >= 4<<20 {
		// The hint needs a page-aligned start; it is fine if refused.
		start := int((pageSize - uintptr(unsafe.Pointer(&b[0]))%pageSize) % pageSize)
		_ = syscall.Madvise(b[start:], madvHugepage)
	}
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return b, nil
}

const (
	pageSize     = 4096
	madvHugepage = 14 // MADV_HUGEPAGE (Linux)
)
