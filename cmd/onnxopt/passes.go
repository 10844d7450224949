package main

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/passes"
	"github.com/spf13/cobra"
)

func init() { register(newPassesCmd) }

func newPassesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "passes [PASS...]",
		Short:   "List every pass (or the ones named), its doc and its options",
		Example: "  onnxopt passes\n  onnxopt passes prune quantize",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			list := passes.All()
			if len(args) > 0 {
				list = nil
				for _, name := range args {
					p, ok := passes.Lookup(name)
					if !ok {
						var names []string
						for _, q := range passes.All() {
							names = append(names, q.Name)
						}
						return usageErrorf("no pass %q (passes: %s)", name, strings.Join(names, ", "))
					}
					list = append(list, p)
				}
			}
			for _, p := range list {
				fmt.Fprintf(w, "%s\n    %s\n", p.Name, p.Doc)
				for _, o := range p.Options {
					kind := o.Kind.String()
					if o.Kind == passes.Enum {
						kind = strings.Join(o.Values, "|")
					}
					def := ""
					if o.Default != "" {
						def = " (default " + o.Default + ")"
					}
					fmt.Fprintf(w, "    %-16s %s%s: %s\n", o.Name+"=", kind, def, o.Doc)
				}
			}
			return nil
		},
	}
}
