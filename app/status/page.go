package status

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// render writes rep as the HTML page.
func render(w io.Writer, rep Report) error {
	return pageTemplate.Execute(w, rep)
}

var funcs = template.FuncMap{
	"when":  when,
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"age":   age,
	"since": func(t time.Time, now time.Time) string { return age(int64(now.Sub(t) / time.Second)) },
	"line":  oneLine,
	"code":  code,
	"state": func(s app.DeliveryState) string { return string(s) },
	"count": func(counts map[app.DeliveryState]int, s string) int { return counts[app.DeliveryState(s)] },
	"total": func(counts map[app.DeliveryState]int) int {
		n := 0
		for _, c := range counts {
			n += c
		}
		return n
	},
	"event": func(d Delivery) string {
		if d.Action == "" {
			return d.Event
		}
		return d.Event + "." + d.Action
	},
	"percent":      func(p float64) string { return fmt.Sprintf("%.1f%%", p) },
	"installation": installation,
	"sectionName": func(s string) string {
		return map[string]string{"inbox": "Inbox", "failures": "Recent failures", "dead_letters": "Dead letters",
			"sites": "Sites", "rate_limits": "GitHub rate limits"}[s]
	},
	"refresh": func() int { return int(Refresh / time.Second) },
	"days":    func() int { return int(Window / (24 * time.Hour)) },
	"late":    func() string { return age(int64(LateAfter / time.Second)) },
	"newest":  func() int { return Newest },
	"join":    strings.Join,
}

// code escapes s and shows what it quotes in backticks as code: the
// commands and settings of a problem's advice.
func code(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
		} else {
			b.WriteString(template.HTMLEscapeString(part))
		}
	}
	return template.HTML(b.String())
}

var pageTemplate = template.Must(template.New("status").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{refresh}}">
<title>{{if .Problems}}{{len .Problems}} to look at · {{end}}Status · backstory</title>
<style>
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--warn:#fff8c5;--warnline:#9a6700;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--warn:#3b2e00;--warnline:#d29922;--ok:#3fb950}}
body{font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid var(--line)}h3{font-size:1.1rem;margin-bottom:.25rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
.muted,caption{color:var(--muted)}caption{text-align:left;padding:.25rem 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;min-width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .6rem;border-bottom:1px solid var(--line)}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:.9em ui-monospace,monospace;overflow-wrap:anywhere}
.warn,.problems li,tr.low{background:var(--warn)}.warn,.problems li{border-left:4px solid var(--warnline);padding:.5rem .75rem;margin:.5rem 0}
.problems{list-style:none;padding:0}.ok{color:var(--ok);font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.error{overflow-wrap:anywhere}
</style>
</head>
<body>
<header>
<h1>backstory status</h1>
<p class="muted">Generated <time datetime="{{iso .GeneratedAt}}">{{when .GeneratedAt}}</time>. This page reloads every {{refresh}} seconds; <a href="status.json">the same as JSON</a>.</p>
<nav aria-label="Sections"><ul>
<li><a href="#problems">Problems</a></li><li><a href="#inbox">Inbox</a></li><li><a href="#failures">Recent failures</a></li>
<li><a href="#dead_letters">Dead letters</a></li><li><a href="#sites">Sites</a></li><li><a href="#rate_limits">Rate limits</a></li><li><a href="#server">Version and uptime</a></li>
</ul></nav>
</header>
<main>
<section aria-labelledby="problems">
<h2 id="problems">Problems</h2>
{{- if .Problems}}
<ul class="problems">
{{- range .Problems}}
<li><strong>{{.What}}</strong><br>What to do: {{code .Do}} <a href="#{{.Section}}">{{sectionName .Section}}</a></li>
{{- end}}
</ul>
{{- else}}
<p class="ok">Nothing needs you: no delivery is late or failing, no dead letters, every site built and published.</p>
{{- end}}
</section>

<section aria-labelledby="inbox">
<h2 id="inbox">Inbox</h2>
{{- with .Inbox}}
{{- if .Error}}
<p class="warn"><strong>The inbox could not be read:</strong> <span class="error">{{line .Error}}</span></p>
{{- else}}
<div class="scroll"><table>
<caption>Deliveries by state ({{total .Counts}} in all)</caption>
<thead><tr><th scope="col">State</th><th scope="col">Deliveries</th><th scope="col">Meaning</th></tr></thead>
<tbody>
<tr><th scope="row">pending</th><td class="n">{{count .Counts "pending"}}</td><td>waiting to be processed, or to be retried</td></tr>
<tr><th scope="row">claimed</th><td class="n">{{count .Counts "claimed"}}</td><td>being processed by a worker</td></tr>
<tr><th scope="row">done</th><td class="n">{{count .Counts "done"}}</td><td>processed (pruned after store.retention)</td></tr>
<tr><th scope="row">dead</th><td class="n">{{count .Counts "dead"}}</td><td>given up on: <a href="#dead_letters">dead letters</a></td></tr>
</tbody>
</table></div>
{{- with .Oldest}}
<h3>Oldest waiting delivery</h3>
{{- if $.Inbox.Late}}
<p class="warn" role="status"><strong>Warning:</strong> it has waited {{age .AgeSeconds}}, more than {{late}}. See <a href="#problems">Problems</a> for what to do.</p>
{{- end}}
<dl>
<dt>ID</dt><dd><code>{{.ID}}</code></dd>
<dt>Event</dt><dd>{{event .}}</dd>
<dt>Repository</dt><dd>{{if .Repository}}{{.Repository}}{{else}}<span class="muted">none</span>{{end}}</dd>
<dt>State</dt><dd>{{state .State}}</dd>
<dt>Received</dt><dd><time datetime="{{iso .ReceivedAt}}">{{when .ReceivedAt}}</time> ({{age .AgeSeconds}} ago)</dd>
<dt>Attempts</dt><dd>{{.Attempts}}</dd>
{{- if not .NextAttempt.IsZero}}
<dt>Next attempt</dt><dd><time datetime="{{iso .NextAttempt}}">{{when .NextAttempt}}</time></dd>
{{- end}}
{{- if .LastError}}
<dt>Last error</dt><dd class="error">{{line .LastError}}</dd>
{{- end}}
</dl>
{{- else}}
<p>No delivery waits: the inbox is empty.</p>
{{- end}}
{{- end}}
{{- end}}
</section>

<section aria-labelledby="failures">
<h2 id="failures">Recent failures</h2>
{{- with .Failures}}
{{- if .Error}}
<p class="warn"><strong>The failures could not be listed:</strong> <span class="error">{{line .Error}}</span></p>
{{- end}}
{{- if .Deliveries}}
<p>Deliveries whose last attempt failed: backstory retries them by itself. See everything about one with <code>backstory deliveries show ID</code>.</p>
<div class="scroll" role="region" aria-label="Recent failures" tabindex="0"><table>
<caption>Received since {{when .Since}}, newest first; at most {{newest}} are shown{{if .Partial}} (the inbox holds too many pending deliveries to look at them all: some may be missing){{end}}</caption>
<thead><tr><th scope="col">Received</th><th scope="col">Event</th><th scope="col">Repository</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Last error</th><th scope="col">ID</th></tr></thead>
<tbody>
{{- range .Deliveries}}
<tr><td><time datetime="{{iso .ReceivedAt}}">{{when .ReceivedAt}}</time></td><td>{{event .}}</td><td>{{if .Repository}}{{.Repository}}{{else}}<span class="muted">none</span>{{end}}</td><td class="n">{{.Attempts}}</td><td>{{if not .NextAttempt.IsZero}}<time datetime="{{iso .NextAttempt}}">{{when .NextAttempt}}</time>{{end}}</td><td class="error">{{line .LastError}}</td><td><code>{{.ID}}</code></td></tr>
{{- end}}
</tbody>
</table></div>
{{- else if not .Error}}
<p>No delivery is failing{{if .Partial}} among those looked at (the inbox holds too many pending deliveries to look at them all){{end}}.</p>
{{- end}}
{{- end}}
</section>

<section aria-labelledby="dead_letters">
<h2 id="dead_letters">Dead letters</h2>
{{- with .DeadLetters}}
{{- if .Error}}
<p class="warn"><strong>The dead letters could not be listed:</strong> <span class="error">{{line .Error}}</span></p>
{{- end}}
{{- if .Total}}
<p>Deliveries backstory gave up on, after their last error: dead letters of the last {{days}} days; {{.Total}} in all.</p>
<p>See everything about one with <code>backstory deliveries show ID</code>. Once what the error says is fixed, retry it with <code>backstory deliveries retry ID</code>, or every dead letter with <code>backstory deliveries retry --all</code>. <code>backstory deliveries list</code> lists them all.</p>
{{- if .Deliveries}}
<div class="scroll" role="region" aria-label="Dead letters" tabindex="0"><table>
<caption>Received since {{when .Since}}, newest first; at most {{newest}} are shown{{if .Partial}} (too many to look at them all: some may be missing){{end}}</caption>
<thead><tr><th scope="col">Received</th><th scope="col">Event</th><th scope="col">Repository</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">ID</th></tr></thead>
<tbody>
{{- range .Deliveries}}
<tr><td><time datetime="{{iso .ReceivedAt}}">{{when .ReceivedAt}}</time></td><td>{{event .}}</td><td>{{if .Repository}}{{.Repository}}{{else}}<span class="muted">none</span>{{end}}</td><td class="n">{{.Attempts}}</td><td class="error">{{line .LastError}}</td><td><code>{{.ID}}</code></td></tr>
{{- end}}
</tbody>
</table></div>
{{- else if not .Error}}
<p>None of them was received in the last {{days}} days.</p>
{{- end}}
{{- else if not .Error}}
<p>No dead letters.</p>
{{- end}}
{{- end}}
</section>

<section aria-labelledby="sites">
<h2 id="sites">Sites</h2>
{{- with .Sites}}
{{- if not .Enabled}}
<p>Sites are off: site.dir is not set, so backstory keeps no sites.</p>
{{- else}}
{{- if .Error}}
<p class="warn"><strong>Not everything could be read:</strong> <span class="error">{{line .Error}}</span></p>
{{- end}}
{{- range .Sites}}
<article aria-labelledby="site-{{.Account}}">
<h3 id="site-{{.Account}}">{{.Account}}</h3>
{{- if .Error}}
<p class="warn"><strong>What the site holds cannot be read:</strong> <span class="error">{{line .Error}}</span></p>
{{- end}}
<dl>
{{- if .Installation}}<dt>Installation</dt><dd>{{.Installation}}</dd>{{end}}
{{- if .Built}}
<dt>Last good build</dt><dd><time datetime="{{iso .BuiltAt}}">{{when .BuiltAt}}</time> ({{age .AgeSeconds}} ago)</dd>
<dt>Records</dt><dd>{{.Records}} record{{if ne .Records 1}}s{{end}} from {{.Repositories}} repositor{{if eq .Repositories 1}}y{{else}}ies{{end}}</dd>
<dt>Readers</dt><dd>{{if .Private}}private: members of {{.Account}} only{{else}}public{{end}}</dd>
{{- else if not .Error}}
<dt>Site</dt><dd>no site built yet</dd>
{{- end}}
{{- with .BuildFailure}}
<dt>Failing build</dt><dd class="error">{{state .State}}, {{.Attempts}} attempt{{if ne .Attempts 1}}s{{end}}, received {{when .ReceivedAt}}: {{line .LastError}} (<code>{{.ID}}</code>)</dd>
{{- end}}
{{- with .Pages}}
<dt>Pages</dt><dd>{{.Repository}}, branch {{.Branch}}{{if .URL}}, <a href="{{.URL}}">{{.URL}}</a>{{end}}</dd>
{{- if .Error}}
<dt>Publication</dt><dd class="error"><strong>not published:</strong> {{line .Error}}</dd>
{{- else}}
<dt>Published</dt><dd>{{if not .PublishedAt.IsZero}}<time datetime="{{iso .PublishedAt}}">{{when .PublishedAt}}</time>{{end}}{{if .Commit}}, commit <code>{{.Commit}}</code>{{end}}, {{.Records}} record{{if ne .Records 1}}s{{end}}</dd>
{{- end}}
{{- if .LeftOut}}
<dt>Kept off Pages</dt><dd>the private repositories {{join .LeftOut ", "}} (site.publish_private: true in the organisation's .github/backstory.yml publishes them)</dd>
{{- end}}
{{- end}}
{{- with .Reviews}}
{{- if or .Due .Opened .Failed}}
<dt>Reviews</dt><dd>{{.Due}} decision{{if ne .Due 1}}s{{end}} due for review; {{len .Opened}} issue{{if ne (len .Opened) 1}}s{{end}} opened{{if .Opened}} ({{join .Opened ", "}}){{end}}{{if .Failed}}; {{len .Failed}} could not be opened: {{line (join .Failed "; ")}}{{end}}</dd>
{{- end}}
{{- end}}
</dl>
</article>
{{- else}}
<p>No site built yet, and the App is on no account.</p>
{{- end}}
{{- end}}
{{- end}}
</section>

<section aria-labelledby="rate_limits">
<h2 id="rate_limits">GitHub rate limits</h2>
{{- if .RateLimits}}
<div class="scroll" role="region" aria-label="GitHub rate limits" tabindex="0"><table>
<caption>Per installation and resource, as GitHub's last answer said; under 10% left is marked low</caption>
<thead><tr><th scope="col">Installation</th><th scope="col">Resource</th><th scope="col">Remaining</th><th scope="col">Left</th><th scope="col">Resets</th><th scope="col">Seen</th></tr></thead>
<tbody>
{{- range .RateLimits}}
<tr{{if .Low}} class="low"{{end}}><td>{{installation .Installation .Account}}</td><td>{{.Resource}}</td><td class="n">{{.Remaining}} of {{.Limit}}</td><td class="n">{{percent .Percent}}{{if .Low}} <strong>low</strong>{{end}}</td><td>{{if not .Reset.IsZero}}<time datetime="{{iso .Reset}}">{{when .Reset}}</time>{{if .Reset.Before $.GeneratedAt}} (passed: full again){{end}}{{end}}</td><td>{{since .Seen $.GeneratedAt}} ago</td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p>No answer from GitHub seen since serve started.</p>
{{- end}}
</section>

<section aria-labelledby="server">
<h2 id="server">Version and uptime</h2>
<dl>
<dt>Version</dt><dd>{{.Version}}</dd>
<dt>Started</dt><dd>{{if not .StartedAt.IsZero}}<time datetime="{{iso .StartedAt}}">{{when .StartedAt}}</time>{{end}}</dd>
<dt>Uptime</dt><dd>{{age .UptimeSeconds}}</dd>
</dl>
</section>
</main>
</body>
</html>
`))
