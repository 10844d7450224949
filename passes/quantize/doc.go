// Package quantize is an onnxopt pass (being written).
package quantize
