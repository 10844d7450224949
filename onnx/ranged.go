package onnx

import (
	"fmt"
	"os"
)

// SetRangeReads switches the store to reading each tensor's bytes when
// asked (one positioned read of its range) instead of whole files: the
// returned buffers are the caller's, counted as held until Released, so
// a pass that releases each tensor after use holds a few tensors, not the
// model. Every check of external references still applies.
func (s *ExternalStore) SetRangeReads(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ranged = on
}

// RangeReads reports whether the store reads tensors one range at a time.
func (s *ExternalStore) RangeReads() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ranged
}

// SetHoldBudget sets how many bytes of weights a streaming pass should
// hold at once (0: no bound but its threads); passes read it through
// HoldBudget and pace their work with passes.ParallelWithin.
func (s *ExternalStore) SetHoldBudget(n int64) { s.budget.Store(n) }

// HoldBudget returns the budget set by SetHoldBudget.
func (s *ExternalStore) HoldBudget() int64 { return s.budget.Load() }

// Held returns the bytes read in range mode and not yet released, now and
// at most since the store was made.
func (s *ExternalStore) Held() (now, peak int64) { return s.held.Load(), s.peak.Load() }

// Release records that a buffer of n bytes from Bytes (in range mode) is
// no longer held.
func (s *ExternalStore) Release(n int64) { s.held.Add(-n) }

// Hold records that n more bytes of weights are in memory for a streaming
// pass (new tensors it made), until Released.
func (s *ExternalStore) Hold(n int64) { s.hold(n) }

func (s *ExternalStore) hold(n int64) {
	now := s.held.Add(n)
	for {
		p := s.peak.Load()
		if now <= p || s.peak.CompareAndSwap(p, now) {
			return
		}
	}
}

// openFile is an external data file kept open for range reads.
type openFile struct {
	f    *os.File
	size int64
	err  error
}

func (s *ExternalStore) openLocation(location string) (*openFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.open[location]; ok {
		return f, f.err
	}
	if s.open == nil {
		s.open = map[string]*openFile{}
	}
	f := &openFile{}
	s.open[location] = f
	path, err := ResolveLocation(s.dir, location)
	if err == nil {
		f.f, err = os.Open(path)
	}
	if err == nil {
		var st os.FileInfo
		if st, err = f.f.Stat(); err == nil && !st.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a regular file", path)
		} else if err == nil {
			f.size = st.Size()
		}
	}
	if err != nil {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
		f.err = err
	}
	return f, f.err
}

// source is where the current bytes of an external tensor are, without
// reading them: in memory (data), or n bytes at off of an open file.
type source struct {
	data []byte
	file *os.File
	off  int64
	n    int64
}

func (s source) size() int64 {
	if s.file != nil {
		return s.n
	}
	return int64(len(s.data))
}

// where finds the bytes of an external tensor whose raw_data is unset:
// in the spill (replaced bytes), in the input's side file (range mode),
// or in the store's copy of the whole file.
func (s *ExternalStore) where(t *TensorProto) (source, error) {
	if sp, ok := s.spillOf(t); ok {
		return source{file: sp.file.f, off: sp.off, n: sp.n}, nil
	}
	if !s.RangeReads() {
		b, err := s.Bytes(t)
		return source{data: b}, err
	}
	ref, want, err := s.locate(t)
	if err != nil {
		return source{}, err
	}
	f, err := s.openLocation(ref.Location)
	if err != nil {
		return source{}, fmt.Errorf("tensor %q: %v", t.GetName(), err)
	}
	if err := inRange(t, ref, want, f.size); err != nil {
		return source{}, err
	}
	return source{file: f.f, off: ref.Offset, n: want}, nil
}

// readRange reads an external tensor's bytes into a new buffer, counted
// as held.
func (s *ExternalStore) readRange(t *TensorProto) ([]byte, error) {
	src, err := s.where(t)
	if err != nil {
		return nil, err
	}
	if src.file == nil {
		return src.data, nil
	}
	b := make([]byte, src.n)
	if _, err := src.file.ReadAt(b, src.off); err != nil {
		return nil, fmt.Errorf("tensor %q: reading %s: %v", t.GetName(), src.file.Name(), err)
	}
	s.hold(src.n)
	readAhead(src.file, src.off+src.n, min(src.n, readAheadMax))
	return b, nil
}

// readAheadMax bounds the read-ahead after one tensor: as much again as
// it read, up to this.
const readAheadMax = 512 << 20

// MarkInPlace records that raw_data of the external tensor t is its own
// bytes changed in place (not new data): the writer keeps the tensor where
// it was in the side file, as it does for bytes changed inside the
// store's copy of the file. The mark lapses if raw_data is replaced.
func (s *ExternalStore) MarkInPlace(t *TensorProto) {
	if len(t.RawData) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inPlace == nil {
		s.inPlace = map[*TensorProto]*byte{}
	}
	s.inPlace[t] = &t.RawData[0]
}

// keepsSlot reports whether t's raw_data is its own bytes changed in place.
func (s *ExternalStore) keepsSlot(t *TensorProto) bool {
	if s == nil || len(t.RawData) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inPlace[t] == &t.RawData[0]
}
