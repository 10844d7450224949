package verify

import (
	"bufio"
	"fmt"
	"github.com/onnxopt/onnxopt/ort"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
)

// conformanceTolerance is the backend suite's usual tolerance (the ONNX
// backend test runner's defaults).
var conformanceTolerance = Tolerance{RTol: 1e-3, ATol: 1e-7}

// looseTolerance holds the tests whose expected outputs are looser than
// conformanceTolerance can check, and why.
var looseTolerance = map[string]Tolerance{
	// DFT and STFT sum float32 terms up to about 1e3 in magnitude; bins
	// whose exact value is near zero keep an absolute error of up to
	// 3.4e-4 from cancellation, about 1e-6 of the largest output. ONNX
	// Runtime's own backend runner loosens test_dft and test_dft_axis the
	// same way.
	"node/test_dft":              {RTol: 1e-3, ATol: 1e-3},
	"node/test_dft_axis":         {RTol: 1e-3, ATol: 1e-3},
	"node/test_dft_inverse":      {RTol: 1e-3, ATol: 1e-3},
	"node/test_stft":             {RTol: 1e-3, ATol: 1e-3},
	"node/test_stft_with_window": {RTol: 1e-3, ATol: 1e-3},
}

// readUnsupported reads testdata/ort_unsupported.txt: "suite/test reason"
// per line, # comments.
func readUnsupported(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join("testdata", "ort_unsupported.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("ort_unsupported.txt:%d: want \"suite/test reason\", got %q", n, line)
		}
		if _, dup := m[name]; dup {
			t.Fatalf("ort_unsupported.txt:%d: %s listed twice", n, name)
		}
		m[name] = strings.TrimSpace(reason)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// caseResult is the outcome of one backend-suite model: the original run
// against the expected outputs, and the codec/IR round trip run against
// the expected outputs and against the original's outputs (bit for bit).
type caseResult struct {
	name          string
	before, after error
}

// TestConformance runs every model of the ONNX backend test suite through
// ONNX Runtime with its test data, before and after the codec/IR round
// trip, and compares with the expected outputs. Models ONNX Runtime cannot
// run are listed, with the reason, in testdata/ort_unsupported.txt; every
// other model must pass both ways, and a listed model that passes is an
// error too, so that the list stays honest.
func TestConformance(t *testing.T) {
	suite := testenv.BackendSuite(t)
	testenv.Runtime(t)
	unsupported := readUnsupported(t)
	models, _ := filepath.Glob(filepath.Join(suite, "*", "*", "model.onnx"))
	if len(models) < 1000 {
		t.Fatalf("found %d backend-suite models in %s, want about 1072", len(models), suite)
	}
	start := time.Now()
	results := make([]caseResult, len(models))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = runCase(filepath.Dir(models[i]), suite)
			}
		}()
	}
	for i := range models {
		next <- i
	}
	close(next)
	wg.Wait()

	var passBefore, passAfter, listed int
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.name] = true
		if r.before == nil {
			passBefore++
		}
		if r.after == nil {
			passAfter++
		}
		reason, isListed := unsupported[r.name]
		switch {
		case isListed && r.before == nil && r.after == nil && strings.HasPrefix(reason, "[env]"):
			t.Logf("%s passes on this machine (listed: %s)", r.name, reason)
		case isListed && r.before == nil && r.after == nil:
			t.Errorf("%s passes now; remove it from testdata/ort_unsupported.txt (listed: %s)", r.name, reason)
		case isListed && r.before == nil:
			t.Errorf("%s: the original passes but the round trip fails: %v", r.name, r.after)
		case isListed:
			listed++
		case r.before != nil:
			t.Errorf("%s: %v", r.name, r.before)
		case r.after != nil:
			t.Errorf("%s: after the round trip: %v", r.name, r.after)
		}
	}
	var stale []string
	for name := range unsupported {
		if !seen[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	for _, name := range stale {
		t.Errorf("testdata/ort_unsupported.txt lists %s, which is not in the suite", name)
	}
	t.Logf("%d models in %v: %d pass before the round trip, %d after; %d listed as unsupported",
		len(models), time.Since(start).Round(time.Millisecond), passBefore, passAfter, listed)
	if os.Getenv("ONNXOPT_CONFORMANCE_DUMP") != "" {
		for _, r := range results {
			if r.before != nil {
				fmt.Printf("FAIL %s %v\n", r.name, r.before)
			}
		}
	}
}

// runCase runs one backend-suite model folder.
func runCase(dir, suite string) caseResult {
	name, _ := filepath.Rel(suite, dir)
	r := caseResult{name: filepath.ToSlash(name)}
	fail := func(err error) caseResult {
		r.before, r.after = err, err
		return r
	}
	path := filepath.Join(dir, "model.onnx")
	m, err := onnx.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fail(fmt.Errorf("no test_data_set_* folders"))
	}
	type set struct{ in, want []ort.Value }
	var data []set
	for _, s := range sets {
		in, want, err := ort.ReadTestDataSet(s, m)
		if err != nil {
			return fail(err)
		}
		data = append(data, set{in, want})
	}

	tol, ok := looseTolerance[r.name]
	if !ok {
		tol = conformanceTolerance
	}
	opts := ort.Options{Threads: 1}
	var got [][]ort.Value
	r.before = func() error {
		s, err := ort.Open(path, opts)
		if err != nil {
			return err
		}
		defer s.Close()
		for _, d := range data {
			out, err := runAndCheck(s, d.in, d.want, tol)
			if err != nil {
				return err
			}
			got = append(got, out)
		}
		return nil
	}()

	r.after = func() error {
		g, err := graph.FromProto(m, onnx.NewExternalStore(dir))
		if err != nil {
			return fmt.Errorf("IR: %v", err)
		}
		b, err := onnx.Encode(g.ToProto())
		if err != nil {
			return fmt.Errorf("encode: %v", err)
		}
		s, err := ort.OpenBytes(b, ort.Options{Threads: 1, ExternalDataDir: dir})
		if err != nil {
			return err
		}
		defer s.Close()
		for i, d := range data {
			out, err := runAndCheck(s, d.in, d.want, tol)
			if err != nil {
				return err
			}
			if r.before == nil {
				// Same model, same runtime, one thread: the outputs must
				// be bit for bit those of the original.
				if err := check(s, got[i], out, Tolerance{}); err != nil {
					return fmt.Errorf("differs from the original model: %v", err)
				}
			}
		}
		return nil
	}()
	return r
}

// runAndCheck runs s on in and compares with want.
func runAndCheck(s *ort.Session, in, want []ort.Value, tol Tolerance) ([]ort.Value, error) {
	out, err := s.Run(in)
	if err != nil {
		return nil, err
	}
	return out, check(s, want, out, tol)
}

// check compares outputs with expected values, position by position.
func check(s *ort.Session, want, got []ort.Value, tol Tolerance) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d outputs, want %d", len(got), len(want))
	}
	var errs []string
	for i := range want {
		d := Compare(s.Outputs()[i].Name, want[i], got[i], tol)
		if !d.Pass {
			errs = append(errs, fmt.Sprintf("output %q: %s (max abs err %g)", d.Name, d.Summary(tol), d.MaxAbsErr))
		}
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
