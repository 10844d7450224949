package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
)

func (q *quantizer) static(targets []*graph.Node) error {
	return fmt.Errorf("mode=static is not implemented yet")
}
