package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/units"
)

func init() { register(newGenCmd) }

// newGenCmd is the `gen` command, which writes the generated models that
// the demo, tests and benchmarks use.
func newGenCmd() *cobra.Command {
	gen := &cobra.Command{
		Use:   "gen mlp|cnn|llama -o OUT [flags]",
		Short: "Generate a synthetic float32 model (MLP stack, CNN or Llama-like decoder) for trials and benchmarks",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageErrorf("gen needs a model kind: mlp, cnn or llama")
		},
	}
	gen.AddCommand(newGenMLPCmd(), newGenCNNCmd(), newGenLlamaCmd())
	return gen
}

// genFlags are the flags both generators take.
type genFlags struct {
	out      string
	seed     int64
	external bool
	opset    int64
}

func (f *genFlags) add(c *cobra.Command) {
	c.Flags().StringVarP(&f.out, "output", "o", "", "model file to write (required)")
	c.Flags().Int64Var(&f.seed, "seed", 0, "seed of the weights")
	c.Flags().BoolVar(&f.external, "external", false, "write the weights to OUT.data (needed over 2 GiB)")
	c.Flags().Int64Var(&f.opset, "opset", 17, "opset of the default domain")
}

func (f *genFlags) check() error {
	if f.out == "" {
		return usageErrorf("-o OUT is required")
	}
	return nil
}

func (f *genFlags) externalNote() string {
	if f.external {
		return " (in " + f.out + ".data)"
	}
	return ""
}

// genError gives bad options the usage exit code.
func genError(err error) error {
	if errors.Is(err, modelgen.ErrBadOptions) {
		return &exitError{code: exitUsage, err: err}
	}
	return withCode(exitFailure, err)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func newGenMLPCmd() *cobra.Command {
	var (
		f      genFlags
		o      modelgen.MLPOptions
		size   string
		blocks int
	)
	c := &cobra.Command{
		Use:   "mlp -o OUT [--size 100MB | --dim N --hidden N --blocks N] [flags]",
		Short: "Generate a transformer-like residual MLP stack",
		Long: `mlp writes a stack of residual blocks (MatMul, Add, Relu, MatMul, Add, Add)
and a final MatMul to class scores. --size picks the width and depth so that
the weights total about that many bytes (KB, MB, GB are binary); --dim and
--blocks are kept when given with it.`,
		Args: noPositionals("gen mlp"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			o.Blocks, o.Seed, o.Opset = blocks, f.seed, f.opset
			if size != "" {
				if c.Flags().Changed("hidden") {
					return usageErrorf("--hidden cannot be combined with --size, which picks it")
				}
				target, err := units.ParseBytes(size)
				if err == nil && target == 0 {
					err = fmt.Errorf("bad size %q: want a positive size", size)
				}
				if err != nil {
					return usageErrorf("--size: %v", err)
				}
				o = modelgen.MLPForBytes(target, o)
			}
			start := time.Now()
			if err := modelgen.WriteMLP(f.out, o, f.external); err != nil {
				return genError(err)
			}
			d := o.Defaults()
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: mlp, dim %d, hidden %d, %d blocks, %s of weights%s, in %v\n",
				f.out, d.Dim, d.Hidden, d.Blocks, mib(d.WeightBytes()), f.externalNote(), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVar(&size, "size", "", "total weight size, such as 100MB, 1GB or 2.5GB")
	c.Flags().Int64Var(&o.Dim, "dim", 0, "model width (default 256)")
	c.Flags().Int64Var(&o.Hidden, "hidden", 0, "width inside each block (default 4*dim)")
	c.Flags().IntVar(&blocks, "blocks", 0, "residual blocks (default 2)")
	c.Flags().Int64Var(&o.Classes, "classes", 0, "outputs of the final MatMul (default 10)")
	c.Flags().BoolVar(&o.Rank3, "rank3", false, "input [batch, seq, dim] instead of [batch, dim]")
	c.Flags().BoolVar(&o.LayerNorm, "layernorm", false, "add a LayerNormalization before each block")
	c.Flags().BoolVar(&o.TransB, "transb", false, "use Gemm(transB=1) instead of MatMul+Add")
	c.Flags().IntVar(&o.Outliers, "outliers", 0, "plant this many high-variance input features (scaled by --outlier-scale)")
	c.Flags().Float64Var(&o.OutlierScale, "outlier-scale", 20, "scale of the planted outlier features")
	return c
}

func newGenCNNCmd() *cobra.Command {
	var (
		f genFlags
		o modelgen.CNNOptions
	)
	c := &cobra.Command{
		Use:   "cnn -o OUT [flags]",
		Short: "Generate a small ResNet-like CNN",
		Args:  noPositionals("gen cnn"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			o.Seed, o.Opset = f.seed, f.opset
			start := time.Now()
			if err := modelgen.WriteCNN(f.out, o, f.external); err != nil {
				return genError(err)
			}
			d := o.Defaults()
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: cnn, %d channels, %d stages, input %dx%d%s, in %v\n",
				f.out, d.Channels, d.Stages, d.Height, d.Width, f.externalNote(), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f.add(c)
	c.Flags().Int64Var(&o.Channels, "channels", 0, "width of the stem (default 16)")
	c.Flags().IntVar(&o.Stages, "stages", 0, "residual blocks; the last one has stride 2 (default 2)")
	c.Flags().Int64Var(&o.Height, "height", 0, "input height (default 32)")
	c.Flags().Int64Var(&o.Width, "width", 0, "input width (default 32)")
	c.Flags().Int64Var(&o.Classes, "classes", 0, "outputs of the final Gemm (default 10)")
	c.Flags().BoolVar(&o.Depthwise, "depthwise", false, "add a depthwise (group = channels) block")
	c.Flags().BoolVar(&o.Concat, "concat", false, "add two branches joined by a Concat")
	return c
}

// noPositionals refuses arguments, pointing at -o (a file name given
// without -o is the usual slip).
func noPositionals(cmd string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("%s takes no arguments (got %q); give the output file with -o", cmd, args[0])
		}
		return nil
	}
}
