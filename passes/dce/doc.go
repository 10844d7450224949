// Package dce is an onnxopt pass (being written).
package dce
