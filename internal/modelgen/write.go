package modelgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/onnxopt/onnxopt/onnx"
)

const (
	// dataAlign aligns each tensor's offset in an external data file, as
	// onnx's Python helpers do, so that ONNX Runtime can map it directly.
	dataAlign = 4096
	// maxProtoBytes is protobuf's limit on a serialized message, and so on
	// a model file without external data.
	maxProtoBytes = math.MaxInt32
	// streamFloats is how many weights are drawn and written at a time.
	streamFloats = 16 * chunkLen
)

// Field numbers of onnx.proto used to split messages around their weights.
const (
	modelGraphField    protowire.Number = 7 // ModelProto.graph
	graphInitField     protowire.Number = 5 // GraphProto.initializer
	tensorRawDataField protowire.Number = 9 // TensorProto.raw_data
)

// WriteMLP writes MLP(opts) to path, drawing and writing the weights one
// chunk at a time so that memory stays small whatever the model's size.
//
// With external, every weight goes to one side file named after the model
// plus ".data" (model.onnx -> model.onnx.data), each tensor at an offset
// aligned to 4096 bytes, and the model refers to it by relative name.
// Without external, a model over protobuf's 2 GiB limit is refused before
// anything is written. Without external the file is byte for byte what
// marshalling MLP(opts) deterministically gives.
//
// Files are written to temporary names in the same folder and renamed into
// place (the data file first), so readers never see a partial model.
func WriteMLP(path string, opts MLPOptions, external bool) error {
	o, err := opts.withDefaults()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeModel(path, buildMLP(o), o.Opset, external)
}

// WriteCNN writes CNN(opts) to path as WriteMLP does.
func WriteCNN(path string, opts CNNOptions, external bool) error {
	o, err := opts.withDefaults()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeModel(path, buildCNN(o), o.Opset, external)
}

func writeModel(path string, b *Builder, opset int64, external bool) error {
	m := b.wrap(b.skeleton(), opset)
	var err error
	if external {
		err = writeExternal(path, m, b.drawn)
	} else {
		err = writeInline(path, m, b.drawn)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeExternal streams the drawn tensors of m into path+".data", points
// them there, and writes m to path.
func writeExternal(path string, m *onnx.ModelProto, drawn map[*onnx.TensorProto]normal) error {
	dataName := filepath.Base(path) + ".data"
	data, err := createAtomic(filepath.Join(filepath.Dir(path), dataName))
	if err != nil {
		return err
	}
	defer data.abort()
	buf := make([]float32, streamFloats)
	var offset int64
	for _, t := range m.Graph.Initializer {
		d, ok := drawn[t]
		if !ok {
			continue
		}
		pad := (dataAlign - offset%dataAlign) % dataAlign
		if _, err := data.w.Write(make([]byte, pad)); err != nil {
			return err
		}
		offset += pad
		n := numElements(t.Dims)
		if err := stream(data.w, d, n, buf); err != nil {
			return fmt.Errorf("tensor %s: %w", t.GetName(), err)
		}
		t.DataLocation = onnx.TensorProto_EXTERNAL.Enum()
		t.ExternalData = []*onnx.StringStringEntryProto{
			entry("location", dataName),
			entry("offset", strconv.FormatInt(offset, 10)),
			entry("length", strconv.FormatInt(4*n, 10)),
		}
		offset += 4 * n
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	model, err := createAtomic(path)
	if err != nil {
		return err
	}
	defer model.abort()
	if _, err := model.w.Write(b); err != nil {
		return err
	}
	if err := data.commit(); err != nil {
		return err
	}
	return model.commit()
}

func entry(k, v string) *onnx.StringStringEntryProto {
	return &onnx.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)}
}

// writeInline writes m to path with the drawn tensors' values as raw_data,
// streaming them. Deterministic marshalling writes fields in number order,
// so the model is its fields before graph, the graph (its fields before
// initializer, the initializers, its fields after), then its fields after
// graph; a drawn tensor is its other fields followed by raw_data (9), the
// last field it sets.
func writeInline(path string, m *onnx.ModelProto, drawn map[*onnx.TensorProto]normal) error {
	g := m.Graph
	graphHead, graphTail, err := split(g, graphInitField)
	if err != nil {
		return err
	}
	type part struct {
		head []byte // the tensor without raw_data, or whole
		n    int64  // drawn values to append as raw_data
	}
	parts := make([]part, len(g.Initializer))
	graphLen := int64(len(graphHead) + len(graphTail))
	for i, t := range g.Initializer {
		head, err := proto.MarshalOptions{Deterministic: true}.Marshal(t)
		if err != nil {
			return err
		}
		p := part{head: head}
		size := int64(len(head))
		if _, ok := drawn[t]; ok && t.RawData == nil {
			p.n = numElements(t.Dims)
			size += fieldOverhead(tensorRawDataField, 4*p.n) + 4*p.n
		}
		parts[i] = p
		graphLen += fieldOverhead(graphInitField, size) + size
	}
	modelHead, modelTail, err := split(m, modelGraphField)
	if err != nil {
		return err
	}
	total := int64(len(modelHead)) + fieldOverhead(modelGraphField, graphLen) + graphLen + int64(len(modelTail))
	if total > maxProtoBytes {
		return fmt.Errorf("model would be %d bytes, over protobuf's 2 GiB limit: write the weights as external data", total)
	}

	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	defer f.abort()
	w := f.w
	w.Write(modelHead)
	w.Write(lengthPrefix(modelGraphField, graphLen))
	w.Write(graphHead)
	buf := make([]float32, streamFloats)
	for i, t := range g.Initializer {
		p := parts[i]
		size := int64(len(p.head))
		if p.n > 0 {
			size += fieldOverhead(tensorRawDataField, 4*p.n) + 4*p.n
		}
		w.Write(lengthPrefix(graphInitField, size))
		w.Write(p.head)
		if p.n > 0 {
			w.Write(lengthPrefix(tensorRawDataField, 4*p.n))
			if err := stream(w, drawn[t], p.n, buf); err != nil {
				return fmt.Errorf("tensor %s: %w", t.GetName(), err)
			}
		}
	}
	w.Write(graphTail)
	if _, err := w.Write(modelTail); err != nil { // bufio keeps the first error
		return err
	}
	return f.commit()
}

// split marshals the fields of m numbered below and above field.
func split(m proto.Message, field protowire.Number) (head, tail []byte, err error) {
	src := m.ProtoReflect()
	before, after := src.New(), src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Number() < field:
			before.Set(fd, v)
		case fd.Number() > field:
			after.Set(fd, v)
		}
		return true
	})
	opts := proto.MarshalOptions{Deterministic: true}
	if head, err = opts.Marshal(before.Interface()); err != nil {
		return nil, nil, err
	}
	tail, err = opts.Marshal(after.Interface())
	return head, tail, err
}

// fieldOverhead is the size of the tag and length of a bytes field.
func fieldOverhead(field protowire.Number, n int64) int64 {
	return int64(protowire.SizeTag(field) + protowire.SizeVarint(uint64(n)))
}

// lengthPrefix is the tag and length of a bytes field of n bytes.
func lengthPrefix(field protowire.Number, n int64) []byte {
	b := protowire.AppendTag(nil, field, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// stream draws n values of d into buf, batch by batch, and writes them to w
// as little-endian float32.
func stream(w io.Writer, d normal, n int64, buf []float32) error {
	for first := int64(0); first < n; first += int64(len(buf)) {
		batch := buf[:min(int64(len(buf)), n-first)]
		d.fill(batch, first)
		if _, err := w.Write(float32Bytes(batch)); err != nil {
			return err
		}
	}
	return nil
}

// atomicFile is a temporary file that commit renames into place.
type atomicFile struct {
	f    *os.File
	w    *bufio.Writer
	path string
	done bool
}

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{f: f, w: bufio.NewWriterSize(f, 1<<20), path: path}, nil
}

// commit flushes and closes the file and renames it to its final path.
func (a *atomicFile) commit() error {
	err := a.w.Flush()
	if err == nil {
		err = a.f.Chmod(0o644)
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
	}
	a.done = true
	return err
}

// abort removes the temporary file unless it was committed.
func (a *atomicFile) abort() {
	if !a.done {
		a.f.Close()
		os.Remove(a.f.Name())
		a.done = true
	}
}
