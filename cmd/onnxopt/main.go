// Command onnxopt transforms ONNX models: it reads a model into an IR, runs
// compiler-style passes over it, writes it back and checks the result
// against the original through ONNX Runtime.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/onnxopt/onnxopt/onnx"
	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitFailure  = 1 // a model failed to load, run or write
	exitUsage    = 2 // bad flags or arguments
	exitMismatch = 3 // verify: outputs differ beyond tolerance

	exitInterrupted = 130 // SIGINT (128 + its number); SIGTERM gives 143
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad flags or arguments (exit code 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// withCode wraps err so that onnxopt exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "onnxopt",
		Short: "Optimize ONNX models: prune, sparsify, quantize, verify",
		Long: `onnxopt reads an ONNX model into an IR, runs compiler-style passes over it
(pruning, N:M sparsity, quantization, constant folding, ...), writes it back,
and checks the result against the original through ONNX Runtime.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%v (see '%s --help')", err, c.CommandPath())}
	})
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	return root
}

// subcommands lists the constructors of onnxopt's subcommands; each lives in
// its own file.
var subcommands = []func() *cobra.Command{}

// register adds a subcommand constructor; called from each command file's init.
func register(newCmd func() *cobra.Command) { subcommands = append(subcommands, newCmd) }

func main() {
	onInterrupt()
	stop := profileCPU()
	code := run(os.Args[1:])
	stop()
	os.Exit(code)
}

// profileCPU writes a CPU profile to the file ONNXOPT_CPUPROFILE names, if
// set (for `go tool pprof`), and returns the function that ends it.
func profileCPU() func() {
	path := os.Getenv("ONNXOPT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "onnxopt: ONNXOPT_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "onnxopt: ONNXOPT_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// onInterrupt makes SIGINT and SIGTERM remove the temporary files of
// writes in progress, so that no partial output remains, and exit with
// 128 plus the signal's number (130, 143) as shells report it.
func onInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		onnx.RemoveTempFiles()
		fmt.Fprintf(os.Stderr, "onnxopt: %v: stopped, no partial output left\n", s)
		if s == syscall.SIGTERM {
			os.Exit(128 + int(syscall.SIGTERM))
		}
		os.Exit(exitInterrupted)
	}()
}

// run executes onnxopt with args and returns the process exit code.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "onnxopt: %s\n", oneLine(err.Error()))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isCobraUsageError(err) {
		return exitUsage
	}
	return exitFailure
}

// oneLine joins a multi-line message (ONNX Runtime's errors span lines)
// into one line, so that every failure is reported as a single line;
// ONNXOPT_DEBUG keeps it as it is (stack traces).
func oneLine(msg string) string {
	if os.Getenv("ONNXOPT_DEBUG") != "" || !strings.Contains(msg, "\n") {
		return msg
	}
	return strings.Join(strings.Fields(msg), " ")
}
