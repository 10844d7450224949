// Package foldconst is an onnxopt pass (being written).
package foldconst
