// Package ops_test checks what operators run beside backstory: the
// Prometheus alert rules in prometheus/alerts.yml and the Grafana dashboard
// in grafana/backstory.json. Every metric they name must be one backstory
// exports, and every alert must name a runbook that exists: a process
// record in docs/processes/.
package ops_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/memory"
)

const (
	alertsFile     = "prometheus/alerts.yml"
	alertTestsFile = "prometheus/alerts_test.yml"
	dashboardFile  = "grafana/backstory.json"
	// repoRoot is where runbook paths are relative to: the tests run in ops/.
	repoRoot = ".."
)

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s: no rule groups", alertsFile)
	}
	return f
}

// promDuration is a Prometheus duration as rule files write them.
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

func TestAlertRulesAreComplete(t *testing.T) {
	values := recordIDs(t, filepath.Join(repoRoot, "docs", "values"), "value")
	seen := map[string]bool{}
	for _, g := range readRules(t).Groups {
		if len(g.Rules) == 0 {
			t.Errorf("group %q has no rules", g.Name)
		}
		for _, r := range g.Rules {
			name := r.Alert
			switch {
			case name == "":
				t.Errorf("group %q: a rule without an alert name (recording rules do not belong here)", g.Name)
				continue
			case seen[name]:
				t.Errorf("alert %s is defined twice", name)
			}
			seen[name] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: no expr", name)
			}
			if !promDuration.MatchString(r.For) {
				t.Errorf("%s: for is %q, want a duration such as 5m: an alert without one fires on a single bad scrape", name, r.For)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity label is %q, want critical or warning", name, s)
			}
			for _, key := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("%s: no %s annotation", name, key)
				}
			}
			if rb := r.Annotations["runbook"]; rb != "" {
				checkRunbook(t, name, rb, values)
			}
		}
	}
}

// checkRunbook checks that runbook is a process record in docs/processes
// that names the values it protects.
func checkRunbook(t *testing.T, alert, runbook string, values map[string]bool) {
	t.Helper()
	if filepath.Dir(runbook) != "docs/processes" || filepath.Ext(runbook) != ".md" {
		t.Errorf("%s: runbook %q is not a record in docs/processes/", alert, runbook)
		return
	}
	fm, err := frontMatter(filepath.Join(repoRoot, filepath.FromSlash(runbook)))
	if err != nil {
		t.Errorf("%s: runbook: %v", alert, err)
		return
	}
	if fm.Kind != "process" {
		t.Errorf("%s: runbook %s is of kind %q, want process", alert, runbook, fm.Kind)
	}
	if len(fm.Values) == 0 {
		t.Errorf("%s: runbook %s names no value it protects", alert, runbook)
	}
	for _, v := range fm.Values {
		if !values[v] {
			t.Errorf("%s: runbook %s protects %q, which is no value in docs/values", alert, runbook, v)
		}
	}
}

// recordFront is the part of a record's front matter the tests read.
type recordFront struct {
	ID     string   `yaml:"id"`
	Kind   string   `yaml:"kind"`
	Values []string `yaml:"values"`
}

func frontMatter(path string) (recordFront, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return recordFront{}, err
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	rest, ok := strings.CutPrefix(text, "---\n")
	if !ok {
		return recordFront{}, &os.PathError{Op: "read front matter", Path: path, Err: os.ErrInvalid}
	}
	head, _, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return recordFront{}, &os.PathError{Op: "read front matter", Path: path, Err: os.ErrInvalid}
	}
	var fm recordFront
	if err := yaml.Unmarshal([]byte(head), &fm); err != nil {
		return recordFront{}, err
	}
	return fm, nil
}

// recordIDs returns the ids of the records of kind in dir.
func recordIDs(t *testing.T, dir, kind string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no records in %s (%v)", dir, err)
	}
	ids := map[string]bool{}
	for _, f := range files {
		fm, err := frontMatter(f)
		if err != nil {
			t.Fatal(err)
		}
		if fm.Kind == kind && fm.ID != "" {
			ids[fm.ID] = true
		}
	}
	return ids
}

// exportedMetrics returns the name and type of every metric family that
// `backstory serve` exports: the App's metrics, the inbox collector and the
// Go and process collectors, registered as cmd/backstory/serve.go does.
func exportedMetrics(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := app.NewMetrics(reg)
	reg.MustRegister(app.NewInboxCollector(memory.New()))
	touchVectors(t, m)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dto.MetricType{}
	for _, f := range families {
		out[f.GetName()] = f.GetType()
	}
	return out
}

// touchVectors makes one child of every vector in m, so that Gather
// reports it: a vector without children is not gathered. It finds the
// vectors by reflection, so that a metric added to Metrics is covered too,
// and their number of labels by trying.
func touchVectors(t *testing.T, m *app.Metrics) {
	t.Helper()
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		field := v.Field(i)
		if !field.CanInterface() || field.Kind() != reflect.Pointer || field.IsNil() {
			continue
		}
		get := field.MethodByName("GetMetricWithLabelValues")
		if !get.IsValid() {
			continue // not a vector: gathered as it is
		}
		touched := false
		for n := 0; n <= 8 && !touched; n++ {
			args := make([]reflect.Value, n)
			for j := range args {
				args[j] = reflect.ValueOf("x")
			}
			res := get.Call(args)
			touched = res[1].IsNil()
		}
		if !touched {
			t.Fatalf("Metrics.%s: no label count between 0 and 8 fits it", v.Type().Field(i).Name)
		}
	}
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	grafanaVar   = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// promKeywords are the words of PromQL that are not metric names.
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true,
	"ignoring": true, "group_left": true, "group_right": true, "bool": true, "offset": true,
	"inf": true, "nan": true, "atan2": true,
}

// metricNames returns the metric names a PromQL expression (or a Grafana
// query, whose $variables it ignores) reads, sorted and without repeats.
func metricNames(expr string) []string {
	s := grafanaVar.ReplaceAllString(expr, "")
	s = promString.ReplaceAllString(s, `""`)
	s = promMatchers.ReplaceAllString(s, "{}")
	s = promRange.ReplaceAllString(s, "[]")
	// Grouping lists (by, on, group_left…) hold label names.
	s = promGrouping.ReplaceAllString(s, "")
	seen := map[string]bool{}
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		start, end := loc[0], loc[1]
		// Not an identifier when it continues a number (1e3, 0.5e2, 1h).
		if start > 0 && strings.ContainsRune("0123456789.", rune(s[start-1])) {
			continue
		}
		name := s[start:end]
		call := strings.HasPrefix(strings.TrimLeft(s[end:], " \t\n"), "(")
		if call || promKeywords[strings.ToLower(name)] || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// unexported returns the names that backstory does not export: not a
// family, not a histogram's _bucket, _sum or _count, nor a summary's _sum
// or _count. `up` is Prometheus's own.
func unexported(names []string, exported map[string]dto.MetricType) []string {
	var out []string
	for _, name := range names {
		if _, ok := exported[name]; ok || name == "up" {
			continue
		}
		known := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(name, suffix)
			if !ok {
				continue
			}
			switch exported[base] {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				known = true
			case dto.MetricType_SUMMARY:
				known = suffix != "_bucket"
			}
		}
		if !known {
			out = append(out, name)
		}
	}
	return out
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job=~"backstory.*"} == 0`, []string{"up"}},
		{`sum by (job) (rate(a_total{outcome="done"}[5m])) > 0`, []string{"a_total"}},
		{`max by (job) (a) > 900 unless on (job) sum by (job) (increase(b[15m])) > 0`, []string{"a", "b"}},
		{`a unless a offset 1h`, []string{"a"}},
		{`time() - max by (job, account) (a_seconds) > 26 * 3600`, []string{"a_seconds"}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{job=~"$job", instance=~"${instance}"}[$__rate_interval])))`, []string{"h_bucket"}},
		{`sum(rate(a{status="304"}[5m])) / sum(rate(a[5m]))`, []string{"a"}},
		{`a / on (installation) group_left (resource) b`, []string{"a", "b"}},
		{`1e3 * a + 0.5 * b`, []string{"a", "b"}},
		{`label_replace(a, "dst", "$1 by (x)", "src", "(.*)")`, []string{"a"}},
		{`{__name__="a"}`, nil},
		{`sum without (instance) (a)>0 and b<1`, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestUnexportedFindsATypo(t *testing.T) {
	exported := exportedMetrics(t)
	names := metricNames(`sum by (event) (increase(backstory_dead_leters_total[1h])) > 0 or backstory_dead_letters_total
		or histogram_quantile(0.5, rate(backstory_delivery_process_seconds_bucket[5m])) or backstory_inbox_up_bucket`)
	got := unexported(names, exported)
	want := []string{"backstory_dead_leters_total", "backstory_inbox_up_bucket"}
	if !slices.Equal(got, want) {
		t.Errorf("unexported(%q) = %q, want %q", names, got, want)
	}
}

func TestAlertsUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			names := metricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("%s: expr %q reads no metric", r.Alert, r.Expr)
			}
			if bad := unexported(names, exported); len(bad) > 0 {
				t.Errorf("%s: backstory exports no metric %s (see app/metrics.go)", r.Alert, strings.Join(bad, ", "))
			}
			if grafanaVar.MatchString(r.Expr) {
				t.Errorf("%s: expr uses a Grafana variable: %q", r.Alert, r.Expr)
			}
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource *datasourceRef    `json:"datasource"`
	GridPos    map[string]int    `json:"gridPos"`
	Panels     []panel           `json:"panels"` // a collapsed row's
	Targets    []dashboardTarget `json:"targets"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardTarget struct {
	Expr  string `json:"expr"`
	RefID string `json:"refId"`
}

func readDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d, data
}

// allPanels returns the panels of d, those in collapsed rows included, and
// the rows.
func allPanels(d dashboard) (panels, rows []panel) {
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, p)
			panels = append(panels, p.Panels...)
			continue
		}
		panels = append(panels, p)
	}
	return panels, rows
}

func TestDashboard(t *testing.T) {
	d, data := readDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("dashboard uid %q, title %q, schemaVersion %d: want a uid, a title and schemaVersion 36 or later", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	for name, typ := range map[string]string{"datasource": "datasource", "job": "query", "instance": "query"} {
		if vars[name] != typ {
			t.Errorf("template variable %q: type %q, want %q", name, vars[name], typ)
		}
	}

	panels, rows := allPanels(d)
	var rowTitles []string
	for _, r := range rows {
		rowTitles = append(rowTitles, r.Title)
	}
	for _, want := range []string{"Intake", "Inbox", "Processing", "GitHub", "Sites"} {
		if !slices.Contains(rowTitles, want) {
			t.Errorf("no row %q (rows: %q)", want, rowTitles)
		}
	}
	exported := exportedMetrics(t)
	ids := map[int]bool{}
	for _, r := range rows {
		ids[r.ID] = true
	}
	for _, p := range panels {
		name := p.Title
		if name == "" {
			t.Errorf("panel %d (%s) has no title", p.ID, p.Type)
			name = p.Type
		}
		if p.ID == 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d is missing or taken", name, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", name, p.Datasource)
		}
		if p.GridPos["w"] <= 0 || p.GridPos["h"] <= 0 || p.GridPos["x"]+p.GridPos["w"] > 24 {
			t.Errorf("panel %q: gridPos %v does not fit the 24-column grid", name, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", name)
		}
		for _, target := range p.Targets {
			if strings.TrimSpace(target.Expr) == "" {
				t.Errorf("panel %q: target %s has no expr", name, target.RefID)
				continue
			}
			if !strings.Contains(target.Expr, `job=~"$job"`) || !strings.Contains(target.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: target %s ignores the job and instance variables: %s", name, target.RefID, target.Expr)
			}
			if bad := unexported(metricNames(target.Expr), exported); len(bad) > 0 {
				t.Errorf("panel %q: backstory exports no metric %s", name, strings.Join(bad, ", "))
			}
		}
	}

	// Tidy: the file is indented with two spaces as encoding/json would,
	// in the key order it was written with, and ends in a newline.
	var compact, tidy bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&tidy, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	tidy.WriteByte('\n')
	if !bytes.Equal(tidy.Bytes(), data) {
		t.Errorf("%s is not indented with two spaces, one value a line, ending in a newline: reformat it (jq --indent 2 .)", dashboardFile)
	}
}

// TestAlertBehaviour runs the promtool unit tests of the alert rules
// (prometheus/alerts_test.yml) when promtool is installed. The rules are
// copied without their annotations, so that the cases test when an alert
// fires and not the wording of what it says.
func TestAlertBehaviour(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus): the alert rules' unit tests are skipped")
	}
	f := readRules(t)
	for i := range f.Groups {
		for j := range f.Groups[i].Rules {
			f.Groups[i].Rules[j].Annotations = nil
		}
	}
	rules, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(alertTestsFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"alerts.yml": rules, "alerts_test.yml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules %s: %v\n%s", alertTestsFile, err, out)
	}
}
