package hostile_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/hostile"
)

// TestCorpusRefusedByReader loads every hostile case through the IR reader
// and checker, and requires the error each case names.
func TestCorpusRefusedByReader(t *testing.T) {
	cases, err := hostile.Corpus(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("corpus has %d cases, want at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			m, err := graph.ReadFile(c.Path)
			if err == nil {
				err = m.Graph.Check()
			}
			if err == nil {
				t.Fatalf("%s was accepted; want an error containing %q", c.Name, c.Want)
			}
			if !strings.Contains(err.Error(), c.Want) {
				t.Errorf("error %q does not contain %q", err, c.Want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}
