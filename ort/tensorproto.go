package ort

import (
	"fmt"

	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/encoding/protowire"
)

// TensorFromProto converts a TensorProto to a Tensor. store reads external
// data (nil when the tensor cannot be external).
func TensorFromProto(p *onnx.TensorProto, store *onnx.ExternalStore) (*Tensor, error) {
	t := &Tensor{DType: DType(p.GetDataType()), Shape: append([]int64{}, p.GetDims()...)}
	if !t.DType.known() {
		return nil, fmt.Errorf("tensor %q: unsupported element type %v", p.GetName(), t.DType)
	}
	if t.DType == String {
		if err := p.CheckData(); err != nil {
			return nil, err
		}
		for _, s := range p.GetStringData() {
			t.Strings = append(t.Strings, string(s))
		}
	} else {
		b, err := onnx.RawBytes(p, store)
		if err != nil {
			return nil, err
		}
		t.Raw = append([]byte{}, b...)
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("tensor %q: %v", p.GetName(), err)
	}
	return t, nil
}

// TensorToProto converts a Tensor to a TensorProto with raw_data (or
// string_data) named name.
func TensorToProto(t *Tensor, name string) *onnx.TensorProto {
	p := &onnx.TensorProto{Name: &name, Dims: append([]int64{}, t.Shape...)}
	dt := int32(t.DType)
	p.DataType = &dt
	if t.DType == String {
		for _, s := range t.Strings {
			p.StringData = append(p.StringData, []byte(s))
		}
	} else {
		p.RawData = append([]byte{}, t.Raw...)
	}
	return p
}

// The element kinds of SequenceProto and OptionalProto (onnx-ml.proto).
const (
	protoElemTensor   = 1
	protoElemSequence = 3
	protoElemOptional = 5
)

// DecodeValue decodes a test-data file (the bytes of input_N.pb or
// output_N.pb) holding a value of type typ: a TensorProto for a tensor, a
// SequenceProto for a sequence, an OptionalProto for an optional. It also
// returns the name stored in the file, "" when none.
func DecodeValue(b []byte, typ *onnx.TypeProto) (Value, string, error) {
	switch typ.GetValue().(type) {
	case *onnx.TypeProto_SequenceType:
		return decodeSequence(b)
	case *onnx.TypeProto_OptionalType:
		return decodeOptional(b)
	case *onnx.TypeProto_MapType, *onnx.TypeProto_SparseTensorType, *onnx.TypeProto_OpaqueType:
		return nil, "", fmt.Errorf("unsupported value type %s", TypeString(typ))
	}
	p, err := onnx.DecodeTensor(b)
	if err != nil {
		return nil, "", err
	}
	t, err := TensorFromProto(p, nil)
	return t, p.GetName(), err
}

// protoFields calls fn for each field of the protobuf message b.
func protoFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// decodeSequence decodes a SequenceProto.
func decodeSequence(b []byte) (Value, string, error) {
	var name string
	seq := Sequence{}
	err := protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(v)
		case num == 3 && typ == protowire.BytesType:
			p, err := onnx.DecodeTensor(v)
			if err != nil {
				return err
			}
			t, err := TensorFromProto(p, nil)
			if err != nil {
				return err
			}
			seq = append(seq, t)
		case num == 5 && typ == protowire.BytesType:
			s, _, err := decodeSequence(v)
			if err != nil {
				return err
			}
			seq = append(seq, s)
		case num == 4 || num == 6 || num == 7:
			return fmt.Errorf("sequences of sparse tensors, maps or optionals are not supported")
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("not a SequenceProto: %v", err)
	}
	return seq, name, nil
}

// decodeOptional decodes an OptionalProto; an empty one is None.
func decodeOptional(b []byte) (Value, string, error) {
	var name string
	var val Value = None{}
	err := protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(v)
		case num == 3 && typ == protowire.BytesType:
			var p *onnx.TensorProto
			if p, err = onnx.DecodeTensor(v); err == nil {
				val, err = TensorFromProto(p, nil)
			}
		case num == 5 && typ == protowire.BytesType:
			val, _, err = decodeSequence(v)
		case num == 4 || num == 6 || num == 7:
			err = fmt.Errorf("optionals of sparse tensors, maps or optionals are not supported")
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("not an OptionalProto: %v", err)
	}
	return val, name, nil
}

// TypeString describes an ONNX type: "float32[N,3]", "seq(float32)", ...
func TypeString(t *onnx.TypeProto) string {
	switch v := t.GetValue().(type) {
	case *onnx.TypeProto_TensorType:
		s := DType(v.TensorType.GetElemType()).String()
		if sh := v.TensorType.GetShape(); sh != nil {
			s += "["
			for i, d := range sh.GetDim() {
				if i > 0 {
					s += ","
				}
				switch {
				case d.GetDimParam() != "":
					s += d.GetDimParam()
				case d.GetValue() != nil:
					s += fmt.Sprint(d.GetDimValue())
				default:
					s += "?"
				}
			}
			s += "]"
		}
		return s
	case *onnx.TypeProto_SequenceType:
		return "seq(" + TypeString(v.SequenceType.GetElemType()) + ")"
	case *onnx.TypeProto_OptionalType:
		return "optional(" + TypeString(v.OptionalType.GetElemType()) + ")"
	case *onnx.TypeProto_MapType:
		return "map"
	case *onnx.TypeProto_SparseTensorType:
		return "sparse_tensor"
	case *onnx.TypeProto_OpaqueType:
		return "opaque"
	}
	return "unknown type"
}
