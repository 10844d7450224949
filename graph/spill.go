package graph

import (
	"fmt"
	"sync"

	"github.com/onnxopt/onnxopt/onnx"
)

// Stream puts the model in streaming mode for writing to path with opts
// (give WriteFile the same path and options): external tensors are read
// one at a time when a pass asks for them, and when a pass Releases a
// tensor its bytes leave memory, replaced bytes first written at once to
// a temporary file beside path. A pass that releases each weight after
// use then holds a few tensors, not the model. The written files are the
// ones the in-memory path writes, byte for byte. Close removes the
// temporary files if the model is never written.
func (m *Model) Stream(path string, opts onnx.WriteOptions) error {
	if m.Store == nil {
		return fmt.Errorf("streaming needs a model read from a file (its external data store)")
	}
	return m.Store.StartSpill(path, m.ToProto(), opts)
}

// Close releases what the model holds outside the Go heap: open external
// data files and the temporary files of a streaming write that was not
// completed.
func (m *Model) Close() error {
	if m.Store == nil {
		return nil
	}
	return m.Store.Close()
}

// rangedBytes are the bytes of an external tensor read on demand (when
// the store reads ranges), held until Release.
type rangedBytes struct {
	mu     sync.Mutex
	loaded []byte // read and unchanged
	held   int64  // bytes counted as held by the store: loaded, or installed as raw_data
}

// inRange reports whether the tensor's bytes are read on demand.
func (t *Tensor) inRange() bool {
	return t.store != nil && t.Proto.IsExternal() && t.Proto.RawData == nil && t.store.RangeReads()
}

// loadRange returns the tensor's bytes, reading them on first use.
func (t *Tensor) loadRange() ([]byte, error) {
	r := &t.ranged
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded != nil {
		return r.loaded, nil
	}
	b, err := t.store.Bytes(t.Proto)
	if err != nil {
		return nil, err
	}
	r.loaded = b
	r.held += int64(len(b))
	return b, nil
}

// rangedFloat32s returns the values of an external float32 tensor read on
// demand (see rangedRaw).
func (t *Tensor) rangedFloat32s(mutable bool) ([]float32, error) {
	if t.DataType() != int32(onnx.TensorProto_FLOAT) {
		return nil, fmt.Errorf("tensor %q is %s, not float32", t.Name(), onnx.DataTypeName(t.DataType()))
	}
	raw, err := t.rangedRaw(mutable)
	if err != nil {
		return nil, err
	}
	return onnx.BytesAsFloat32s(raw), nil // a buffer of our own: aligned, no copy
}

// rangedRaw returns the bytes of an external tensor read on demand; for
// changing, the buffer read (the tensor's own) becomes its raw_data,
// marked as changed in place so it keeps its place in the side file, as a
// change inside a wholly read file does.
func (t *Tensor) rangedRaw(mutable bool) ([]byte, error) {
	raw, err := t.loadRange()
	if err != nil || !mutable {
		return raw, err
	}
	r := &t.ranged
	r.mu.Lock()
	onnx.SetRaw(t.Proto, raw)
	t.store.MarkInPlace(t.Proto)
	r.loaded = nil
	r.mu.Unlock()
	t.markOwned()
	return raw, nil
}

// Release tells the model that the pass is done with the tensor's bytes
// for now. In streaming mode (Model.Stream) they leave memory: changed
// bytes of an external tensor are written to the output's temporary side
// file, and bytes read on demand are dropped (read again if asked for).
// A tensor held in the model (one a pass made with NewInitializer or
// Model.NewTensor, or an inline one it changed) that the write will move
// to the side file (an initializer of at least the write's
// ExternalThreshold) goes there at once too and becomes external (see
// onnx.ExternalStore.SpillNew); smaller ones stay in memory. Otherwise
// Release drops only bytes read on demand and unchanged. Slices the pass
// got from the tensor must not be used after Release.
func (t *Tensor) Release() error {
	if t.store == nil {
		return nil
	}
	r := &t.ranged
	r.mu.Lock()
	defer r.mu.Unlock()
	site := onnx.SiteInitializer
	if t.inAttr {
		site = onnx.SiteAttribute
	}
	if _, err := t.store.SpillNew(t.Proto, site); err != nil {
		return err
	}
	if !t.Proto.IsExternal() {
		return nil // stays in the model (and counted as held, if it was)
	}
	if t.Proto.RawData == nil {
		// Nothing of the tensor is in memory any more.
		t.store.Release(r.held)
		r.held, r.loaded = 0, nil
		return nil
	}
	if r.loaded != nil {
		n := int64(len(r.loaded))
		t.store.Release(n)
		r.held -= n
		r.loaded = nil
	}
	return nil
}

// holdRaw counts bytes installed as the tensor's raw_data as held while
// the model is streamed, until Release spills them.
func (t *Tensor) holdRaw(n int) {
	if t.store == nil || !t.store.Streaming() {
		return
	}
	r := &t.ranged
	r.mu.Lock()
	// The bytes read on demand are replaced: they count no longer (a
	// 16-bit weight decoded, changed and set again holds one copy, not two).
	drop := int64(len(r.loaded))
	r.loaded = nil
	r.held += int64(n) - drop
	r.mu.Unlock()
	t.store.Release(drop)
	t.store.Hold(int64(n))
}

// NewTensor wraps a tensor proto a pass built for m: like graph.NewTensor,
// but bound to the model's external data, so that in streaming mode
// Release moves its bytes to the output's side file (see Release). Use it
// for tensors that replace a value's Tensor; Graph.NewInitializer binds
// its tensors already.
func (m *Model) NewTensor(p *onnx.TensorProto) *Tensor {
	t := &Tensor{Proto: p, store: m.Store}
	if p.RawData != nil {
		t.holdRaw(len(p.RawData))
	}
	return t
}

// ReleaseSparse is Release for a sparse initializer's values and indices:
// in streaming mode those the write will move to the side file (at least
// its ExternalThreshold bytes each) go there at once.
func (m *Model) ReleaseSparse(v *Value) error {
	s := v.Sparse
	if s == nil || m.Store == nil {
		return nil
	}
	for _, t := range []*onnx.TensorProto{s.GetValues(), s.GetIndices()} {
		if t == nil {
			continue
		}
		if _, err := m.Store.SpillNew(t, onnx.SiteSparseInitializer); err != nil {
			return fmt.Errorf("sparse initializer %q: %w", v.Name, err)
		}
	}
	return nil
}
