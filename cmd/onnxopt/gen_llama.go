package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/onnxopt/onnxopt/internal/modelgen"
)

func newGenLlamaCmd() *cobra.Command {
	var (
		f      genFlags
		preset string
		set    modelgen.LlamaOptions // the size flags, applied over the preset
		layers int
		tied   bool
	)
	c := &cobra.Command{
		Use:   "llama -o OUT [--preset tiny|1b|7b] [--vocab N --hidden N ...] [flags]",
		Short: "Generate a Llama-like decoder-only transformer",
		Long: `llama writes a decoder-only transformer: token embedding (Gather), layers of
RMSNorm, grouped-query attention with rotary positions and a causal mask,
and a SwiGLU MLP, then a final RMSNorm and the LM head, tied to the
embedding (Gemm with transB=1 on the same table) unless --tied=false.
Input "input_ids" int64 [batch, seq], output "logits" float32 [batch, seq,
vocab]; prompts may be up to --max-seq tokens.

--preset picks the sizes (` + strings.Join(modelgen.LlamaPresets(), ", ") + `); size flags given with it
override its values. Weights are N(0, 0.02), RMSNorm weights about 1, drawn
from --seed and streamed to disk, so memory stays small at any size. Models
over 2 GiB need --external (the 7b preset is about 27 GB).`,
		Args: noPositionals("gen llama"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			o, err := modelgen.LlamaPreset(preset)
			if err != nil {
				return usageErrorf("--preset: %v", err)
			}
			changed := c.Flags().Changed
			for _, fl := range []struct {
				name     string
				dst, src *int64
			}{
				{"vocab", &o.Vocab, &set.Vocab}, {"hidden", &o.Hidden, &set.Hidden},
				{"intermediate", &o.Intermediate, &set.Intermediate}, {"heads", &o.Heads, &set.Heads},
				{"kv-heads", &o.KVHeads, &set.KVHeads}, {"head-dim", &o.HeadDim, &set.HeadDim},
				{"max-seq", &o.MaxSeq, &set.MaxSeq},
			} {
				if changed(fl.name) {
					if *fl.src <= 0 {
						return usageErrorf("--%s must be positive, not %d", fl.name, *fl.src)
					}
					*fl.dst = *fl.src
				}
			}
			if changed("hidden") || changed("heads") {
				// Derived sizes follow the new width unless given.
				if !changed("head-dim") {
					o.HeadDim = 0
				}
				if !changed("intermediate") && changed("hidden") {
					o.Intermediate = 0
				}
				if !changed("kv-heads") && o.KVHeads > o.Heads {
					o.KVHeads = 0
				}
			}
			if changed("layers") {
				if layers < 1 {
					return usageErrorf("--layers must be positive, not %d", layers)
				}
				o.Layers = layers
			}
			if changed("tied") {
				o.Untied = !tied
			}
			o.Seed, o.Opset = f.seed, f.opset
			start := time.Now()
			if err := modelgen.WriteLlama(f.out, o, f.external); err != nil {
				return genError(err)
			}
			d := o.Defaults()
			head := "tied"
			if d.Untied {
				head = "untied"
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: llama, vocab %d, hidden %d, intermediate %d, %d layers, %d heads (%d kv, size %d), %s head, %.3g weights, %s%s, in %v\n",
				f.out, d.Vocab, d.Hidden, d.Intermediate, d.Layers, d.Heads, d.KVHeads, d.HeadDim, head,
				float64(d.Params()), mib(d.WeightBytes()), f.externalNote(), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f.add(c)
	fl := c.Flags()
	fl.StringVar(&preset, "preset", "tiny", "sizes to start from: "+strings.Join(modelgen.LlamaPresets(), ", "))
	fl.Int64Var(&set.Vocab, "vocab", 0, "vocabulary size")
	fl.Int64Var(&set.Hidden, "hidden", 0, "model width")
	fl.Int64Var(&set.Intermediate, "intermediate", 0, "SwiGLU width (default about 8/3 hidden, a multiple of 64)")
	fl.IntVar(&layers, "layers", 0, "decoder layers")
	fl.Int64Var(&set.Heads, "heads", 0, "query heads")
	fl.Int64Var(&set.KVHeads, "kv-heads", 0, "key/value heads; heads must be a multiple (default heads)")
	fl.Int64Var(&set.HeadDim, "head-dim", 0, "width of one head, even (default hidden/heads)")
	fl.Int64Var(&set.MaxSeq, "max-seq", 0, "longest prompt: rows of the rotary tables")
	fl.BoolVar(&tied, "tied", true, "use the embedding table as the LM head (--tied=false: a separate lm_head weight)")
	return c
}
