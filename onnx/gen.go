// Package onnx holds the ONNX protobuf types, generated from onnx.proto, and
// the codec that reads and writes models (from files, bytes and external
// data files). It has no transformation logic.
package onnx

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
