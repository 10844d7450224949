package diff

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/onnxopt/onnxopt/internal/units"
	"github.com/onnxopt/onnxopt/onnx"
)

// maxPlotted caps the layers in the per-layer bar charts: the largest
// weights, shown in graph order.
const maxPlotted = 120

// WriteHTMLFile writes the report as one self-contained page (inline CSS,
// JavaScript and SVG; nothing fetched), atomically.
func (r *Result) WriteHTMLFile(path string) error {
	return onnx.AtomicWrite(path, r.WriteHTML)
}

// WriteHTML writes the report page.
func (r *Result) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, r.page())
}

type page struct {
	R        *Result
	Totals   [][4]string // label, before, after, change
	Ops      [][3]string
	Tensors  []*TensorDiff
	Plots    []template.HTML
	Empty    bool
	Title    string
	Hists    []template.HTML
	ErrPlots []template.HTML
}

func (r *Result) page() *page {
	a, b := r.Summary.Before, r.Summary.After
	p := &page{R: r, Empty: r.Empty(), Title: "onnxopt diff: " + r.Before + " → " + r.After}
	p.Totals = [][4]string{
		{"parameters", fmt.Sprint(a.Params), fmt.Sprint(b.Params), pct(float64(b.Params), float64(a.Params))},
		{"bytes", units.HumanBytes(a.Bytes), units.HumanBytes(b.Bytes), pct(float64(b.Bytes), float64(a.Bytes))},
		{"sparsity", fmt.Sprintf("%.1f%%", 100*a.Sparsity), fmt.Sprintf("%.1f%%", 100*b.Sparsity), fmt.Sprintf("%+.1f pt", 100*(b.Sparsity-a.Sparsity))},
		{"nodes", fmt.Sprint(a.Nodes), fmt.Sprint(b.Nodes), fmt.Sprintf("%+d", b.Nodes-a.Nodes)},
	}
	for _, op := range unionKeys(a.Ops, b.Ops) {
		p.Ops = append(p.Ops, [3]string{op, fmt.Sprint(a.Ops[op]), fmt.Sprint(b.Ops[op])})
	}
	for _, t := range r.Tensors {
		if t.Status != "same" || len(t.Changes) > 0 {
			p.Tensors = append(p.Tensors, t)
		}
	}
	p.Plots = r.layerPlots()
	for i, h := range r.Histograms {
		p.Hists = append(p.Hists, template.HTML(histChart(i, h).svg()))
	}
	if len(r.Layers) > 0 {
		p.ErrPlots = append(p.ErrPlots, template.HTML(errorChart(r.Layers).svg()))
	}
	return p
}

func pct(after, before float64) string {
	if before == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*(after-before)/before)
}

// layerPlots draws sparsity and bytes per weight, before and after.
func (r *Result) layerPlots() []template.HTML {
	var ts []*TensorDiff
	for _, t := range r.Tensors {
		if t.Before != nil && t.After != nil {
			ts = append(ts, t)
		}
	}
	if len(ts) > maxPlotted {
		pos := map[*TensorDiff]int{}
		for i, t := range ts {
			pos[t] = i
		}
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Before.Bytes > ts[j].Before.Bytes })
		ts = ts[:maxPlotted]
		sort.Slice(ts, func(i, j int) bool { return pos[ts[i]] < pos[ts[j]] })
	}
	labels := make([]string, len(ts))
	sb, sa, bb, ba := make([]float64, len(ts)), make([]float64, len(ts)), make([]float64, len(ts)), make([]float64, len(ts))
	for i, t := range ts {
		labels[i] = t.Name
		sb[i], sa[i] = 100*t.Before.Sparsity, 100*t.After.Sparsity
		bb[i], ba[i] = float64(t.Before.Bytes), float64(t.After.Bytes)
	}
	sp := &chart{id: "plot-sparsity", title: "Sparsity per layer (% zeros)", labels: labels, yLabel: "% zeros", yMax: 100,
		series:  []series{{"before", colorBefore, sb}, {"after", colorAfter, sa}},
		yFormat: func(v float64) string { return fmt.Sprintf("%.0f%%", v) }}
	by := &chart{id: "plot-bytes", title: "Bytes per layer", labels: labels, yLabel: "bytes",
		series:  []series{{"before", colorBefore, bb}, {"after", colorAfter, ba}},
		yFormat: func(v float64) string { return units.HumanBytes(int64(v)) }}
	return []template.HTML{template.HTML(sp.svg()), template.HTML(by.svg())}
}

func histChart(i int, h *Histogram) *chart {
	labels := make([]string, histBins)
	w := (h.Max - h.Min) / histBins
	for k := range labels {
		labels[k] = fmt.Sprintf("[%.3g, %.3g)", h.Min+w*float64(k), h.Min+w*float64(k+1))
	}
	var ss []series
	for _, s := range []struct {
		name, color string
		bins        []int
	}{{"before", colorBefore, h.Before}, {"after", colorAfter, h.After}} {
		if s.bins == nil {
			continue
		}
		v := make([]float64, len(s.bins))
		for k, c := range s.bins {
			v[k] = float64(c)
		}
		ss = append(ss, series{s.name, s.color, v})
	}
	c := &chart{id: fmt.Sprintf("plot-hist-%d", i), title: "Histogram of " + h.Name, labels: labels, series: ss, yLabel: "count (log)", logY: true,
		yFormat: func(v float64) string { return fmt.Sprintf("%.3g", v) }}
	return c
}

func errorChart(layers []*ValueError) *chart {
	labels := make([]string, len(layers))
	rel, abs := make([]float64, len(layers)), make([]float64, len(layers))
	for i, l := range layers {
		labels[i] = l.Name
		if l.Op != "" {
			labels[i] = l.Op + " " + l.Name
		}
		rel[i], abs[i] = deref(l.RelL2), deref(l.MaxAbsErr)
	}
	return &chart{id: "plot-layer-error", title: "Error per layer (matched intermediate values, graph order)", labels: labels, lines: true, logY: true,
		yLabel: "error (log)", series: []series{{"relative L2", colorErr, rel}, {"max |Δ|", colorBefore, abs}}}
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":      optNum,
	"bytes":    units.HumanBytes,
	"join":     strings.Join,
	"sparsity": sparsityChange,
	"brief":    func(t *TensorInfo) string { return t.brief() },
	"bytesOf": func(t *TensorInfo) int64 {
		if t == nil {
			return 0
		}
		return t.Bytes
	},
	"mark": statusMark,
	"dash": orDash,
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.files{color:#555;margin-bottom:16px} code{font-size:13px}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0} table.sortable th{cursor:pointer;user-select:none} table.sortable th:hover{background:#e4e4e4}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.added{color:#1a7f37} .removed{color:#b3261e} .changed{color:#9a6700}
.plot{display:block;margin:8px 0;border:1px solid #ddd;max-width:100%;height:auto}
.empty{padding:12px;background:#eef7ee;border:1px solid #b7dfb9;display:inline-block}
</style></head><body>
<h1>onnxopt diff</h1>
<div class="files"><span class="removed">--- <code>{{.R.Before}}</code></span><br><span class="added">+++ <code>{{.R.After}}</code></span></div>
{{if .Empty}}<p class="empty" id="no-differences">The models are identical.</p>{{end}}
<h2>Summary</h2>
<table id="summary"><tr><th></th><th>before</th><th>after</th><th>change</th></tr>
{{range .Totals}}<tr><th>{{index . 0}}</th><td class="n">{{index . 1}}</td><td class="n">{{index . 2}}</td><td class="n">{{index . 3}}</td></tr>{{end}}
</table>
<p>Nodes: {{.R.Summary.NodesAdded}} added, {{.R.Summary.NodesRemoved}} removed, {{.R.Summary.NodesChanged}} changed.
Tensors: {{.R.Summary.TensorsAdded}} added, {{.R.Summary.TensorsRemoved}} removed, {{.R.Summary.TensorsChanged}} changed ({{.R.Summary.Quantized}} quantized).</p>
<h2>Operators</h2>
<table class="sortable" id="ops"><thead><tr><th>op</th><th>before</th><th>after</th></tr></thead><tbody>
{{range .Ops}}<tr><td>{{index . 0}}</td><td class="n" data-v="{{index . 1}}">{{index . 1}}</td><td class="n" data-v="{{index . 2}}">{{index . 2}}</td></tr>{{end}}
</tbody></table>
<h2>Plots</h2>
{{range .Plots}}{{.}}{{end}}
{{range .Hists}}{{.}}{{end}}
{{range .ErrPlots}}{{.}}{{end}}
{{if .R.Outputs}}<h2>Output error</h2>
<table class="sortable" id="outputs"><thead><tr><th>output</th><th>max |Δ|</th><th>relative L2</th><th>cosine</th></tr></thead><tbody>
{{range .R.Outputs}}<tr><td>{{.Name}}</td><td class="n" data-v="{{num .MaxAbsErr}}">{{num .MaxAbsErr}}</td><td class="n" data-v="{{num .RelL2}}">{{num .RelL2}}</td><td class="n" data-v="{{num .Cosine}}">{{num .Cosine}}</td></tr>{{end}}
</tbody></table>{{end}}
{{if .R.Layers}}<h2>Per-layer error</h2>
<table class="sortable" id="layers"><thead><tr><th>#</th><th>value</th><th>op</th><th>max |Δ|</th><th>relative L2</th><th>cosine</th></tr></thead><tbody>
{{range .R.Layers}}<tr><td class="n" data-v="{{.Index}}">{{.Index}}</td><td>{{.Name}}</td><td>{{.Op}}</td><td class="n" data-v="{{num .MaxAbsErr}}">{{num .MaxAbsErr}}</td><td class="n" data-v="{{num .RelL2}}">{{num .RelL2}}</td><td class="n" data-v="{{num .Cosine}}">{{num .Cosine}}</td></tr>{{end}}
</tbody></table>{{end}}
<h2>Tensors ({{len .Tensors}} differ)</h2>
<table class="sortable" id="tensors"><thead><tr><th></th><th>name</th><th>status</th><th>before</th><th>after</th><th>bytes before</th><th>bytes after</th><th>sparsity</th><th>max |Δ|</th><th>relative</th><th>note</th></tr></thead><tbody>
{{range .Tensors}}<tr class="{{.Status}}"><td>{{mark .Status}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{brief .Before}}</td><td>{{brief .After}}</td><td class="n" data-v="{{bytesOf .Before}}">{{bytes (bytesOf .Before)}}</td><td class="n" data-v="{{bytesOf .After}}">{{bytes (bytesOf .After)}}</td><td>{{sparsity .}}</td><td class="n" data-v="{{num .MaxAbsDiff}}">{{num .MaxAbsDiff}}</td><td class="n" data-v="{{num .RelChange}}">{{num .RelChange}}</td><td>{{join .Changes "; "}}</td></tr>{{end}}
</tbody></table>
<h2>Nodes</h2>
<table class="sortable" id="nodes"><thead><tr><th></th><th>node</th><th>op</th><th>matched by</th><th>details</th></tr></thead><tbody>
{{range .R.Nodes.Removed}}<tr class="removed"><td>-</td><td>{{.Label}}</td><td>{{.Op}}</td><td></td><td>inputs: {{join .Inputs ", "}}</td></tr>{{end}}
{{range .R.Nodes.Added}}<tr class="added"><td>+</td><td>{{.Label}}</td><td>{{.Op}}</td><td></td><td>inputs: {{join .Inputs ", "}}</td></tr>{{end}}
{{range .R.Nodes.Changed}}<tr class="changed"><td>~</td><td>{{.Before.Label}}</td><td>{{.Before.Op}}</td><td>{{.Matched}}</td><td>{{join .Changes "; "}}</td></tr>{{end}}
</tbody></table>
{{if or .R.IO .R.Opsets .R.Metadata}}<h2>Inputs, outputs, opsets, metadata</h2>
<table id="model"><tr><th>item</th><th>before</th><th>after</th></tr>
{{range .R.IO}}<tr><td>{{.Key}}</td><td>{{dash .Before}}</td><td>{{dash .After}}</td></tr>{{end}}
{{range .R.Opsets}}<tr><td>opset {{.Key}}</td><td>{{dash .Before}}</td><td>{{dash .After}}</td></tr>{{end}}
{{range .R.Metadata}}<tr><td>{{.Key}}</td><td>{{dash .Before}}</td><td>{{dash .After}}</td></tr>{{end}}
</table>{{end}}
<script>
(function () {
  "use strict";
  function key(td) {
    var v = td.getAttribute("data-v");
    if (v !== null) { var f = parseFloat(v); return isNaN(f) ? -Infinity : f; }
    return td.textContent.trim().toLowerCase();
  }
  var tables = document.querySelectorAll("table.sortable");
  tables.forEach(function (table) {
    var ths = table.querySelectorAll("thead th");
    ths.forEach(function (th, col) {
      th.title = "sort";
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
        ths.forEach(function (h) { h.removeAttribute("data-dir"); });
        th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  console.log("onnxopt diff: page ready, " + tables.length + " sortable tables, " + document.querySelectorAll("svg.plot").length + " plots");
})();
</script>
</body></html>
`
