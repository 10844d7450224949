package passes_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

func mustParse(t *testing.T, text string) passes.Pipeline {
	t.Helper()
	p, err := passes.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunChecksIRAfterEachPass(t *testing.T) {
	m := tinyModel(t)
	rep, err := passes.Run(mustParse(t, "test-noop,test-break,test-noop"), m, passes.RunOptions{})
	if err == nil {
		t.Fatal("a pass that broke the graph went unnoticed")
	}
	if !strings.Contains(err.Error(), "pass test-break left an invalid graph") {
		t.Errorf("error %q does not name test-break", err)
	}
	if len(rep.Passes) != 2 {
		t.Errorf("report has %d passes, want the 2 that ran", len(rep.Passes))
	}
}

func TestRunRecoversPanic(t *testing.T) {
	m := tinyModel(t)
	_, err := passes.Run(mustParse(t, "test-noop,test-panic"), m, passes.RunOptions{})
	if err == nil {
		t.Fatal("a panicking pass gave no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "pass test-panic: ") || !strings.Contains(msg, "nil map") {
		t.Errorf("error %q should name test-panic and say what happened", msg)
	}
}

func TestRunPassError(t *testing.T) {
	_, err := passes.Run(mustParse(t, "test-fail"), tinyModel(t), passes.RunOptions{})
	if err == nil || err.Error() != `pass test-fail: tensor "w0" is odd` {
		t.Errorf("got %v, want the pass's error prefixed with its name", err)
	}
}

func TestRunStatistics(t *testing.T) {
	m := tinyModel(t)
	var progress []string
	rep, err := passes.Run(mustParse(t, "test-opts(i=4,l=a|b),test-grow"), m, passes.RunOptions{
		Progress: func(pass string, done, total int64) { progress = append(progress, pass) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pipeline != "test-opts(i=4,l=a|b),test-grow" || len(rep.Passes) != 2 {
		t.Fatalf("report pipeline %q with %d passes", rep.Pipeline, len(rep.Passes))
	}
	opts := rep.Passes[0]
	// Defaults are filled in; given values are typed by the getters.
	wantOpts := map[string]string{"f": "0.5", "b": "false", "e": "red", "i": "4", "l": "a|b"}
	for k, v := range wantOpts {
		if opts.Options[k] != v {
			t.Errorf("option %s = %q, want %q", k, opts.Options[k], v)
		}
	}
	if opts.Extra["f"] != 0.5 || opts.Extra["i"] != int64(4) || opts.Extra["e"] != "red" || strings.Join(opts.Extra["l"].([]string), ",") != "a,b" {
		t.Errorf("the pass saw %v", opts.Extra)
	}
	grow := rep.Passes[1]
	if grow.Seconds < 0.002 {
		t.Errorf("test-grow sleeps 2ms but was timed at %vs", grow.Seconds)
	}
	if rep.Seconds < grow.Seconds {
		t.Errorf("pipeline time %v is less than one pass's %v", rep.Seconds, grow.Seconds)
	}
	if grow.NodesAdded != 1 || grow.NodesRemoved != 0 || grow.TensorsTouched != 3 {
		t.Errorf("test-grow: +%d -%d nodes, %d tensors; want +1 -0, 3", grow.NodesAdded, grow.NodesRemoved, grow.TensorsTouched)
	}
	if len(grow.Skipped) != 1 || grow.Skipped[0].Name != "w1" || len(grow.Notes) != 1 || grow.Extra["answer"] != 42 {
		t.Errorf("test-grow statistics lost: %+v", grow)
	}
	if len(progress) < 2 || progress[0] != "test-opts" || progress[len(progress)-1] != "test-grow" {
		t.Errorf("progress calls %v, want one per pass in order", progress)
	}
	if len(m.Graph.Nodes) != 2 || m.Graph.Outputs[0].Name != "grown" {
		t.Errorf("the model does not show test-grow's change")
	}
}

func TestRunPassErrorNamesTheStep(t *testing.T) {
	for text, want := range map[string]int{"test-noop,test-fail,test-noop": 1, "test-noop,test-noop,test-break": 2, "test-panic": 0} {
		_, err := passes.Run(mustParse(t, text), tinyModel(t), passes.RunOptions{})
		var pe *passes.PassError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *PassError", text, err)
			continue
		}
		if pe.Step != want || !strings.Contains(err.Error(), "pass "+pe.Pass) {
			t.Errorf("%s: PassError step %d pass %s (%v), want step %d", text, pe.Step, pe.Pass, err, want)
		}
	}
}

func TestRunAfterPass(t *testing.T) {
	var seen []string
	_, err := passes.Run(mustParse(t, "test-noop,test-grow"), tinyModel(t), passes.RunOptions{
		AfterPass: func(i int, step passes.Step, m *graph.Model) error {
			seen = append(seen, fmt.Sprintf("%d:%s:%d", i, step.Pass.Name, len(m.Graph.Nodes)))
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0:test-noop:1", "1:test-grow:2"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("AfterPass saw %v, want %v (the model after each pass)", seen, want)
	}
	_, err = passes.Run(mustParse(t, "test-noop,test-grow"), tinyModel(t), passes.RunOptions{
		AfterPass: func(int, passes.Step, *graph.Model) error { return errors.New("disk full") },
	})
	if err == nil || err.Error() != "after pass test-noop: disk full" {
		t.Errorf("an AfterPass error gave %v, want it to stop the run after test-noop", err)
	}
}
