package passes_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/passes"
)

var update = flag.Bool("update", false, "rewrite testdata/pipelines.golden")

// pipelineInputs are parsed by TestPipelinesGolden; their results are in
// testdata/pipelines.golden, and they seed FuzzParsePipeline.
var pipelineInputs = []string{
	"test-noop",
	"  test-noop , test-noop  ",
	"test-noop()",
	"test-opts(f=0.25,i=-3,b=true,s=hello,e=green,l=MatMul|Gemm)",
	"test-opts( f = 1e-3 , e = red )",
	`test-opts(s="a,b(c)=d e")`,
	`test-opts(s="quote \" and backslash \\")`,
	`test-opts(s="")`,
	"test-opts(s=line\nbreak)",
	`test-opts(s="multi
line")`,
	"test-opts(l=*/attn/*|head)",
	"test-opts(f=0.5),test-noop,test-opts(f=0.9)",
	"",
	"   ",
	"nosuchpass",
	"test-noop,nosuchpass(x=1)",
	"test-opts(nosuch=1)",
	"test-opts(f=abc)",
	"test-opts(i=1.5)",
	"test-opts(b=maybe)",
	"test-opts(e=blue)",
	"test-opts(f=1,f=2)",
	`test-opts(s="unterminated)`,
	`test-opts(s="bad escape\`,
	"test-opts(f)",
	"test-opts(f=)",
	"test-opts(=1)",
	"test-opts(f=1",
	"test-opts(f=1 i=2)",
	"test-noop,",
	",test-noop",
	"test-noop test-noop",
	"test-noop;test-noop",
	"test-noop)",
	"test-opts(s=\"0\x80\")",
}

func describe(in string) string {
	p, err := passes.Parse(in)
	if err != nil {
		return "err: " + err.Error()
	}
	return "out: " + p.String()
}

func TestPipelinesGolden(t *testing.T) {
	var b strings.Builder
	for _, in := range pipelineInputs {
		fmt.Fprintf(&b, "in:  %s\n%s\n\n", strconv.Quote(in), describe(in))
	}
	path := filepath.Join("testdata", "pipelines.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n%s", path, got)
	}
}

// goldenInputs reads the inputs back from the golden file.
func goldenInputs(t testing.TB) []string {
	b, err := os.ReadFile(filepath.Join("testdata", "pipelines.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, line := range strings.Split(string(b), "\n") {
		if q, ok := strings.CutPrefix(line, "in:  "); ok {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("golden input %s: %v", q, err)
			}
			ins = append(ins, s)
		}
	}
	return ins
}

// same compares two pipelines step by step.
func same(a, b passes.Pipeline) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Pass != b[i].Pass || !reflect.DeepEqual(normKV(a[i].Given), normKV(b[i].Given)) {
			return false
		}
	}
	return true
}

func normKV(kv []passes.KV) []passes.KV {
	if len(kv) == 0 {
		return nil
	}
	return kv
}

func TestRoundTrip(t *testing.T) {
	for _, in := range goldenInputs(t) {
		p, err := passes.Parse(in)
		if err != nil {
			continue
		}
		printed := p.String()
		q, err := passes.Parse(printed)
		if err != nil {
			t.Errorf("%q printed as %q, which does not parse: %v", in, printed, err)
			continue
		}
		if !same(p, q) || q.String() != printed {
			t.Errorf("%q: parse(print) = %q, want %q", in, q.String(), printed)
		}
	}
}

func TestParseErrorsNameCulprit(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"test-noop,nosuchpass", `unknown pass "nosuchpass"`},
		{"test-opts(nosuch=1)", `has no option "nosuch"`},
		{"test-opts(f=abc)", `option f wants a number, got "abc"`},
		{"test-opts(i=1.5)", `option i wants an integer, got "1.5"`},
		{"test-opts(e=blue)", `option e wants one of red|green, got "blue"`},
		{"test-opts(b=2x)", `option b wants true or false`},
		{"test-opts(f=1,f=2)", "option f given twice"},
		{"", "empty pipeline"},
		{"  \t ", "empty pipeline"},
		{`test-opts(s="abc`, "unterminated quoted value"},
	} {
		_, err := passes.Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): error spans lines: %q", tc.in, err)
		}
	}
	// The pass is named when its option is wrong.
	if _, err := passes.Parse("test-noop,test-opts(f=abc)"); err == nil || !strings.Contains(err.Error(), "test-opts") {
		t.Errorf("error %v does not name the pass", err)
	}
}

func TestYAMLMatchesText(t *testing.T) {
	text := `test-opts(f=0.25,i=7,s="a, b",e=green,l=MatMul|Gemm),test-noop,test-opts(b=true)`
	want, err := passes.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := passes.ParseFile(filepath.Join("testdata", "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, want) {
		t.Errorf("YAML gives %q, text gives %q", got, want)
	}
	// Printing as YAML and reading it back gives the same pipeline.
	again, err := passes.ParseYAML([]byte(want.YAML()))
	if err != nil {
		t.Fatalf("%v in\n%s", err, want.YAML())
	}
	if !same(again, want) {
		t.Errorf("YAML round trip gives %q, want %q", again, want)
	}
	for _, tc := range []struct{ doc, want string }{
		{"passes: []", "no 'passes' list"},
		{"passes:\n  - nosuchpass\n", `passes[0] (line 2): unknown pass "nosuchpass"`},
		{"passes:\n  - test-opts: {f: abc}\n", "option f wants a number"},
		{"passes:\n  - test-opts: [1, 2]\n", "must be a mapping"},
		{"{{{", "not a pipeline file"},
	} {
		_, err := passes.ParseYAML([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseYAML(%q) = %v, want an error containing %q", tc.doc, err, tc.want)
		}
	}
}

func FuzzParsePipeline(f *testing.F) {
	for _, in := range goldenInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := passes.Parse(in)
		if err != nil {
			return
		}
		printed := p.String()
		q, err := passes.Parse(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", in, printed, err)
		}
		if !same(p, q) || q.String() != printed {
			t.Fatalf("%q: parse(print) = %q, want %q", in, q.String(), printed)
		}
		y, err := passes.ParseYAML([]byte(p.YAML()))
		if err != nil {
			t.Fatalf("%q: its YAML does not parse: %v\n%s", in, err, p.YAML())
		}
		if !same(y, p) {
			t.Fatalf("%q: YAML round trip gives %q, want %q", in, y, printed)
		}
	})
}
