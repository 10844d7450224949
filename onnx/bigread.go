package onnx

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// readWhole reads a large file into memory that the program owns: an
// anonymous mapping advised for huge pages, filled with one sequential
// read. On virtual machines this is several times faster than mapping the
// file copy-on-write, where every 4 KiB page costs a fault when read and
// another when first written.
// anon reports whether b is an anonymous mapping (to unmap when done).
func readWhole(f *os.File, size int64) (b []byte, anon bool, err error) {
	if size == 0 {
		return []byte{}, false, nil
	}
	if int64(int(size)) != size {
		return nil, false, fmt.Errorf("%s is too large to read on this platform", f.Name())
	}
	b, err = syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		b = make([]byte, size)
	} else {
		anon = true
		_ = syscall.Madvise(b, madvHugepage) // a hint: fine if refused
	}
	if _, err := io.ReadFull(f, b); err != nil {
		if anon {
			syscall.Munmap(b)
		}
		return nil, false, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return b, anon, nil
}

// madvHugepage is MADV_HUGEPAGE (Linux).
const madvHugepage = 14
