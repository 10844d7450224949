package passes

import (
	"fmt"
	"sync"

	"github.com/onnxopt/onnxopt/graph"
)

// Context is what a running pass uses to report and to show progress.
type Context struct {
	Report *PassReport
	// Progress, when set, is told how far the pass is (done of total).
	Progress func(done, total int64)
	// ProgressBytes, when set, is told how far the pass is in bytes of
	// weights (TickBytes); without it TickBytes goes to Progress.
	ProgressBytes func(done, total int64)
	// Threads bounds the pass's parallel work (0: all cores).
	Threads int
	// reference is the model as it entered the pipeline, kept by Run for
	// passes that set NeedsReference (nil otherwise).
	reference *graph.Model
}

// Reference returns the model as it entered the pipeline (a copy-on-write
// clone: the pass must not change it), or nil when the pass did not
// declare NeedsReference or runs outside Run.
func (c *Context) Reference() *graph.Model { return c.reference }

// Skip records that the pass left name alone, and why.
func (c *Context) Skip(name, format string, args ...any) {
	c.Report.Skipped = append(c.Report.Skipped, Skip{Name: name, Reason: fmt.Sprintf(format, args...)})
}

// Note records a remark for the user.
func (c *Context) Note(format string, args ...any) {
	c.Report.Notes = append(c.Report.Notes, fmt.Sprintf(format, args...))
}

// Tensor records per-tensor detail.
func (c *Context) Tensor(t TensorReport) { c.Report.Tensors = append(c.Report.Tensors, t) }

// Set records a pass-specific figure.
func (c *Context) Set(key string, v any) {
	if c.Report.Extra == nil {
		c.Report.Extra = map[string]any{}
	}
	c.Report.Extra[key] = v
}

// Tick advances the progress display, if any.
func (c *Context) Tick(done, total int64) {
	if c.Progress != nil {
		c.Progress(done, total)
	}
}

// TickBytes advances the progress display in bytes of weights done out of
// total, for passes that go over weights (what a long streamed run shows).
func (c *Context) TickBytes(done, total int64) {
	switch {
	case c.ProgressBytes != nil:
		c.ProgressBytes(done, total)
	case c.Progress != nil:
		c.Progress(done, total)
	}
}

// WeightProgress counts the bytes of weights a pass is done with, from any
// goroutine, and shows them with Context.TickBytes.
type WeightProgress struct {
	mu          sync.Mutex
	ctx         *Context
	done, total int64
}

// NewWeightProgress starts counting towards total bytes.
func NewWeightProgress(ctx *Context, total int64) *WeightProgress {
	return &WeightProgress{ctx: ctx, total: total}
}

// Add records n more bytes done.
func (p *WeightProgress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.ctx.TickBytes(p.done, p.total)
}
