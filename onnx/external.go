package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ExternalRef is where an external tensor's bytes live.
type ExternalRef struct {
	Location string // as written in the model, relative to its folder
	Offset   int64
	Length   int64 // -1 when the model does not say
	Checksum string
}

// External returns the external-data reference of t (which must have
// data_location EXTERNAL).
func External(t *TensorProto) (ExternalRef, error) {
	ref := ExternalRef{Length: -1}
	for _, kv := range t.ExternalData {
		var err error
		switch kv.GetKey() {
		case "location":
			ref.Location = kv.GetValue()
		case "offset":
			ref.Offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			ref.Length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "checksum":
			ref.Checksum = kv.GetValue()
		}
		if err != nil {
			return ref, fmt.Errorf("tensor %q: external data %s %q is not a number", t.GetName(), kv.GetKey(), kv.GetValue())
		}
	}
	if ref.Location == "" {
		return ref, fmt.Errorf("tensor %q: external data has no location", t.GetName())
	}
	if ref.Offset < 0 || ref.Length < -1 {
		return ref, fmt.Errorf("tensor %q: external data offset %d / length %d is negative", t.GetName(), ref.Offset, ref.Length)
	}
	return ref, nil
}

// ResolveLocation joins an external-data location to the model's folder,
// refusing locations that are absolute or that leave the folder, whether
// by ".." or through symbolic links.
func ResolveLocation(dir, location string) (string, error) {
	if location == "" {
		return "", fmt.Errorf("empty location")
	}
	if filepath.IsAbs(location) || strings.HasPrefix(location, "/") || strings.HasPrefix(location, `\`) || filepath.VolumeName(location) != "" {
		return "", fmt.Errorf("location %q is absolute; external data must be relative to the model's folder", location)
	}
	clean := filepath.Clean(filepath.FromSlash(location))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("location %q leaves the model's folder", location)
	}
	p := filepath.Join(dir, clean)
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	realP, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("location %q: %v", location, err)
	}
	rel, err := filepath.Rel(realDir, realP)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("location %q leaves the model's folder through a symbolic link", location)
	}
	return realP, nil
}

// ExternalStore gives access to the external data files of one model.
// By default it reads each file into memory on first use; in range mode
// (SetRangeReads) it reads each tensor's bytes when asked, into a buffer
// the caller holds only while needed, and in streaming mode (StartSpill)
// it also keeps track of replaced bytes already written to the output.
type ExternalStore struct {
	dir   string
	mu    sync.Mutex
	files map[string]*loadedFile

	ranged  bool
	open    map[string]*openFile   // range mode: files kept open, by location
	inPlace map[*TensorProto]*byte // raw_data installed by an in-place change: keeps its slot
	spill   *Spill
	held    atomic.Int64 // range-read bytes not yet released
	peak    atomic.Int64
	budget  atomic.Int64 // bytes a streaming pass should hold at once
}

type loadedFile struct {
	data []byte
	err  error
}

// NewExternalStore returns a store for the model in folder dir.
func NewExternalStore(dir string) *ExternalStore {
	return &ExternalStore{dir: dir, files: map[string]*loadedFile{}}
}

// Dir is the model's folder.
func (s *ExternalStore) Dir() string { return s.dir }

func (s *ExternalStore) file(location string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[location]; ok {
		return f.data, f.err
	}
	f := &loadedFile{}
	s.files[location] = f
	path, err := ResolveLocation(s.dir, location)
	if err != nil {
		f.err = err
		return nil, err
	}
	f.data, f.err = loadFile(path)
	return f.data, f.err
}

func loadFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	// Read into memory the program owns rather than mapped: passes change
	// tensors in place (the file never changes), and on virtual machines
	// one sequential read into huge pages is several times faster than a
	// copy-on-write mapping faulting in every 4 KiB page twice.
	return readWhole(fh, st.Size())
}

// Bytes returns the external bytes of t, checked against the file's size
// and against the size the tensor's shape and type need. The slice is the
// store's memory: writes change it, never the file, and are seen by every
// later reader of this store (graph.Tensor decides who may write).
func (s *ExternalStore) Bytes(t *TensorProto) ([]byte, error) {
	if s.RangeReads() || s.spilled(t) {
		return s.readRange(t)
	}
	ref, want, err := s.locate(t)
	if err != nil {
		return nil, err
	}
	data, err := s.file(ref.Location)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %v", t.GetName(), err)
	}
	if err := inRange(t, ref, want, int64(len(data))); err != nil {
		return nil, err
	}
	return data[ref.Offset : ref.Offset+want : ref.Offset+want], nil
}

// locate checks a tensor's external reference against its shape and type
// and returns it with the byte count the tensor needs.
func (s *ExternalStore) locate(t *TensorProto) (ExternalRef, int64, error) {
	ref, err := External(t)
	if err != nil {
		return ref, 0, err
	}
	n, err := t.Elements()
	if err != nil {
		return ref, 0, err
	}
	want := StorageBytes(t.GetDataType(), n)
	if want < 0 {
		return ref, 0, fmt.Errorf("tensor %q: string tensors cannot be external", t.GetName())
	}
	if ref.Length >= 0 && ref.Length != want {
		return ref, 0, fmt.Errorf("tensor %q: external length %d but shape %v of %s needs %d bytes",
			t.GetName(), ref.Length, t.GetDims(), DataTypeName(t.GetDataType()), want)
	}
	return ref, want, nil
}

func inRange(t *TensorProto, ref ExternalRef, want, size int64) error {
	if ref.Offset > size || want > size-ref.Offset {
		return fmt.Errorf("tensor %q: external data %s [%d, %d) is past the end of the file (%d bytes)",
			t.GetName(), ref.Location, ref.Offset, ref.Offset+want, size)
	}
	return nil
}

// Check verifies every external reference of the tensor against its file.
func (s *ExternalStore) Check(t *TensorProto) error {
	if s.spilled(t) {
		return nil // its bytes are in the output's side file
	}
	ref, want, err := s.locate(t)
	if err != nil {
		return err
	}
	// The file's size is enough: checking must not read gigabytes that
	// only ONNX Runtime (verify) or nobody (a pass that skips the tensor)
	// will look at.
	path, err := ResolveLocation(s.dir, ref.Location)
	if err != nil {
		return fmt.Errorf("tensor %q: %v", t.GetName(), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("tensor %q: %v", t.GetName(), err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("tensor %q: %s is not a regular file", t.GetName(), path)
	}
	return inRange(t, ref, want, st.Size())
}

// Close drops the store's buffers (tensors that alias them keep them
// alive until they go too), closes the files it keeps open and removes
// the temporary files of a streaming write that was not completed.
func (s *ExternalStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.files)
	for _, f := range s.open {
		if f.f != nil {
			f.f.Close()
		}
	}
	clear(s.open)
	if s.spill != nil {
		s.spill.discard()
		s.spill = nil
	}
	return nil
}
