package passes

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/onnxopt/onnxopt/graph"
)

// RunOptions configure Run.
type RunOptions struct {
	// Progress is called with the pass about to run and, through its
	// Context, with progress inside it; nil for none.
	Progress func(pass string, done, total int64)
	// ProgressBytes, when set, gets the progress of passes that count it
	// in bytes of weights (Context.TickBytes) instead of Progress.
	ProgressBytes func(pass string, done, total int64)
	Threads       int
	// AfterPass, when set, is called after step i of the pipeline ran and
	// its IR passed the check (for dumps such as --print-ir-after); an
	// error stops the run.
	AfterPass func(i int, step Step, m *graph.Model) error
}

// PassError is the error of a run that stopped in a pass: the pass failed,
// panicked or left an invalid graph. Step is its index in the pipeline.
type PassError struct {
	Step int
	Pass string
	Err  error // the message, naming the pass
}

func (e *PassError) Error() string { return e.Err.Error() }
func (e *PassError) Unwrap() error { return e.Err }

// Run executes the pipeline over m in place. After every pass it checks the
// IR and stops with an error naming the pass if the pass broke it; a panic
// inside a pass is recovered and reported the same way, never as a crash.
func Run(p Pipeline, m *graph.Model, opts RunOptions) (*Report, error) {
	rep := &Report{Pipeline: p.String(), BytesBefore: ConstantBytes(m)}
	start := time.Now()
	// The model as it entered the pipeline, for passes that compare
	// against it; a Clone shares tensor bytes until either side writes.
	var ref *graph.Model
	for _, step := range p {
		if step.Pass.NeedsReference {
			var err error
			if ref, err = m.Clone(); err != nil {
				return rep, fmt.Errorf("keeping a reference copy of the model: %w", err)
			}
			break
		}
	}
	for i, step := range p {
		fail := func(format string, args ...any) error {
			return &PassError{Step: i, Pass: step.Pass.Name, Err: fmt.Errorf(format, args...)}
		}
		args, err := step.parsedArgs()
		if err != nil {
			return rep, fail("pass %s: %w", step.Pass.Name, err)
		}
		pr := &PassReport{Pass: step.Pass.Name, Options: args.Texts()}
		ctx := &Context{Report: pr, Threads: opts.Threads}
		if step.Pass.NeedsReference {
			ctx.reference = ref
		}
		if opts.Progress != nil {
			name := step.Pass.Name
			ctx.Progress = func(done, total int64) { opts.Progress(name, done, total) }
			opts.Progress(name, 0, 0)
		}
		if opts.ProgressBytes != nil {
			name := step.Pass.Name
			ctx.ProgressBytes = func(done, total int64) { opts.ProgressBytes(name, done, total) }
		}
		pr.BytesBefore = ConstantBytes(m)
		before := nodeSet(m.Graph)
		t0 := time.Now()
		err = runOne(step.Pass, ctx, m, args)
		pr.Seconds = time.Since(t0).Seconds()
		rep.Passes = append(rep.Passes, pr)
		if err != nil {
			return rep, fail("pass %s: %w", step.Pass.Name, err)
		}
		// The check and the statistics run under the same guard as the
		// pass: a graph broken badly enough to crash them is the pass's
		// fault, reported as such.
		if err := guard(func() error { return m.Graph.Check() }); err != nil {
			return rep, fail("pass %s left an invalid graph: %w", step.Pass.Name, err)
		}
		if err := guard(func() error {
			after := nodeSet(m.Graph)
			for n := range after {
				if !before[n] {
					pr.NodesAdded++
				}
			}
			for n := range before {
				if !after[n] {
					pr.NodesRemoved++
				}
			}
			pr.BytesAfter = ConstantBytes(m)
			return nil
		}); err != nil {
			return rep, fail("pass %s: %w", step.Pass.Name, err)
		}
		if opts.AfterPass != nil {
			if err := opts.AfterPass(i, step, m); err != nil {
				return rep, fmt.Errorf("after pass %s: %w", step.Pass.Name, err)
			}
		}
	}
	rep.BytesAfter = ConstantBytes(m)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func runOne(p *Pass, ctx *Context, m *graph.Model, args Args) error {
	return guard(func() error { return p.Run(ctx, m, args) })
}

// guard runs fn, turning a panic into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (please report it with the model and the pipeline): %v", r)
			if os.Getenv("ONNXOPT_DEBUG") != "" {
				err = fmt.Errorf("%w\n%s", err, debug.Stack())
			}
		}
	}()
	return fn()
}

// nodeSet returns every node of g and its subgraphs.
func nodeSet(g *graph.Graph) map[*graph.Node]bool {
	set := map[*graph.Node]bool{}
	g.Walk(func(s *graph.Graph) {
		for _, n := range s.Nodes {
			set[n] = true
		}
	})
	return set
}

// ConstantBytes sums the storage bytes of every constant of the model:
// initializers, sparse initializers (values and indices) and Constant
// nodes, in all graphs.
func ConstantBytes(m *graph.Model) int64 {
	var total int64
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			total += v.Tensor.Bytes()
		}
		for _, v := range g.SparseInitializers {
			total += graph.NewTensor(v.Sparse.GetValues()).Bytes()
			if v.Sparse.GetIndices() != nil {
				total += graph.NewTensor(v.Sparse.GetIndices()).Bytes()
			}
		}
		for _, n := range g.Nodes {
			if n.OpType() == "Constant" && n.Domain() == "" {
				if c := n.Output(0).Const(); c != nil {
					total += c.Bytes()
				}
			}
		}
	})
	return total
}
