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
		Use:     "passes",
		Short:   "List every pass, its doc and its options",
		Example: "  onnxopt passes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			for _, p := range passes.All() {
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
