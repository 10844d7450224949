// Package prune is an onnxopt pass (being written).
package prune
