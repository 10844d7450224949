package diff

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// series is one set of values in a chart.
type series struct {
	name   string
	color  string
	values []float64
}

// chart is a bar or line chart rendered as inline SVG.
type chart struct {
	id, title string
	labels    []string // one per x position
	series    []series
	yLabel    string
	yFormat   func(float64) string
	logY      bool // log10 scale (values <= 0 are left out)
	lines     bool // lines with dots instead of bars
	yMax      float64
}

const (
	chartW, chartH                       = 1160, 320
	padLeft, padRight, padTop, padBottom = 70, 20, 36, 90
	colorBefore, colorAfter, colorErr    = "#4c78a8", "#f58518", "#e45756"
	plotW, plotH                         = chartW - padLeft - padRight, chartH - padTop - padBottom
	maxLabelled                          = 60
	fontStyle                            = `font-family="sans-serif"`
	axisColor                            = "#888"
	gridColor                            = "#e4e4e4"
	labelTextStyle                       = `font-size="10" fill="#333"`
	titleTextStyle                       = `font-size="14" font-weight="bold" fill="#222"`
	legendTextStyle                      = `font-size="12" fill="#333"`
	barGapFraction                       = 0.2
	dotRadius                            = 2.5
	svgHeader                            = `<svg xmlns="http://www.w3.org/2000/svg" class="plot" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" %s>`
)

func (c *chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, svgHeader, c.id, chartW, chartH, chartW, chartH, html.EscapeString(c.title), fontStyle)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="20" %s>%s</text>`, padLeft, titleTextStyle, html.EscapeString(c.title))
	// Legend.
	x := chartW - padRight
	for i := len(c.series) - 1; i >= 0; i-- {
		s := c.series[i]
		x -= 12 + 7*len(s.name) + 24
		fmt.Fprintf(&b, `<rect x="%d" y="10" width="12" height="12" fill="%s"/><text x="%d" y="21" %s>%s</text>`,
			x, s.color, x+16, legendTextStyle, html.EscapeString(s.name))
	}
	n := len(c.labels)
	lo, hi := 0.0, c.yMax
	for _, s := range c.series {
		for _, v := range s.values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				hi = math.Max(hi, v)
			}
		}
	}
	if c.logY {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, s := range c.series {
			for _, v := range s.values {
				if v > 0 && !math.IsInf(v, 0) {
					lo, hi = math.Min(lo, math.Log10(v)), math.Max(hi, math.Log10(v))
				}
			}
		}
		if lo > hi {
			c.message(&b, "no positive values to plot on a log scale")
			return b.String()
		}
		// Whole decades, with room below the smallest value so that it
		// still shows as a bar.
		lo, hi = math.Floor(lo-0.5), math.Ceil(hi)
	}
	if n == 0 || hi <= lo {
		if n == 0 {
			c.message(&b, "nothing to plot")
			return b.String()
		}
		hi = lo + 1
	}
	y := func(v float64) float64 {
		if c.logY {
			v = math.Log10(v)
		}
		return float64(padTop+plotH) - (v-lo)/(hi-lo)*plotH
	}
	// Grid and y ticks.
	ticks := 4
	if c.logY && hi-lo <= 8 {
		ticks = int(hi - lo) // one per decade
	}
	for k := 0; k <= ticks; k++ {
		v := lo + (hi-lo)*float64(k)/float64(ticks)
		yy := float64(padTop+plotH) - float64(k)/float64(ticks)*plotH
		label := c.format(v)
		if c.logY {
			label = c.format(math.Pow(10, v))
		}
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>`, padLeft, padLeft+plotW, yy, yy, gridColor)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" %s>%s</text>`, padLeft-6, yy+3, labelTextStyle, html.EscapeString(label))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s"/>`, padLeft, padLeft+plotW, padTop+plotH, padTop+plotH, axisColor)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s"/>`, padLeft, padLeft, padTop, padTop+plotH, axisColor)
	if c.yLabel != "" {
		fmt.Fprintf(&b, `<text transform="translate(14,%d) rotate(-90)" text-anchor="middle" %s>%s</text>`, padTop+plotH/2, labelTextStyle, html.EscapeString(c.yLabel))
	}
	slot := float64(plotW) / float64(n)
	for si, s := range c.series {
		var pts []string
		for i, v := range s.values {
			if i >= n || math.IsNaN(v) || math.IsInf(v, 0) || (c.logY && v <= 0) {
				continue
			}
			tip := fmt.Sprintf("%s — %s: %s", c.labels[i], s.name, c.format(v))
			if c.lines {
				cx, cy := float64(padLeft)+slot*(float64(i)+0.5), y(v)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", cx, cy))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"><title>%s</title></circle>`, cx, cy, dotRadius, s.color, html.EscapeString(tip))
				continue
			}
			bw := slot * (1 - barGapFraction) / float64(len(c.series))
			bx := float64(padLeft) + slot*float64(i) + slot*barGapFraction/2 + bw*float64(si)
			top := y(v)
			base := float64(padTop + plotH)
			if top > base {
				top = base
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s"><title>%s</title></rect>`,
				bx, top, math.Max(bw, 0.5), base-top, s.color, html.EscapeString(tip))
		}
		if c.lines && len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.Join(pts, " "), s.color)
		}
	}
	if n <= maxLabelled {
		for i, l := range c.labels {
			cx := float64(padLeft) + slot*(float64(i)+0.5)
			fmt.Fprintf(&b, `<text transform="translate(%.1f,%d) rotate(-40)" text-anchor="end" %s>%s</text>`,
				cx, padTop+plotH+12, labelTextStyle, html.EscapeString(shorten(l, 22)))
		}
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" %s>%d items in graph order (hover a bar for its name)</text>`,
			padLeft+plotW/2, padTop+plotH+20, labelTextStyle, n)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (c *chart) message(b *strings.Builder, msg string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" %s>%s</text></svg>`, chartW/2, chartH/2, legendTextStyle, msg)
}

func (c *chart) format(v float64) string {
	if c.yFormat != nil {
		return c.yFormat(v)
	}
	return fmt.Sprintf("%.3g", v)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}
