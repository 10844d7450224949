package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// WriteOptions controls where WriteFile puts tensor bytes.
type WriteOptions struct {
	// Source gives the bytes of tensors that are external in the input
	// model (nil when it has none).
	Source *ExternalStore
	// ExternalThreshold, when > 0, moves every initializer of at least this
	// many bytes into the side file. Tensors that were external stay
	// external either way (the input's layout is kept).
	ExternalThreshold int64
	// ExternalLocation names the side file for tensors moved out by
	// ExternalThreshold, relative to the model's folder; the default is
	// the model's file name plus ".data".
	ExternalLocation string
}

// WriteFile writes m to path, with its external data files beside it, all
// atomically: each file is written to a temporary file in the target
// folder, synced, then renamed into place, so a failure leaves no partial
// file and the input (even when it is the same path) is untouched until the
// rename. m is not modified. Tensor bytes are copied range by range from
// where they are (the input's side files, memory, or a streaming write's
// spill), so memory stays bounded whatever the model's size.
func WriteFile(path string, m *ModelProto, opts WriteOptions) error {
	dir := filepath.Dir(path)
	plan, err := layoutExternal(path, m, opts)
	if err != nil {
		return err
	}
	// Every file is written to a temporary name first; only when all are
	// complete are they renamed into place, side files before the model,
	// so a failure or an interrupt while writing leaves no file behind and
	// the model never points at data that is not there.
	type pendingFile struct{ tmp, path string }
	var files []pendingFile
	discard := func() {
		for _, f := range files {
			discardTemp(f.tmp)
		}
	}
	spill := opts.Source.currentSpill()
	for _, loc := range plan.order {
		target, err := ResolveOutputLocation(dir, loc)
		if err != nil {
			discard()
			return err
		}
		var tmp string
		if sf := spill.fileFor(target); sf != nil && plan.files[loc].fits(sf) {
			// The spill already holds the replaced tensors at their
			// places in this file: add the rest around them.
			err = plan.files[loc].complete(sf)
			tmp = sf.name
		} else {
			tmp, err = writeTemp(target, plan.files[loc].writeTo)
		}
		if err != nil {
			discard()
			return fmt.Errorf("writing external data %s: %w", loc, err)
		}
		files = append(files, pendingFile{tmp, target})
	}
	plan.apply()
	tmp, err := writeTemp(path, func(w io.Writer) error { return EncodeTo(w, m) })
	plan.restore()
	if err != nil {
		discard()
		return err
	}
	files = append(files, pendingFile{tmp, path})
	for i, f := range files {
		if err := commitTemp(f.tmp, f.path); err != nil {
			for _, rest := range files[i+1:] {
				discardTemp(rest.tmp)
			}
			return err
		}
		spill.committed(f.tmp)
	}
	return nil
}

// ResolveOutputLocation checks that a side-file location is a plain
// relative path that stays inside dir.
func ResolveOutputLocation(dir, loc string) (string, error) {
	if filepath.IsAbs(loc) || filepath.VolumeName(loc) != "" {
		return "", fmt.Errorf("external data location %q is absolute", loc)
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if clean == ".." || len(clean) >= 3 && clean[:3] == ".."+string(filepath.Separator) {
		return "", fmt.Errorf("external data location %q leaves the output folder", loc)
	}
	return filepath.Join(dir, clean), nil
}

// sideFile is the planned content of one external data file.
type sideFile struct {
	chunks []chunk
	size   int64
}

type chunk struct {
	t      *TensorProto
	offset int64
	src    source
}

// copyBuffer is the size of the pieces tensor bytes are copied in.
const copyBuffer = 4 << 20

// writeTo writes the file's bytes in order, zeros in the gaps.
func (f *sideFile) writeTo(w io.Writer) error {
	var pos int64
	zeros := make([]byte, 4096)
	var buf []byte
	for _, c := range f.chunks {
		for pos < c.offset {
			n := min(int64(len(zeros)), c.offset-pos)
			if _, err := w.Write(zeros[:n]); err != nil {
				return err
			}
			pos += n
		}
		if c.src.file == nil {
			if _, err := w.Write(c.src.data); err != nil {
				return err
			}
		} else {
			if buf == nil {
				buf = make([]byte, copyBuffer)
			}
			if err := copyRange(c.src, buf, func(b []byte, at int64) error { _, err := w.Write(b); return err }); err != nil {
				return err
			}
		}
		pos += c.src.size()
	}
	return nil
}

// copyRange reads src's file range piece by piece into buf and hands each
// piece to put with its offset from the range's start.
func copyRange(src source, buf []byte, put func(b []byte, at int64) error) error {
	for done := int64(0); done < src.n; {
		n := min(int64(len(buf)), src.n-done)
		if _, err := src.file.ReadAt(buf[:n], src.off+done); err != nil {
			return fmt.Errorf("reading %s: %w", src.file.Name(), err)
		}
		if err := put(buf[:n], done); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// externalPlan records the side files to write, where each external
// tensor goes, and how to undo the temporary edits made to the model's
// tensors for encoding.
type externalPlan struct {
	files map[string]*sideFile
	order []string
	place []placed
	undo  []func()
}

// placed is where one tensor goes in the output.
type placed struct {
	t      *TensorProto
	loc    string
	offset int64
	n      int64
}

// apply points every placed tensor at its place in the side files, until
// restore.
func (p *externalPlan) apply() {
	for _, pl := range p.place {
		t := pl.t
		saved := struct {
			raw []byte
			ext []*StringStringEntryProto
			loc *TensorProto_DataLocation
			f32 []float32
			i32 []int32
			i64 []int64
			f64 []float64
			u64 []uint64
		}{t.RawData, t.ExternalData, t.DataLocation, t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data}
		p.undo = append(p.undo, func() {
			t.RawData, t.ExternalData, t.DataLocation = saved.raw, saved.ext, saved.loc
			t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data = saved.f32, saved.i32, saved.i64, saved.f64, saved.u64
		})
		t.RawData, t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data = nil, nil, nil, nil, nil, nil
		t.DataLocation = TensorProto_EXTERNAL.Enum()
		t.ExternalData = rewriteExternal(saved.ext, pl.loc, pl.offset, pl.n)
	}
}

func (p *externalPlan) restore() {
	for i := len(p.undo) - 1; i >= 0; i-- {
		p.undo[i]()
	}
	p.undo = nil
}

type pending struct {
	t      *TensorProto
	loc    string
	offset int64 // wanted offset, -1 for "append"
	src    source
}

func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// layoutExternal decides where WriteFile(path, m, opts) puts every
// tensor's bytes, without reading them and without changing m.
func layoutExternal(path string, m *ModelProto, opts WriteOptions) (*externalPlan, error) {
	if opts.ExternalLocation == "" {
		opts.ExternalLocation = filepath.Base(path) + ".data"
	}
	// Beside the input, keeping the input's side-file names would replace
	// the input's own data under it: external tensors then move to the
	// output's side file.
	relocate := opts.Source != nil && sameDir(opts.Source.Dir(), filepath.Dir(path))
	plan := &externalPlan{files: map[string]*sideFile{}}
	var todo []pending
	var firstErr error
	WalkTensors(m, func(t *TensorProto, site TensorSite) {
		if firstErr != nil {
			return
		}
		switch {
		case t.IsExternal():
			ref, err := External(t)
			if err != nil {
				firstErr = err
				return
			}
			loc, off := ref.Location, ref.Offset
			var src source
			switch {
			case t.RawData != nil:
				// Changed in memory: appended, unless changed in place.
				if err := t.CheckData(); err != nil {
					firstErr = err
					return
				}
				src = source{data: t.RawData}
				if !opts.Source.keepsSlot(t) {
					off = -1
				}
			case opts.Source == nil:
				firstErr = fmt.Errorf("tensor %q: data is in an external file, but the model's folder is unknown", t.GetName())
				return
			default:
				if src, err = opts.Source.where(t); err != nil {
					firstErr = err
					return
				}
				if sp, ok := opts.Source.spillOf(t); ok && !sp.keep {
					off = -1
				}
			}
			if relocate {
				loc, off = opts.ExternalLocation, -1
			}
			todo = append(todo, pending{t, loc, off, src})
		case opts.ExternalThreshold > 0 && site != SiteAttribute && t.GetDataType() != int32(TensorProto_STRING):
			n, err := t.Elements()
			if err != nil {
				firstErr = err
				return
			}
			if StorageBytes(t.GetDataType(), n) < opts.ExternalThreshold {
				return
			}
			data, err := RawBytes(t, nil)
			if err != nil {
				firstErr = err
				return
			}
			todo = append(todo, pending{t, opts.ExternalLocation, -1, source{data: data}})
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	// Keep the input's offsets where they still fit, in offset order, so
	// an unchanged model writes an identical side file; append the rest.
	firstSeen := map[string]int{}
	for i, p := range todo {
		if _, ok := firstSeen[p.loc]; !ok {
			firstSeen[p.loc] = i
		}
	}
	sort.SliceStable(todo, func(i, j int) bool {
		if todo[i].loc != todo[j].loc {
			return firstSeen[todo[i].loc] < firstSeen[todo[j].loc]
		}
		oi, oj := todo[i].offset, todo[j].offset
		if oi < 0 || oj < 0 {
			return oj < 0 && oi >= 0
		}
		return oi < oj
	})
	plan.placeAll(todo, nil)
	// A side file whose kept offsets would leave more than a quarter of it
	// empty (most tensors removed or resized, as quantizing does) is
	// packed instead: the output holds its tensors, not the input's holes.
	packed := map[string]bool{}
	for loc, f := range plan.files {
		var used int64
		for _, c := range f.chunks {
			used += c.src.size()
		}
		if f.size-used > f.size/4 {
			packed[loc] = true
		}
	}
	if len(packed) > 0 {
		plan.files, plan.order, plan.place = map[string]*sideFile{}, nil, nil
		plan.placeAll(todo, packed)
	}
	return plan, nil
}

// placeAll gives each pending tensor its place: its wanted offset when it
// is past what is already placed in its file (unless the file is packed),
// else the next aligned offset.
func (plan *externalPlan) placeAll(todo []pending, packed map[string]bool) {
	for _, p := range todo {
		f := plan.files[p.loc]
		if f == nil {
			f = &sideFile{}
			plan.files[p.loc] = f
			plan.order = append(plan.order, p.loc)
		}
		n := p.src.size()
		off := p.offset
		if off < f.size || packed[p.loc] {
			off = align(f.size, n)
		}
		f.chunks = append(f.chunks, chunk{p.t, off, p.src})
		f.size = off + n
		plan.place = append(plan.place, placed{p.t, p.loc, off, n})
	}
}

// rewriteExternal returns external_data entries pointing at loc/off/length,
// keeping the order and any other keys of the original entries.
func rewriteExternal(orig []*StringStringEntryProto, loc string, off, length int64) []*StringStringEntryProto {
	vals := map[string]string{"location": loc, "offset": strconv.FormatInt(off, 10), "length": strconv.FormatInt(length, 10)}
	var out []*StringStringEntryProto
	seen := map[string]bool{}
	for _, kv := range orig {
		k := kv.GetKey()
		if v, ok := vals[k]; ok {
			seen[k] = true
			if kv.GetValue() == v {
				out = append(out, kv)
			} else {
				out = append(out, &StringStringEntryProto{Key: kv.Key, Value: &v})
			}
			continue
		}
		if k == "checksum" {
			continue // the bytes may have changed; a stale checksum would lie
		}
		out = append(out, kv)
	}
	for _, k := range []string{"location", "offset", "length"} {
		if !seen[k] {
			k, v := k, vals[k]
			out = append(out, &StringStringEntryProto{Key: &k, Value: &v})
		}
	}
	return out
}

// align rounds pos up so that large tensors start on a page boundary and
// small ones on a 64-byte boundary (what memory-mapping readers like).
func align(pos, size int64) int64 {
	a := int64(64)
	if size >= 1<<20 {
		a = 4096
	}
	return (pos + a - 1) / a * a
}
