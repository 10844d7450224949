package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/onnxopt/onnxopt/internal/units"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/all" // register every pass
	"github.com/spf13/cobra"
)

func init() { register(newRunCmd) }

func newRunCmd() *cobra.Command {
	var (
		out, pipeline, file, report string
		extThreshold, maxMemory     string
		printIRAfter                string
		inPlace, quiet, stream      bool
		threads                     int
	)
	cmd := &cobra.Command{
		Use:   "run MODEL -o OUT [-p PIPELINE | -f PIPELINE.yaml]",
		Short: "Run a pipeline of passes over a model and write the result",
		Long: `run reads MODEL into the IR, runs the passes of the pipeline (none: a
lossless round trip), checks the IR after each pass, and writes the result
to OUT atomically (a temporary file in OUT's folder, then a rename), with
external data files beside it. MODEL is never modified.

A pipeline is text such as
  prune(sparsity=0.5,scope=global),nm(n=2,m=4),dce
or a YAML file (-f) with the same passes and options as data:
  passes:
    - prune: {sparsity: 0.5, scope: global}
    - nm: {n: 2, m: 4}
'onnxopt passes' lists every pass and its options.

--print-ir-after=PASS writes the IR (graph.Dump's text) to stderr after
each run of PASS, or after every pass with --print-ir-after=all, each dump
headed by a '// IR after' line naming the step. When a pass fails, the
error ends with an 'onnxopt run' command line that reproduces it: the
input model and the pipeline up to and including the failing pass.

A model whose external data does not fit --max-memory is streamed when
every pass can stream (prune, nm, dce, sparse-storage, and quantize but for
mode=static and method=gptq): each weight is read, changed (or replaced by
new tensors) and written to OUT's side file in turn, so memory holds a few
weights; --stream forces this. Other passes are refused on such a model.`,
		Example: `  onnxopt run model.onnx -o out.onnx
  onnxopt run -p 'prune(sparsity=0.5)' model.onnx -o pruned.onnx --report report.json
  onnxopt run -f pipeline.yaml model.onnx -o out.onnx
  onnxopt run -p 'fold-constants,dce' model.onnx -o out.onnx --print-ir-after=dce 2> ir.txt`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("run takes one MODEL, got %d arguments (see 'onnxopt run --help')", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			in := args[0]
			if out == "" {
				return usageErrorf("run needs -o OUT (see 'onnxopt run --help')")
			}
			if pipeline != "" && file != "" {
				return usageErrorf("give a pipeline with -p or -f, not both")
			}
			allow := []string{}
			if inPlace {
				allow = append(allow, "-o")
			}
			if err := checkOutputs([]string{in}, []output{{"-o", out}, {"--report", report}}, allow...); err != nil {
				return err
			}
			threshold, err := parseSize(extThreshold)
			if err != nil {
				return usageErrorf("--external-threshold: %v", err)
			}
			memLimit := defaultMaxMemory()
			if cmd.Flags().Changed("max-memory") {
				if memLimit, err = parseSize(maxMemory); err != nil {
					return usageErrorf("--max-memory: %v", err)
				}
			}
			var p passes.Pipeline
			switch {
			case pipeline != "":
				if p, err = passes.Parse(pipeline); err != nil {
					return usageErrorf("%v", err)
				}
			case file != "":
				if p, err = passes.ParseFile(file); err != nil {
					return usageErrorf("%v", err)
				}
			}
			afterPass, err := irPrinter(printIRAfter, p, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			wopts := onnx.WriteOptions{ExternalThreshold: threshold}
			m, streamed, err := loadForRun(in, out, memLimit, stream, p, &wopts, cmd.Flags().Changed("external-threshold"))
			if err != nil {
				return err
			}
			defer m.Close()
			if streamed && !quiet {
				fmt.Fprintln(cmd.ErrOrStderr(), streamNote(in, memLimit, stream))
			}
			prog := newProgress(quiet)
			rep, err := passes.Run(p, m, passes.RunOptions{Progress: prog.update, ProgressBytes: prog.updateBytes, Threads: threads, AfterPass: afterPass})
			prog.done()
			if err != nil {
				return withCode(exitFailure, withReproducer(err, in, out, p))
			}
			if err := m.WriteFile(out, wopts); err != nil {
				return withCode(exitFailure, err)
			}
			rep.Input, rep.Output = in, out
			if st, err := os.Stat(out); err == nil {
				rep.FileBytes = st.Size()
			}
			if report != "" {
				b, _ := json.MarshalIndent(rep, "", "  ")
				if err := onnx.AtomicWrite(report, writeBytes(append(b, '\n'))); err != nil {
					return withCode(exitFailure, err)
				}
			}
			if !quiet {
				printRunSummary(cmd, rep)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "where to write the result")
	f.StringVarP(&pipeline, "pipeline", "p", "", "pipeline text, e.g. 'prune(sparsity=0.5),dce'")
	f.StringVarP(&file, "file", "f", "", "pipeline file (YAML)")
	f.StringVar(&report, "report", "", "write a JSON report of what each pass did")
	f.StringVar(&extThreshold, "external-threshold", "", "store initializers of at least this size (e.g. 1MB) in an external data file beside OUT (default: 1MiB when MODEL has external data, else none)")
	f.StringVar(&maxMemory, "max-memory", "", "refuse models that need more memory than this, e.g. 8GB (default: 80% of physical memory; 0: no limit)")
	f.StringVar(&printIRAfter, "print-ir-after", "", "print the IR to stderr after this pass (a pass name of the pipeline, or all)")
	f.BoolVar(&stream, "stream", false, "read, change and write weights one at a time (chosen by itself when the external data does not fit --max-memory)")
	f.BoolVar(&inPlace, "in-place", false, "allow -o to name the input model")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	f.IntVar(&threads, "threads", 0, "threads for parallel work (0: all cores)")
	return cmd
}

func printRunSummary(cmd *cobra.Command, rep *passes.Report) {
	w := cmd.OutOrStdout()
	for _, p := range rep.Passes {
		var parts []string
		// How a calibrated or quantizing pass fitted its weights.
		if m, ok := p.Extra["method"].(string); ok && m != "" {
			if t, ok := p.Extra["target"].(string); ok && t != "" {
				m += " (target=" + t + ")"
			}
			parts = append(parts, m)
		}
		if p.TensorsTouched > 0 {
			parts = append(parts, fmt.Sprintf("%d tensors changed", p.TensorsTouched))
		}
		if p.WeightsZeroed > 0 {
			parts = append(parts, fmt.Sprintf("%d weights zeroed", p.WeightsZeroed))
		}
		if p.NodesAdded > 0 {
			parts = append(parts, fmt.Sprintf("+%d nodes", p.NodesAdded))
		}
		if p.NodesRemoved > 0 {
			parts = append(parts, fmt.Sprintf("-%d nodes", p.NodesRemoved))
		}
		if len(p.Skipped) > 0 {
			parts = append(parts, fmt.Sprintf("%d skipped", len(p.Skipped)))
		}
		parts = append(parts, fmt.Sprintf("constants %s -> %s", units.HumanBytes(p.BytesBefore), units.HumanBytes(p.BytesAfter)))
		fmt.Fprintf(w, "%-16s %7.3fs  %s\n", p.Pass, p.Seconds, strings.Join(parts, ", "))
		printNotes(w, p.Notes)
		// When a pass changed nothing, say why (the full list is in --report).
		unchanged := p.TensorsTouched == 0 && p.WeightsZeroed == 0 && p.NodesAdded == 0 && p.NodesRemoved == 0
		if unchanged && len(p.Skipped) > 0 {
			reasons := map[string]int{}
			var order []string
			for _, sk := range p.Skipped {
				if reasons[sk.Reason] == 0 {
					order = append(order, sk.Reason)
				}
				reasons[sk.Reason]++
			}
			for i, r := range order {
				if i == 3 {
					fmt.Fprintf(w, "%18s (%s in --report)\n", "", plural(len(order)-3, "more reason"))
					break
				}
				fmt.Fprintf(w, "%18s skipped %d: %s\n", "", reasons[r], r)
			}
		}
	}
	fmt.Fprintf(w, "wrote %s (%s) in %.2fs\n", rep.Output, units.HumanBytes(rep.FileBytes), rep.Seconds)
}

// printNotes shows a pass's notes: those about the model's opset always
// (they change what runs it), the others up to a few.
func printNotes(w io.Writer, notes []string) {
	shown, hidden := 0, 0
	for _, n := range notes {
		if strings.Contains(n, "opset") || shown < 2 {
			fmt.Fprintf(w, "%18s note: %s\n", "", n)
			shown++
		} else {
			hidden++
		}
	}
	if hidden > 0 {
		fmt.Fprintf(w, "%18s (%d more notes in --report)\n", "", hidden)
	}
}
