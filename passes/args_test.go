package passes_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/passes"
)

func TestArgsTypedValues(t *testing.T) {
	step := mustParse(t, "test-opts(f=1e-3,i=-7,b=true,s=x|y,e=green,l=MatMul|Gemm)")[0]
	a := step.Args()
	if got := a.Float("f"); got != 1e-3 {
		t.Errorf("Float(f) = %v, want 0.001", got)
	}
	if got := a.Int("i"); got != -7 {
		t.Errorf("Int(i) = %v, want -7", got)
	}
	if !a.Bool("b") {
		t.Error("Bool(b) = false, want true")
	}
	if got := a.String("s"); got != "x|y" {
		t.Errorf("String(s) = %q, want x|y", got)
	}
	if got := a.String("e"); got != "green" {
		t.Errorf("String(e) = %q, want green", got)
	}
	if got := a.List("l"); !reflect.DeepEqual(got, []string{"MatMul", "Gemm"}) {
		t.Errorf("List(l) = %q, want [MatMul Gemm]", got)
	}
	// Float also reads an Int option; the text is what was written.
	if got := a.Float("i"); got != -7 {
		t.Errorf("Float(i) = %v, want -7", got)
	}
	if got := a.String("f"); got != "1e-3" {
		t.Errorf("String(f) = %q, want the text as written", got)
	}
	want := map[string]string{"f": "1e-3", "i": "-7", "b": "true", "s": "x|y", "e": "green", "l": "MatMul|Gemm"}
	if got := a.Texts(); !reflect.DeepEqual(got, want) {
		t.Errorf("Texts() = %v, want %v", got, want)
	}
}

func TestArgsDefaultsAndUnset(t *testing.T) {
	a := mustParse(t, "test-opts")[0].Args()
	if a.Float("f") != 0.5 || a.String("e") != "red" || a.Bool("b") {
		t.Errorf("defaults not filled in: f=%v e=%q b=%v", a.Float("f"), a.String("e"), a.Bool("b"))
	}
	if a.Has("i") || a.Int("i") != 0 || a.List("l") != nil || a.String("s") != "" {
		t.Errorf("unset options read as set: i=%v l=%v s=%q", a.Int("i"), a.List("l"), a.String("s"))
	}
	defer func() {
		if recover() == nil {
			t.Error("reading an undeclared option did not panic")
		}
	}()
	a.Float("nosuch")
}

// A step built by hand, not by NewStep, is parsed when it runs and a bad
// value is reported as an error naming the pass and the option.
func TestRunReportsBadHandBuiltStep(t *testing.T) {
	p, _ := passes.Lookup("test-opts")
	step := passes.Step{Pass: p, Given: []passes.KV{{Key: "i", Value: "1.5"}}}
	_, err := passes.Run(passes.Pipeline{step}, tinyModel(t), passes.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "pass test-opts: option i wants an integer") {
		t.Errorf("Run of a step with i=1.5 gave %v, want an error naming option i", err)
	}
	good := passes.Step{Pass: p, Given: []passes.KV{{Key: "i", Value: "4"}}}
	if got := good.Args().Int("i"); got != 4 {
		t.Errorf("hand-built step: Int(i) = %d, want 4", got)
	}
}
