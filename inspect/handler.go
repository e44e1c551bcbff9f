package inspect

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// ServeHTTP serves the snapshot: JSON when the request has ?format=json
// or accepts application/json (and not text/html first), HTML otherwise.
// Only GET and HEAD are allowed.
func (in *Inspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "inspect: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s := in.Snapshot(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
		return
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, s); err != nil {
		http.Error(w, "inspect: rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// wantsJSON: ?format=json, or an Accept header that names
// application/json before any text/html.
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	accept := r.Header.Get("Accept")
	j := strings.Index(accept, "application/json")
	h := strings.Index(accept, "text/html")
	return j >= 0 && (h < 0 || j < h)
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"json": func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return err.Error()
		}
		return string(b)
	},
	"time": func(v any) string {
		b, _ := json.Marshal(v)
		return strings.Trim(string(b), `"`)
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rego: live state</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0} td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4} pre{background:#f8f8f8;padding:.5em;overflow-x:auto;font-size:.85em}
.state-open{color:#b00;font-weight:bold} .state-half_open{color:#b60;font-weight:bold} .state-closed{color:#070}
.err{color:#b00} .muted{color:#777}
</style></head><body>
<h1>rego: live state</h1>
<p id="summary">At {{time .Time}}. {{len .Keys}} keys.
{{if .PolicyVersion}}Policy document version in force: <b id="policy-version">{{.PolicyVersion}}</b>.{{end}}
{{if .ProviderError}}<span class="err" id="provider-error">Provider error: {{.ProviderError}}</span>{{end}}
<a href="?format=json">JSON</a></p>

<h2>Overflow</h2>
<table id="overflow"><tr><th>calls of untracked keys</th><td>{{.Overflow.UntrackedCalls}}</td></tr>
{{if .Overflow.UntrackedKeys}}<tr><th>untracked keys</th><td>{{range .Overflow.UntrackedKeys}}{{.}} {{end}}</td></tr>{{end}}
{{with .Overflow.Breakers}}<tr><th>breaker registry overflow</th><td>{{.}}</td></tr>{{end}}
{{with .Overflow.Latencies}}<tr><th>latency registry overflow</th><td>{{.}}</td></tr>{{end}}
{{range $k, $v := .Overflow.Events}}<tr><th>key_overflow events: {{$k}}</th><td>{{$v}}</td></tr>{{end}}
</table>

{{if .Budgets}}<h2>Budgets</h2>
<table id="budgets"><tr><th>budget</th><th>type</th><th>level</th><th>keys</th></tr>
{{range .Budgets}}<tr><td>{{.Name}}</td><td>{{.Type}}</td><td>{{.Level}}</td><td>{{range .Keys}}{{.}} {{end}}</td></tr>{{end}}
</table>{{end}}

{{range .Keys}}
<section class="key" id="key-{{.Key}}">
<h2>{{.Key}}</h2>
{{with .Policy}}<table class="policy">
<tr><th>policy</th><td>{{if .ID}}{{.ID}}{{else}}<span class="muted">(no id)</span>{{end}}</td></tr>
<tr><th>source</th><td>{{.Source}}</td></tr>
<tr><th>version</th><td>{{if .Version}}{{.Version}}{{else}}<span class="muted">none</span>{{end}}</td></tr>
<tr><th>read from</th><td>{{.Origin}}</td></tr>
{{if .Error}}<tr><th>provider error</th><td class="err">{{.Error}}</td></tr>{{end}}
{{if .ClampedFields}}<tr><th>clamped fields</th><td>{{range .ClampedFields}}{{.}} {{end}}</td></tr>{{end}}
<tr><th>retry</th><td><code>{{json .Retry}}</code></td></tr>
<tr><th>hedge</th><td>{{with .Hedge}}<code>{{json .}}</code>{{else}}<span class="muted">off</span>{{end}}</td></tr>
<tr><th>circuit</th><td><code>{{json .Circuit}}</code></td></tr>
</table>{{end}}
<table class="state">
<tr><th>breaker</th><td>{{with .Breaker}}<span class="breaker state-{{.State}}">{{.State}}</span>{{if .From}} (from {{.From}}{{if not .Since.IsZero}} at {{time .Since}}{{end}}){{end}} <span class="muted">[{{.Origin}}]</span>{{else}}<span class="muted">no breaker</span>{{end}}</td></tr>
<tr><th>budgets</th><td>{{range .BudgetNames}}{{.}} {{else}}<span class="muted">no budget configured</span>{{end}}</td></tr>
<tr><th>calls</th><td class="counts">{{.Counts.Calls}} calls: {{.Counts.Succeeded}} succeeded, {{.Counts.Failed}} failed; {{.Counts.Attempts}} attempts ran, {{.Counts.Denied}} denied, {{.Counts.Cancelled}} cancelled, {{.Counts.Hedges}} hedges</td></tr>
<tr><th>attempt latency</th><td class="latency">{{with .Latency}}p50 {{.P50}}, p90 {{.P90}}, p99 {{.P99}}, max {{.Max}} over {{.Samples}} attempts{{else}}<span class="muted">no attempt yet</span>{{end}}</td></tr>
{{with .HedgeLatency}}<tr><th>hedge trigger latency</th><td>p50 {{.P50}}, p90 {{.P90}}, p99 {{.P99}} over {{.Samples}}</td></tr>{{end}}
<tr><th>stop reasons</th><td class="stops">{{range $k, $v := .StopReasons}}{{$k}}: {{$v}}; {{end}}</td></tr>
</table>
{{if .Denials}}<h3>Recent denials</h3>
<table class="denials"><tr><th>time</th><th>attempt</th><th>kind</th><th>gate</th><th>reason</th><th>error</th></tr>
{{range .Denials}}<tr><td>{{time .Time}}</td><td>{{.Attempt}}</td><td>{{.Kind}}</td><td>{{.Gate}}</td><td>{{.Reason}}</td><td>{{.Err}}</td></tr>{{end}}
</table>{{end}}
{{if .Timelines}}<h3>Recent calls</h3>
{{range .Timelines}}<pre class="timeline">{{.Table}}</pre>{{end}}{{end}}
</section>
{{end}}

{{if .Events}}<h2>Lifecycle events</h2>
<table id="events"><tr><th>time</th><th>event</th><th>key</th><th>from</th><th>to</th><th>version</th><th>detail</th><th>error</th></tr>
{{range .Events}}<tr><td>{{time .Time}}</td><td>{{.Kind}}</td><td>{{.Key}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Version}}</td><td>{{.Detail}}</td><td class="err">{{.Err}}</td></tr>{{end}}
</table>{{end}}
</body></html>
`
