package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/onnxopt/onnxopt/internal/hostile"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// runCaptured runs onnxopt in-process and returns its exit code, stdout
// and stderr.
func runCaptured(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	func() {
		defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
		code = run(args)
	}()
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}

// snapshot describes every file under dir (symbolic links not followed):
// type, size, modification time and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %d", st.Mode(), st.Size(), st.ModTime().UnixNano())
		if st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:])
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkOneLineError requires stderr to be exactly one line, a message from
// onnxopt containing want, with no trace of a panic.
func checkOneLineError(t *testing.T, stderr, want string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Fatalf("stderr holds a panic trace:\n%s", stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "onnxopt: ") {
		t.Errorf("stderr is not one 'onnxopt: ...' line:\n%s", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not name the problem (%q)", strings.TrimSpace(stderr), want)
	}
}

// sampleStep returns pass p with its default options, giving a sample
// value to options that have no default (prune(sparsity=0.5), ...).
func sampleStep(p *passes.Pass) string {
	var given []passes.KV
	for _, o := range p.Options {
		if o.Default != "" {
			continue
		}
		switch o.Kind {
		case passes.Float:
			given = append(given, passes.KV{Key: o.Name, Value: "0.5"})
		case passes.Enum:
			if len(o.Values) > 0 {
				given = append(given, passes.KV{Key: o.Name, Value: o.Values[0]})
			}
		}
	}
	if s, err := passes.NewStep(p.Name, given); err == nil {
		return passes.Pipeline{s}.String()
	}
	return p.Name
}

// hasCommand reports whether onnxopt has the named subcommand (others
// are added as they land).
func hasCommand(name string) bool {
	for _, c := range newRootCmd().Commands() {
		if c.Name() == name {
			return true
		}
	}
	return false
}

// writeTiny writes a small valid model (an MLP with inline weights).
func writeTiny(t *testing.T, path string) {
	t.Helper()
	if err := modelgen.WriteMLP(path, modelgen.MLPOptions{Dim: 8, Hidden: 16, Blocks: 1, Classes: 4}, false); err != nil {
		t.Fatal(err)
	}
}

// hostileCommands returns every command line to try on a hostile model
// at path, with out as the place an output would go and good a valid model.
func hostileCommands(path, out, good string) [][]string {
	cmds := [][]string{
		{"run", path, "-o", out, "-q"},
		{"inspect", path},
		{"inspect", "--json", path},
	}
	for _, p := range passes.All() {
		cmds = append(cmds, []string{"run", "-p", sampleStep(p), path, "-o", out, "-q"})
	}
	if hasCommand("verify") {
		cmds = append(cmds, []string{"verify", path, good}, []string{"verify", good, path})
	}
	if hasCommand("diff") {
		cmds = append(cmds, []string{"diff", path, good}, []string{"diff", good, path})
	}
	return cmds
}

// TestHostileCorpus gives every hostile model to every command and
// requires exit code 1, a one-line error naming the problem, no output
// file (nor temporary file) and an untouched input.
func TestHostileCorpus(t *testing.T) {
	root := t.TempDir()
	cases, err := hostile.Corpus(filepath.Join(root))
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.onnx")
	writeTiny(t, good)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.onnx")
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			before := snapshot(t, root)
			for _, args := range hostileCommands(c.Path, out, good) {
				code, _, stderr := runCaptured(t, args...)
				if code != exitFailure {
					t.Errorf("onnxopt %s: exit code %d, want %d; stderr:\n%s", strings.Join(args, " "), code, exitFailure, stderr)
					continue
				}
				want := c.Want
				if args[0] == "verify" {
					// verify hands files to ONNX Runtime without reading
					// them through onnxopt's checks first, so its message
					// comes from the runtime; it must still be one line.
					want = ""
				}
				checkOneLineError(t, stderr, want)
				if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
					t.Errorf("onnxopt %s left %s in the output folder", strings.Join(args, " "), ents[0].Name())
					os.RemoveAll(outDir)
					os.Mkdir(outDir, 0o755)
				}
			}
			if !sameSnapshot(before, snapshot(t, root)) {
				t.Errorf("the corpus changed while commands read it")
			}
		})
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds onnxopt once for the tests that need a separate process.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "onnxopt-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "onnxopt")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestHostileCorpusSubprocess runs the built binary on every hostile model:
// what a user sees is one line, never a goroutine dump.
func TestHostileCorpusSubprocess(t *testing.T) {
	bin := binary(t)
	cases, err := hostile.Corpus(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	for _, c := range cases {
		for _, args := range [][]string{{"run", c.Path, "-o", filepath.Join(outDir, "out.onnx")}, {"inspect", c.Path}} {
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Errorf("%s: onnxopt %s: %v, want exit code 1; stderr:\n%s", c.Name, args[0], err, stderr.String())
				continue
			}
			checkOneLineError(t, stderr.String(), c.Want)
		}
	}
	if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
		t.Errorf("output folder holds %s", ents[0].Name())
	}
}
