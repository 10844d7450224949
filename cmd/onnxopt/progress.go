package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a bar on a terminal (stderr) for long passes and stays
// silent in pipes and with --quiet. A pass that counts bytes of weights
// (passes.Context.TickBytes) gets a bar of bytes done out of the total,
// with the rate; others get a count of their items.
type progress struct {
	enabled bool
	w       io.Writer
	bar     *progressbar.ProgressBar
	pass    string
	bytes   bool // the current bar counts bytes
}

func newProgress(quiet bool) *progress {
	return &progress{enabled: !quiet && term.IsTerminal(int(os.Stderr.Fd())), w: os.Stderr}
}

// update is passes.RunOptions.Progress: items done out of total.
func (p *progress) update(pass string, done, total int64) { p.show(pass, false, done, total) }

// updateBytes is passes.RunOptions.ProgressBytes: bytes done out of total.
func (p *progress) updateBytes(pass string, done, total int64) { p.show(pass, true, done, total) }

func (p *progress) show(pass string, bytes bool, done, total int64) {
	if !p.enabled {
		return
	}
	if p.bar != nil && p.pass == pass && p.bytes && !bytes {
		return // the pass counts in bytes: item counts would only flicker
	}
	if p.bar == nil || p.pass != pass || p.bytes != bytes {
		if p.bar != nil {
			p.bar.Finish()
		}
		p.pass, p.bytes = pass, bytes
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(pass),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100e6),
		}
		if bytes {
			opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionShowCount())
		}
		max := total
		if max <= 0 {
			max = -1 // unknown: a spinner
		}
		p.bar = progressbar.NewOptions64(max, opts...)
	}
	if total > 0 {
		if p.bar.GetMax64() != total {
			p.bar.ChangeMax64(total)
		}
		p.bar.Set64(done)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
