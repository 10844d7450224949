package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// withChangedWeight writes a copy of model with one weight changed.
func withChangedWeight(t *testing.T, model string) string {
	t.Helper()
	m, err := onnx.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range m.GetGraph().GetInitializer() {
		if w.GetDataType() != int32(onnx.TensorProto_FLOAT) {
			continue
		}
		v, err := onnx.Float32s(w, nil)
		if err != nil || len(v) < 100 {
			continue
		}
		v = append([]float32{}, v...)
		v[0] += 0.5
		onnx.SetFloat32s(w, v)
		b, err := onnx.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "changed.onnx")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("%s has no float weight to change", model)
	return ""
}

func TestVerifyExitCodes(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	cls := testenv.Model(t, "ppocr-cls.onnx")
	testenv.Runtime(t)
	changed := withChangedWeight(t, model)
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		{[]string{"verify", model, model}, exitOK, "PASS", ""},
		{[]string{"verify", model, changed}, exitMismatch, "FAIL", "differs from"},
		{[]string{"verify", "--samples", "3", model, changed, "--rtol", "1", "--atol", "1"}, exitOK, "PASS: 1 output, 3 samples", ""},
		{[]string{"verify", model, changed, "--min-cosine", "0.5"}, exitOK, "cosine >= 0.5", ""},
		{[]string{"verify", cls, cls, "--shape", "x=1x3x48x192"}, exitOK, "1x2", ""},
		{[]string{"verify", "--shape", "p2o.DynamicDimension.1=48", "--shape", "p2o.DynamicDimension.2=96", cls, cls}, exitOK, "PASS", ""},
		{[]string{"verify", model, filepath.Join(t.TempDir(), "missing.onnx")}, exitFailure, "", "missing.onnx"},
		{[]string{"verify", model, cls}, exitFailure, "", "input"},
		{[]string{"verify", model}, exitUsage, "", "two models"},
		{[]string{"verify", model, model, model}, exitUsage, "", "two models"},
		{[]string{"verify", "--shape", "x", model, model}, exitUsage, "", "NAME=DIMS"},
		{[]string{"verify", "--shape", "nope=1", model, model}, exitUsage, "", `"nope" names no input`},
		{[]string{"verify", "--shape", "p2o.DynamicDimension.1=48,p2o.DynamicDimension.2=96", cls, cls}, exitOK, "PASS", ""},
		{[]string{"verify", "--shape", "x=1x3x48x192,nope=1", cls, cls}, exitUsage, "", `"nope" names no input`},
		{[]string{"verify", "--shape", "onnx::Flatten_0=1x24x96", model, model}, exitUsage, "", "fixed at 25"},
		{[]string{"verify", "--ep", "tpu", model, model}, exitUsage, "", "cpu or cuda"},
		{[]string{"verify", "--samples", "0", model, model}, exitUsage, "", "--samples"},
		{[]string{"verify", "--inputs", t.TempDir(), "--samples", "2", model, model}, exitUsage, "", "--inputs"},
		{[]string{"verify", "--bogus", model, model}, exitUsage, "", "bogus"},
		{[]string{"verify", "--ep", "cuda", model, model}, exitFailure, "", "CUDA execution provider is not available"},
	} {
		code, stdout, stderr := runCaptured(t, c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			if c.code == exitFailure && strings.Contains(strings.Join(c.args, " "), "cuda") && code == exitOK {
				continue // a machine with CUDA
			}
			t.Errorf("onnxopt %s: exit %d, want %d; stdout:\n%s\nstderr:\n%s\nwant %q in stdout, %q in stderr",
				strings.Join(c.args, " "), code, c.code, stdout, stderr, c.stdout, c.stderr)
		}
	}
}

func TestVerifyJSON(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	testenv.Runtime(t)
	changed := withChangedWeight(t, model)
	for _, c := range []struct {
		cand string
		code int
		pass bool
	}{{model, exitOK, true}, {changed, exitMismatch, false}} {
		code, stdout, stderr := runCaptured(t, "verify", "--json", model, c.cand, "--samples", "2")
		if code != c.code {
			t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
		}
		var rep struct {
			Pass    *bool `json:"pass"`
			Samples int   `json:"samples"`
			Outputs []map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		if rep.Pass == nil || *rep.Pass != c.pass || rep.Samples != 2 || len(rep.Outputs) != 1 {
			t.Fatalf("report: %s", stdout)
		}
		for _, k := range []string{"name", "shape", "max_abs_err", "rel_l2", "cosine", "top1_agree"} {
			if _, ok := rep.Outputs[0][k]; !ok {
				t.Errorf("output has no %q: %s", k, stdout)
			}
		}
		if string(rep.Outputs[0]["shape"]) != "[\n        1,\n        1\n      ]" && !strings.Contains(string(rep.Outputs[0]["shape"]), "1") {
			t.Errorf("shape %s", rep.Outputs[0]["shape"])
		}
	}
}

func TestVerifyHelp(t *testing.T) {
	for _, cmd := range []string{"verify", "bench"} {
		code, stdout, _ := runCaptured(t, cmd, "--help")
		if code != exitOK || !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "Examples:") {
			t.Errorf("onnxopt %s --help: exit %d\n%s", cmd, code, stdout)
		}
	}
}

func TestBench(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	testenv.Runtime(t)
	code, stdout, stderr := runCaptured(t, "bench", "--json", "--runs", "5", "--warmup", "1", model, model)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Runs   int `json:"runs"`
		Models []struct {
			Model     string  `json:"model"`
			SessionMS float64 `json:"session_ms"`
			MedianMS  float64 `json:"median_ms"`
			P10MS     float64 `json:"p10_ms"`
			P90MS     float64 `json:"p90_ms"`
			Ratio     float64 `json:"ratio"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if res.Runs != 5 || len(res.Models) != 2 || res.Models[0].Ratio != 1 {
		t.Fatalf("results: %s", stdout)
	}
	for _, m := range res.Models {
		if !(m.P10MS <= m.MedianMS && m.MedianMS <= m.P90MS) || m.MedianMS <= 0 || m.SessionMS <= 0 {
			t.Errorf("implausible timing: %+v", m)
		}
	}
	code, stdout, _ = runCaptured(t, "bench", "--runs", "2", model)
	if code != exitOK || !strings.Contains(stdout, "RATIO") || !strings.Contains(stdout, "1.000x") {
		t.Errorf("text output: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runCaptured(t, "bench"); code != exitUsage {
		t.Errorf("bench without models: exit %d", code)
	}
	if code, _, _ := runCaptured(t, "bench", "--runs", "0", model); code != exitUsage {
		t.Errorf("bench --runs 0: exit %d", code)
	}
}

// TestHelperOnnxoptProcess is not a test: when another test runs the test
// binary with ONNXOPT_HELPER_ARGS set, it runs onnxopt with those
// arguments (one per line) in that fresh process and exits.
func TestHelperOnnxoptProcess(t *testing.T) {
	args, ok := os.LookupEnv("ONNXOPT_HELPER_ARGS")
	if !ok {
		return
	}
	os.Exit(run(strings.Split(args, "\n")))
}

// TestVerifyMissingLibrary runs onnxopt in a process of its own (ONNX
// Runtime loads once per process) with ONNXOPT_ORT_LIB pointing nowhere:
// a one-line error that names where it looked and says how to install
// it, and exit code 1.
func TestVerifyMissingLibrary(t *testing.T) {
	model := testenv.Model(t, "hello_deepa.onnx")
	missing := filepath.Join(t.TempDir(), "no", "libonnxruntime.so.1")
	for _, args := range [][]string{{"verify", model, model}, {"bench", model}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOnnxoptProcess$")
		cmd.Env = append(os.Environ(), "ONNXOPT_HELPER_ARGS="+strings.Join(args, "\n"), ort.LibraryEnv+"="+missing)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitFailure {
			t.Fatalf("onnxopt %s: %v, want exit 1\nstdout: %s\nstderr: %s", args[0], err, stdout.String(), stderr.String())
		}
		msg := stderr.String()
		for _, want := range []string{missing, "make setup", ort.LibraryEnv} {
			if !strings.Contains(msg, want) {
				t.Errorf("onnxopt %s: error does not mention %q:\n%s", args[0], want, msg)
			}
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 || stdout.Len() != 0 {
			t.Errorf("onnxopt %s: want one line on stderr and nothing on stdout; stdout:\n%s\nstderr:\n%s", args[0], stdout.String(), msg)
		}
	}
}
