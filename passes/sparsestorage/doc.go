// Package sparsestorage is an onnxopt pass (being written).
package sparsestorage
