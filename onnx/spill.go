package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Spill holds the bytes that passes replaced during a streaming write,
// already on disk in temporary files in the output's folder: each tensor
// changed in place (same size) is written straight to the place the
// writer will give it in the output's side file, predicted when streaming
// starts; anything else goes to a scratch file. WriteFile then fills in
// the unchanged tensors around them and renames the files into place, or,
// when the layout changed since (a tensor removed, resized or replaced),
// copies the spilled bytes into a fresh file. Either way the output is the
// one the in-memory path writes, byte for byte.
type Spill struct {
	mu      sync.Mutex
	dir     string
	base    string                  // the output model's file name
	opts    WriteOptions            // the write's options (ExternalLocation set)
	slots   map[*TensorProto]placed // predicted places of external tensors
	files   map[string]*spillFile   // side files being filled, by target path
	scratch *spillFile
	at      map[*TensorProto]spilled
	all     []*spillFile
}

// spillFile is one temporary file of the spill.
type spillFile struct {
	f         *os.File
	name      string
	size      int64                  // scratch: where the next tensor goes
	spans     map[*TensorProto]int64 // side files: tensors written at their slot
	committed bool
}

// spilled is where the current bytes of a tensor are in the spill.
type spilled struct {
	file *spillFile
	off  int64
	n    int64
	keep bool // changed in place: the writer keeps its slot
}

// StartSpill puts the store in streaming mode for a write of m to path
// with opts (the same WriteFile will get): reads go range by range, and
// SpillRaw moves replaced bytes to disk at once. Close removes what a
// write that never completes leaves behind.
func (s *ExternalStore) StartSpill(path string, m *ModelProto, opts WriteOptions) error {
	opts.Source = s
	s.SetRangeReads(true)
	plan, err := layoutExternal(path, m, opts)
	if err != nil {
		return err
	}
	if opts.ExternalLocation == "" {
		opts.ExternalLocation = filepath.Base(path) + ".data"
	}
	sp := &Spill{dir: filepath.Dir(path), base: filepath.Base(path), opts: opts, slots: map[*TensorProto]placed{}, files: map[string]*spillFile{}, at: map[*TensorProto]spilled{}}
	for _, pl := range plan.place {
		sp.slots[pl.t] = pl
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spill != nil {
		return fmt.Errorf("the model is already being streamed")
	}
	s.spill = sp
	return nil
}

// Streaming reports whether StartSpill was called.
func (s *ExternalStore) Streaming() bool { return s.currentSpill() != nil }

func (s *ExternalStore) currentSpill() *Spill {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spill
}

// spillOf returns where t's replaced bytes are, if they were spilled.
func (s *ExternalStore) spillOf(t *TensorProto) (spilled, bool) {
	sp := s.currentSpill()
	if sp == nil {
		return spilled{}, false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	at, ok := sp.at[t]
	return at, ok
}

func (s *ExternalStore) spilled(t *TensorProto) bool {
	_, ok := s.spillOf(t)
	return ok
}

// SpillRaw writes the raw_data of the external tensor t to the spill and
// clears it, so the bytes leave memory; later reads find them on disk.
// Without StartSpill, or for a tensor that is not external or holds no
// raw_data, it does nothing.
func (s *ExternalStore) SpillRaw(t *TensorProto) error {
	sp := s.currentSpill()
	if sp == nil || !t.IsExternal() || t.RawData == nil {
		return nil
	}
	if err := t.CheckData(); err != nil {
		return err
	}
	keep := s.keepsSlot(t)
	data := t.RawData
	if err := sp.write(t, data, keep); err != nil {
		return err
	}
	t.RawData = nil
	s.mu.Lock()
	delete(s.inPlace, t)
	s.mu.Unlock()
	return nil
}

// SpillNew moves the bytes of t, a tensor stored in the model rather than
// in an external file (one a pass made, or an inline one it changed), to
// the spill at once when the write will put it in the side file anyway: an
// initializer (site) of at least the write's ExternalThreshold bytes. t
// then becomes an external tensor of the side file ExternalLocation whose
// bytes are in the spill; the writer appends it there, as it appends such
// a tensor held in memory, so the output is the same. It reports whether
// t was moved. An external t is handed to SpillRaw. Without StartSpill it
// does nothing.
func (s *ExternalStore) SpillNew(t *TensorProto, site TensorSite) (bool, error) {
	sp := s.currentSpill()
	if sp == nil {
		return false, nil
	}
	if t.IsExternal() {
		had := t.RawData != nil
		err := s.SpillRaw(t)
		return had && err == nil, err
	}
	if !sp.movesOut(t, site) {
		return false, nil
	}
	if err := t.CheckData(); err != nil {
		return false, err
	}
	data, err := RawBytes(t, nil)
	if err != nil {
		return false, err
	}
	if err := sp.write(t, data, false); err != nil {
		return false, err
	}
	n := strconv.Itoa(len(data))
	t.RawData, t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data = nil, nil, nil, nil, nil, nil
	t.DataLocation = TensorProto_EXTERNAL.Enum()
	t.ExternalData = []*StringStringEntryProto{entry("location", sp.opts.ExternalLocation), entry("offset", "0"), entry("length", n)}
	return true, nil
}

// movesOut reports whether the write moves t, held in the model, out to
// the side file (the rule layoutExternal applies).
func (sp *Spill) movesOut(t *TensorProto, site TensorSite) bool {
	th := sp.opts.ExternalThreshold
	if th <= 0 || site == SiteAttribute || t.GetDataType() == int32(TensorProto_STRING) {
		return false
	}
	n, err := t.Elements()
	return err == nil && StorageBytes(t.GetDataType(), n) >= th
}

func entry(k, v string) *StringStringEntryProto { return &StringStringEntryProto{Key: &k, Value: &v} }

// write puts the bytes of t in its slot of the output's side file when it
// keeps its slot and its size, else at the end of the scratch file.
func (sp *Spill) write(t *TensorProto, data []byte, keep bool) error {
	n := int64(len(data))
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var (
		file *spillFile
		off  int64
		err  error
	)
	slot, ok := sp.slots[t]
	// Only a tensor the write had placed keeps a slot; one made external
	// since (SpillNew) is appended even if later changed in place.
	keep = keep && ok
	if keep && slot.n == n {
		file, err = sp.sideFile(slot.loc)
		off = slot.offset
	} else {
		if sp.scratch == nil {
			sp.scratch, err = sp.create(filepath.Join(sp.dir, sp.base+".spill"))
		}
		file = sp.scratch
		if err == nil {
			off = align(file.size, n)
			file.size = off + n
		}
	}
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if _, err := file.f.WriteAt(data, off); err != nil {
		return fmt.Errorf("tensor %q: writing %s: %w", t.GetName(), file.name, err)
	}
	if file.spans != nil {
		file.spans[t] = off
	}
	sp.at[t] = spilled{file: file, off: off, n: n, keep: keep}
	return nil
}

// sideFile returns the temporary file that becomes the output's side file
// loc (sp.mu held).
func (sp *Spill) sideFile(loc string) (*spillFile, error) {
	target, err := ResolveOutputLocation(sp.dir, loc)
	if err != nil {
		return nil, err
	}
	if f := sp.files[target]; f != nil {
		return f, nil
	}
	f, err := sp.create(target)
	if err != nil {
		return nil, err
	}
	f.spans = map[*TensorProto]int64{}
	sp.files[target] = f
	return f, nil
}

// create makes a registered temporary file beside target (sp.mu held).
func (sp *Spill) create(target string) (*spillFile, error) {
	f, err := createTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write to %s: %w", filepath.Dir(target), err)
	}
	sf := &spillFile{f: f, name: f.Name()}
	sp.all = append(sp.all, sf)
	return sf, nil
}

// fileFor returns the spill's side file for target, if any.
func (sp *Spill) fileFor(target string) *spillFile {
	if sp == nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if f := sp.files[target]; f != nil && !f.committed {
		return f
	}
	return nil
}

// committed records that the temporary file tmp was renamed into place:
// it is the user's file now, never removed or filled again.
func (sp *Spill) committed(tmp string) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, f := range sp.all {
		if f.name == tmp {
			f.committed = true
		}
	}
}

// discard closes the spill's files and removes those not committed.
func (sp *Spill) discard() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, f := range sp.all {
		f.f.Close()
		if !f.committed {
			discardTemp(f.name)
		}
	}
	sp.all = nil
	clear(sp.files)
	clear(sp.at)
	sp.scratch = nil
}

// fits reports whether every tensor the spill wrote into sf sits, in the
// plan, exactly where it was written, with its bytes taken from there:
// then sf can be completed in place.
func (f *sideFile) fits(sf *spillFile) bool {
	at := map[*TensorProto]chunk{}
	for _, c := range f.chunks {
		at[c.t] = c
	}
	for t, off := range sf.spans {
		c, ok := at[t]
		if !ok || c.offset != off || c.src.file != sf.f || c.src.off != off {
			return false
		}
	}
	return true
}

// complete writes the chunks not already in sf at their offsets, sizes
// it and syncs it; the gaps are holes, which read as zeros.
func (f *sideFile) complete(sf *spillFile) error {
	var buf []byte
	for _, c := range f.chunks {
		if c.src.file == sf.f && c.src.off == c.offset {
			continue
		}
		if c.src.file == nil {
			if _, err := sf.f.WriteAt(c.src.data, c.offset); err != nil {
				return err
			}
			continue
		}
		if buf == nil {
			buf = make([]byte, copyBuffer)
		}
		if err := copyRange(c.src, buf, func(b []byte, at int64) error {
			_, err := sf.f.WriteAt(b, c.offset+at)
			return err
		}); err != nil {
			return err
		}
	}
	if err := sf.f.Truncate(f.size); err != nil {
		return err
	}
	if err := sf.f.Sync(); err != nil {
		return err
	}
	return os.Chmod(sf.name, 0o644)
}
