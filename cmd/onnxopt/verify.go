package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
	"github.com/spf13/cobra"
)

func init() { register(newVerifyCmd) }

// runtimeFlags are the flags every command that runs models shares.
type runtimeFlags struct {
	ep      string
	threads int
	shapes  []string
	seed    int64
}

func (f *runtimeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.ep, "ep", "cpu", "execution provider: cpu or cuda (no fallback: cuda fails if it is not available)")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads (0: its default)")
	cmd.Flags().StringArrayVar(&f.shapes, "shape", nil, "size dynamic dimensions of generated inputs: `NAME=1x3x224x224` for an input, or DIM=4 for a symbolic dimension (repeatable, or comma-separated: batch=1,seq=8; unset dimensions are 1)")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the generated inputs")
}

// options checks the flags and converts them.
func (f *runtimeFlags) options() (ort.Options, ort.Shapes, error) {
	if f.ep != "cpu" && f.ep != "cuda" {
		return ort.Options{}, nil, usageErrorf("--ep %q: want cpu or cuda", f.ep)
	}
	if f.threads < 0 {
		return ort.Options{}, nil, usageErrorf("--threads %d: must be 0 or more", f.threads)
	}
	shapes := ort.Shapes{}
	for _, s := range splitShapes(f.shapes) {
		name, dims, err := ort.ParseShape(s)
		if err != nil {
			return ort.Options{}, nil, usageErrorf("--shape: %v", err)
		}
		if _, dup := shapes[name]; dup {
			return ort.Options{}, nil, usageErrorf("--shape %s given twice", name)
		}
		shapes[name] = dims
	}
	return ort.Options{EP: f.ep, Threads: f.threads}, shapes, nil
}

// runError maps an error from verify to an exit code: settings that do not
// fit the model are usage errors, anything else a failure.
func runError(err error) error {
	var ce *ort.ConfigError
	if errors.As(err, &ce) {
		return usageErrorf("%v", err)
	}
	return withCode(exitFailure, err)
}

func newVerifyCmd() *cobra.Command {
	var (
		rf         runtimeFlags
		jsonOut    bool
		inputs     string
		samples    int
		rtol, atol float64
		minCosine  float64
	)
	cmd := &cobra.Command{
		Use:   "verify [flags] REFERENCE CANDIDATE",
		Short: "Check through ONNX Runtime that a model computes what another does",
		Long: `verify runs REFERENCE and CANDIDATE through ONNX Runtime on the same inputs
and compares every output: max abs error, relative L2 error, cosine
similarity, and top-1 agreement for class-score outputs (rank >= 2, last
dimension > 1). Outputs are paired by name, or by position when the names
differ. Shapes and dtypes must match; integer, bool and string outputs must
be equal; floating-point outputs must satisfy numpy.allclose's rule
|candidate - reference| <= atol + rtol*|reference| with --rtol and --atol
(NaN equals NaN at the same place), or reach --min-cosine. The defaults
(rtol 1e-5 as numpy, atol 1e-6) pass rewrites that only reorder float32 sums
and fail real changes of the computation; float16 outputs want --rtol 1e-3.

Inputs are random (fixed --seed; dynamic dimensions from --shape, else 1),
or read with --inputs from a folder in the ONNX test-data layout
(input_0.pb, ... as TensorProto, or test_data_set_N folders of them).

Exit status: 0 when every output is within tolerance, 3 when outputs differ
beyond it, 1 when a model fails to load or run, 2 for usage errors.`,
		Example: `  onnxopt verify model.onnx pruned.onnx
  onnxopt verify --shape x=1x3x640x640 det.onnx det-int8.onnx --min-cosine 0.999
  onnxopt verify --inputs testdata/ model.onnx model-opt.onnx --json
  onnxopt verify --shape batch=4 --samples 8 --rtol 1e-3 --atol 1e-5 a.onnx b.onnx`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("verify takes two models, REFERENCE and CANDIDATE; got %d arguments (see 'onnxopt verify --help')", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, shapes, err := rf.options()
			if err != nil {
				return err
			}
			switch {
			case samples < 1:
				return usageErrorf("--samples %d: must be at least 1", samples)
			case inputs != "" && (len(shapes) > 0 || cmd.Flags().Changed("samples") || cmd.Flags().Changed("seed")):
				return usageErrorf("--shape, --samples and --seed shape generated inputs; they do not go with --inputs")
			case rtol < 0 || atol < 0:
				return usageErrorf("--rtol and --atol must not be negative")
			case minCosine < -1 || minCosine > 1:
				return usageErrorf("--min-cosine %g: must be between -1 and 1", minCosine)
			}
			// Our own reader first: a broken model gets onnxopt's one-line
			// message naming the problem, not the runtime's.
			// The specs are all Verify needs from the files it runs.
			specs := make([][]ort.InputSpec, len(args))
			for i, path := range args {
				m, err := loadModel(path)
				if err != nil {
					return err
				}
				specs[i] = ort.InputSpecs(m.ToProto())
			}
			if inputs == "" {
				noteDefaulted(cmd, specs[0], shapes)
			}
			tol := verify.Tolerance{RTol: rtol, ATol: atol, MinCosine: minCosine}
			tol.CosineOnly = cmd.Flags().Changed("min-cosine") && !cmd.Flags().Changed("rtol") && !cmd.Flags().Changed("atol")
			rep, err := verify.Verify(args[0], args[1], verify.Config{
				Options: opts, Tolerance: tol, InputDir: inputs, Shapes: shapes, Samples: samples, Seed: rf.seed,
				ReferenceInputs: specs[0], CandidateInputs: specs[1],
			})
			if err != nil {
				return runError(err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return withCode(exitFailure, err)
				}
			} else {
				fmt.Fprintf(out, "reference: %s\ncandidate: %s\n%s\n\n", rep.Reference, rep.Candidate, rep.Runtime)
				if err := rep.WriteText(out); err != nil {
					return withCode(exitFailure, err)
				}
			}
			if !rep.Pass {
				return withCode(exitMismatch, fmt.Errorf("%s differs from %s beyond tolerance", args[1], args[0]))
			}
			return nil
		},
	}
	rf.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	f.StringVar(&inputs, "inputs", "", "read inputs from `DIR` (ONNX test-data layout) instead of generating them")
	f.IntVar(&samples, "samples", 1, "number of generated input samples")
	f.Float64Var(&rtol, "rtol", verify.DefaultTolerance.RTol, "relative tolerance (numpy.allclose rule; see above for the default)")
	f.Float64Var(&atol, "atol", verify.DefaultTolerance.ATol, "absolute tolerance (numpy.allclose rule)")
	f.Float64Var(&minCosine, "min-cosine", 0, "pass floating-point outputs whose cosine similarity reaches this (alone, unless --rtol or --atol is also given)")
	return cmd
}

// splitShapes lets one --shape hold several, comma-separated
// (batch=1,seq=8), when every piece is NAME=DIMS; otherwise the value is
// one shape (an input name may hold a comma).
func splitShapes(vals []string) []string {
	var out []string
	for _, v := range vals {
		parts := strings.Split(v, ",")
		all := len(parts) > 1
		for _, p := range parts {
			all = all && strings.Contains(p, "=")
		}
		if all {
			out = append(out, parts...)
		} else {
			out = append(out, v)
		}
	}
	return out
}
