package onnx

import "encoding/binary"

// IntReader returns the function that reads element i of raw
// little-endian data of a whole-byte integer type (int8 to int64, uint8 to
// uint32, and bool as stored), for loops that visit elements one
// at a time; nil for other types (uint64, which does not fit an int64, the
// packed sub-byte types, floats). graph.DecodeInt64s decodes whole tensors.
func IntReader(dt int32) func(raw []byte, i int) int64 {
	return intReaders[TensorProto_DataType(dt)]
}

// intReaders read element i of whole-byte integer types.
var intReaders = map[TensorProto_DataType]func(b []byte, i int) int64{
	TensorProto_INT8:   func(b []byte, i int) int64 { return int64(int8(b[i])) },
	TensorProto_UINT8:  func(b []byte, i int) int64 { return int64(b[i]) },
	TensorProto_BOOL:   func(b []byte, i int) int64 { return int64(b[i]) },
	TensorProto_INT16:  func(b []byte, i int) int64 { return int64(int16(binary.LittleEndian.Uint16(b[2*i:]))) },
	TensorProto_UINT16: func(b []byte, i int) int64 { return int64(binary.LittleEndian.Uint16(b[2*i:])) },
	TensorProto_INT32:  func(b []byte, i int) int64 { return int64(int32(binary.LittleEndian.Uint32(b[4*i:]))) },
	TensorProto_UINT32: func(b []byte, i int) int64 { return int64(binary.LittleEndian.Uint32(b[4*i:])) },
	TensorProto_INT64:  func(b []byte, i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) },
}
