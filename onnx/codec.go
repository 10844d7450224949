package onnx

import (
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"
)

// MaxProtoSize is the largest message protobuf can encode (2 GiB - 1).
// Bigger models must keep tensor bytes in external data files.
const MaxProtoSize = 1<<31 - 1

// ErrNotModel is wrapped by errors for input that is not an ONNX model.
var ErrNotModel = errors.New("not an ONNX model")

// Decode parses an ONNX model from its protobuf encoding. Tensors stored in
// external files stay as references; see ExternalStore.
func Decode(b []byte) (*ModelProto, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotModel)
	}
	m := &ModelProto{}
	if err := (proto.UnmarshalOptions{RecursionLimit: MaxNesting * 8}).Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v (truncated or corrupt file?)", ErrNotModel, err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: the file has no graph", ErrNotModel)
	}
	if m.GetIrVersion() <= 0 {
		return nil, fmt.Errorf("%w: ir_version is %d", ErrNotModel, m.GetIrVersion())
	}
	return m, nil
}

// ReadFile reads and decodes the model at path.
func ReadFile(path string) (*ModelProto, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a model file", path)
	}
	if st.Size() > MaxProtoSize {
		return nil, fmt.Errorf("%s: %w: %d bytes is over protobuf's 2 GB limit", path, ErrNotModel, st.Size())
	}
	var m *ModelProto
	if st.Size() >= aliasMin {
		m, err = readMapped(path, st.Size())
	} else {
		var b []byte
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		m, err = Decode(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Encode returns the canonical (deterministic) protobuf encoding of m.
// Fields are written in field-number order, as ONNX's own tools write them,
// so a model that was canonically encoded comes back byte for byte.
func Encode(m *ModelProto) ([]byte, error) {
	if n := proto.Size(m); n > MaxProtoSize {
		return nil, fmt.Errorf("model encodes to %d bytes, over protobuf's 2 GB limit: store large tensors as external data", n)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// DecodeTensor parses a TensorProto, as stored in the backend suite's
// input_N.pb and output_N.pb files.
func DecodeTensor(b []byte) (*TensorProto, error) {
	t := &TensorProto{}
	if err := proto.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("not a TensorProto: %v", err)
	}
	return t, nil
}
