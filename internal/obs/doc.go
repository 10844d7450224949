// Package obs holds the numerical kernels of one-shot compression from
// calibration activations: the optimal brain surgeon family (SparseGPT,
// GPTQ), Wanda scores, and least-squares repair. The groups of a grouped
// conv are matrices of their own ranked together ([SparseGPTGroups],
// [WandaGroups]); a sparsity is spread over layers by each weight's share
// of its layer's output error ([SpreadSparsity]) or by OWL's outlier
// ratios ([OWLSparsities]).
//
// Conventions. A weight is a [Weight]: a dense row-major float32 matrix of
// Rows output channels by Cols input features, so element (r, j) is
// Data[r*Cols+j] and the layer computes y = W x. The columns match the
// columns of the activations X [n, Cols] fed to a [Hessian], which holds
// H = 2/n · XᵀX in float64. An ONNX MatMul weight [K, N] is the transpose of
// this layout (Rows = N, Cols = K); a Gemm weight with transB=1 is already
// in it. A Hessian of few rows (at most Cols/4) is factored as diagonal
// plus low rank, which is exact and much cheaper than the dense
// Cols×Cols Cholesky (see [Hessian]).
//
// The functions are pure: they never change their inputs (except the bias
// given to [CorrectBias] and the weight given to [Repair]), they return
// errors naming the problem for bad shapes or options, and their results do
// not depend on scheduling (rows are split over goroutines, each writes its
// own rows).
package obs
