package main

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a bar on a terminal (stderr) for long passes and stays
// silent in pipes and with --quiet.
type progress struct {
	enabled bool
	bar     *progressbar.ProgressBar
	pass    string
}

func newProgress(quiet bool) *progress {
	return &progress{enabled: !quiet && term.IsTerminal(int(os.Stderr.Fd()))}
}

func (p *progress) update(pass string, done, total int64) {
	if !p.enabled {
		return
	}
	if p.bar == nil || p.pass != pass {
		if p.bar != nil {
			p.bar.Finish()
		}
		p.pass = pass
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(pass),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100e6),
		)
	}
	if total > 0 {
		p.bar.ChangeMax64(total)
		p.bar.Set64(done)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
