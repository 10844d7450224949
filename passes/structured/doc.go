// Package structured is an onnxopt pass (being written).
package structured
