package onnx

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// AtomicWrite creates path with the bytes that write produces: it writes a
// temporary file in the same folder, syncs it, and renames it into place.
// On any error the temporary file is removed and path is left as it was.
func AtomicWrite(path string, write func(w io.Writer) error) error {
	tmp, err := writeTemp(path, write)
	if err != nil {
		return err
	}
	return commitTemp(tmp, path)
}

// writeTemp writes a synced temporary file in path's folder and returns
// its name; it stays registered (see RemoveTempFiles) until committed or
// discarded, so an interrupt removes it.
func writeTemp(path string, write func(w io.Writer) error) (name string, err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("cannot write to %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			discardTemp(tmpName) // not name: a failing return has cleared it
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(bw); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Chmod(tmpName, 0o644); err != nil {
		return "", err
	}
	return tmpName, nil
}

// commitTemp renames a temporary file from writeTemp into place.
func commitTemp(tmp, path string) error {
	err := os.Rename(tmp, path)
	if err != nil {
		discardTemp(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	unregisterTemp(tmp)
	return nil
}

// discardTemp removes a temporary file from writeTemp.
func discardTemp(tmp string) {
	os.Remove(tmp)
	unregisterTemp(tmp)
}
