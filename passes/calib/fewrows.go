package calib

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/passes"
)

// FewRows collects the layers whose calibration gave fewer than two rows
// per input feature: their statistics (a Hessian, a least-squares system)
// are under-determined, and a fit on them follows the calibration data
// more than the layer. Layers after a global pooling see one row per
// sample. Passes that fit on such statistics note them with Note.
type FewRows struct {
	layers []string
}

// Check records layer when rows calibration rows fed features inputs.
func (f *FewRows) Check(layer string, rows, features int) {
	if rows < 2*features {
		s := "s"
		if rows == 1 {
			s = ""
		}
		f.layers = append(f.layers, fmt.Sprintf("%s (%d row%s, %d features)", layer, rows, s, features))
	}
}

// Note adds one note naming the layers recorded (the first four, and how
// many more) and what it means for this pass (what), if any.
func (f *FewRows) Note(ctx *passes.Context, what string) {
	if len(f.layers) == 0 {
		return
	}
	few, more := f.layers, ""
	if len(few) > 4 {
		more = fmt.Sprintf(" and %d more", len(few)-4)
		few = few[:4]
	}
	ctx.Note("calibration gave fewer than two rows per input feature to %s%s: %s (layers after global pooling see one row per sample; raise samples= or the batch in shapes=)", strings.Join(few, ", "), more, what)
}
