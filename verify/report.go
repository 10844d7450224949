package verify

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a table, one row per output, and a
// verdict line.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tDTYPE\tSHAPE\tMAX_ABS_ERR\tREL_L2\tCOSINE\tTOP1\tRESULT")
	for _, d := range r.Outputs {
		top1 := "-"
		if d.Top1Agree != nil {
			top1 = fmt.Sprintf("%.4g", *d.Top1Agree)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.DType, shapeString(d.Shape),
			num(d.MaxAbsErr), num(d.RelL2), cosine(d.Cosine), top1, d.Summary(r.Tolerance))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	crit := fmt.Sprintf("rtol=%g atol=%g", r.Tolerance.RTol, r.Tolerance.ATol)
	switch {
	case r.Tolerance.CosineOnly:
		crit = fmt.Sprintf("cosine >= %g", r.Tolerance.MinCosine)
	case r.Tolerance.MinCosine != 0:
		crit += fmt.Sprintf(", cosine >= %g", r.Tolerance.MinCosine)
	}
	_, err := fmt.Fprintf(w, "%s: %s, %s, %s (integers, bools and strings exactly)\n", verdict,
		plural(len(r.Outputs), "output"), plural(r.Samples, "sample"), crit)
	return err
}

// shapeString writes a shape as 1x3x224x224 ("scalar" for rank 0).
func shapeString(s []int64) string {
	if s == nil {
		return "-"
	}
	if len(s) == 0 {
		return "scalar"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// num formats a metric compactly; exact zeros and ones stay short.
func num(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case f == 0 || f == 1:
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%.4g", f)
}

// cosine formats a cosine similarity with enough digits to tell
// 0.99999994 from 1.
func cosine(f float64) string {
	if f == 1 || f == 0 {
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%.8g", f)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
