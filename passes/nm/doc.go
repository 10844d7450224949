// Package nm is an onnxopt pass (being written).
package nm
