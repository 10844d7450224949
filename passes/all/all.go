// Package all registers every onnxopt pass; import it for its side effect.
package all

import (
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
	_ "github.com/onnxopt/onnxopt/passes/dce"
	_ "github.com/onnxopt/onnxopt/passes/deadneurons"
	_ "github.com/onnxopt/onnxopt/passes/foldconstants"
	_ "github.com/onnxopt/onnxopt/passes/nm"
	_ "github.com/onnxopt/onnxopt/passes/prune"
	_ "github.com/onnxopt/onnxopt/passes/prunechannels"
	_ "github.com/onnxopt/onnxopt/passes/quantize"
	_ "github.com/onnxopt/onnxopt/passes/repair"
	_ "github.com/onnxopt/onnxopt/passes/sparsestorage"
)
