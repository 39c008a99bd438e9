package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/app/check"
)

// gitRepo is a real git repository in a temporary folder, for `check`.
type gitRepo struct {
	t   *testing.T
	dir string
}

// newGitRepo makes a repository with the user's git configuration and any
// GitHub Actions environment of the machine running the tests kept out.
func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
		"GITHUB_ACTIONS": "", "GITHUB_EVENT_NAME": "", "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": "", "GITHUB_SERVER_URL": "",
	} {
		t.Setenv(k, v)
	}
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", r.dir}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (an empty content removes one) and commits them.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if body == "" {
			os.Remove(p)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

const (
	checkConfig = `records:
  paths: [docs/decisions]
check:
  mode: enforce
  default: intent
  rules:
    - name: schema changes
      paths: ["db/**"]
      need: decision
`
	checkRecord = `---
id: ADR-0001
title: Use PostgreSQL
status: accepted
date: 2024-01-10
governs: ["db/**"]
---
# Use PostgreSQL

## Why

We need one database that every service can share.
`
	checkTemplate = "## Why\n\n<!-- Why is this change needed? Link the decision record. -->\n"
	// bodyWithWhy explains itself and links the decision.
	bodyWithWhy = "## Why\n\nOrders need their own table so that refunds can be reported per order, as ADR-0001 planned.\n"
	// bodyWithoutWhy is the template left as it is.
	bodyWithoutWhy = checkTemplate
)

// checkRepo makes main (configuration, template, a decision governing
// db/**) and a branch "feature" that changes db/schema.sql.
func checkRepo(t *testing.T) (*gitRepo, string, string) {
	t.Helper()
	r := newGitRepo(t)
	base := r.commit("Start", map[string]string{
		".github/backstory.yml":                 checkConfig,
		".github/pull_request_template.md":      checkTemplate,
		"docs/decisions/0001-use-postgresql.md": checkRecord,
		"db/schema.sql":                         "create table users (id int);\n",
		"README.md":                             "# Shop\n",
	})
	r.git("checkout", "-q", "-b", "feature")
	head := r.commit("Add orders", map[string]string{"db/schema.sql": "create table users (id int);\ncreate table orders (id int);\n"})
	return r, base, head
}

func writeBody(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "body.md")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckPassesWithAWhyAndALinkedDecision(t *testing.T) {
	r, _, _ := checkRepo(t)
	out, errs, code := cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", writeBody(t, bodyWithWhy))
	if code != 0 {
		t.Fatalf("check exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "Conclusion: **success**") || !strings.Contains(out, "ADR-0001") {
		t.Errorf("check's markdown:\n%s", out)
	}
	if !strings.Contains(errs, "comparing with main") {
		t.Errorf("check does not say which base it chose: %q", errs)
	}
}

func TestCheckFailsWithoutAWhy(t *testing.T) {
	r, _, _ := checkRepo(t)
	out, errs, code := cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", writeBody(t, bodyWithoutWhy))
	if code != 1 {
		t.Fatalf("check exited %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// The governing decision is named, and the template's own text does
	// not count as the author's why.
	if !strings.Contains(out, "Conclusion: **failure**") || !strings.Contains(out, "Use PostgreSQL") || !strings.Contains(out, "db/schema.sql") {
		t.Errorf("check's markdown:\n%s", out)
	}
	if strings.Contains(out, "::notice") {
		t.Errorf("workflow commands outside GitHub Actions:\n%s", out)
	}
}

func TestCheckReadsTheBodyFromStdin(t *testing.T) {
	r, _, _ := checkRepo(t)
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", "-"}, strings.NewReader(bodyWithWhy), &stdout, &stderr)
	if code != 0 {
		t.Errorf("check with the body on stdin exited %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
}

func TestCheckAdvisesByDefaultAndTakesOrgDefaults(t *testing.T) {
	r := newGitRepo(t)
	r.commit("Start", map[string]string{"README.md": "# Shop\n", "src/main.go": "package main\n"})
	r.git("checkout", "-q", "-b", "feature")
	r.commit("Change", map[string]string{"src/main.go": "package main\n\nfunc main() {}\n"})
	body := writeBody(t, "Just a change.\n")

	// No configuration: advise mode, the check is neutral and exits 0.
	out, errs, code := cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", body)
	if code != 0 || !strings.Contains(out, "Conclusion: **neutral**") {
		t.Errorf("advise mode: exit %d\n%s\n%s", code, out, errs)
	}
	// The organisation enforces.
	org := filepath.Join(t.TempDir(), "backstory.yml")
	os.WriteFile(org, []byte("check:\n  mode: enforce\n"), 0o644)
	out, errs, code = cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", body, "--org-config", org)
	if code != 1 || !strings.Contains(out, "Conclusion: **failure**") {
		t.Errorf("org defaults: exit %d\n%s\n%s", code, out, errs)
	}
	// A skip label passes.
	out, _, code = cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--body-file", body, "--org-config", org, "--label", "no-backstory")
	if code != 0 || !strings.Contains(out, "Conclusion: **success**") {
		t.Errorf("skip label: exit %d\n%s", code, out)
	}
}

func TestCheckCatchesANumberTakenOnTheBase(t *testing.T) {
	r, _, _ := checkRepo(t)
	decision := "---\ntitle: Partition orders\nstatus: proposed\ndate: 2024-06-01\n---\n# Partition orders\n\n## Why\n\nOrders grow fast.\n"
	r.commit("Record the decision", map[string]string{"docs/decisions/0002-partition-orders.md": decision})
	// Meanwhile main takes number 2: git would merge both silently.
	r.git("checkout", "-q", "main")
	r.commit("Another decision", map[string]string{"docs/decisions/0002-use-redis.md": strings.Replace(decision, "Partition orders", "Use Redis", 2)})
	r.git("checkout", "-q", "feature")

	out, errs, code := cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--format", "json", "--body-file", writeBody(t, bodyWithWhy))
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --format json printed invalid JSON (exit %d): %v\n%s\n%s", code, err, out, errs)
	}
	if code != 1 || rep.Conclusion != "failure" || !strings.Contains(rep.Markdown, "0003") {
		t.Errorf("collision: exit %d, %+v", code, rep)
	}
	if len(rep.Records) != 1 || rep.Records[0] != "docs/decisions/0002-partition-orders.md" || rep.Repository != "acme/shop" || rep.Files != 2 {
		t.Errorf("report: %+v", rep)
	}
}

func TestCheckJSON(t *testing.T) {
	r, base, head := checkRepo(t)
	out, errs, code := cliRun(t, "check", "--dir", r.dir, "--repo", "acme/shop", "--format", "json", "--body-file", writeBody(t, bodyWithoutWhy))
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if rep["conclusion"] != "failure" || rep["need"] != "decision" || rep["missing"] != "decision" || rep["head_sha"] != head ||
		rep["merge_base"] != base || rep["files"] != float64(1) {
		t.Errorf("report: %v", rep)
	}
	anns, _ := rep["annotations"].([]any)
	if len(anns) != 1 || anns[0].(map[string]any)["path"] != "db/schema.sql" || anns[0].(map[string]any)["start_line"] != float64(2) {
		t.Errorf("annotations: %v", rep["annotations"])
	}
}

func TestCheckInGitHubActions(t *testing.T) {
	r, _, head := checkRepo(t)
	r.git("checkout", "-q", "--detach", "main")
	r.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
	baseSHA := r.git("rev-parse", "main")

	// GitHub's example event, rewritten to describe this pull request.
	data, err := os.ReadFile(filepath.Join("..", "..", "app", "localpr", "testdata", "pull_request.opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.Unmarshal(data, &ev)
	pr := ev["pull_request"].(map[string]any)
	pr["head"].(map[string]any)["sha"] = head
	pr["base"].(map[string]any)["sha"] = baseSHA
	pr["base"].(map[string]any)["ref"] = "main"
	pr["body"] = bodyWithoutWhy
	pr["labels"] = []any{}
	event := filepath.Join(t.TempDir(), "event.json")
	data, _ = json.Marshal(ev)
	os.WriteFile(event, data, 0o644)
	summary := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(summary, []byte("earlier step\n"), 0o644)
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_EVENT_NAME", "pull_request")
	t.Setenv("GITHUB_EVENT_PATH", event)
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")

	out, errs, code := cliRun(t, "check", "--dir", r.dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "::notice file=db/schema.sql,line=2") && !strings.Contains(out, "::warning file=db/schema.sql,line=2") {
		t.Errorf("no annotation for the governed file:\n%s", out)
	}
	got, _ := os.ReadFile(summary)
	if !strings.HasPrefix(string(got), "earlier step\n") || !strings.Contains(string(got), "Conclusion: **failure**") {
		t.Errorf("job summary:\n%s", got)
	}
	if strings.Contains(string(got), "::notice") {
		t.Error("workflow commands in the job summary")
	}
	if !strings.Contains(out, "Codertocat/Hello-World") && !strings.Contains(string(got), "Use PostgreSQL") {
		t.Errorf("the event's repository was not used:\n%s", out)
	}

	// The pull request's body is fixed: the next run passes.
	pr["body"] = bodyWithWhy
	data, _ = json.Marshal(ev)
	os.WriteFile(event, data, 0o644)
	if out, errs, code := cliRun(t, "check", "--dir", r.dir); code != 0 {
		t.Errorf("with a why: exit %d\n%s\n%s", code, out, errs)
	}

	// A merge queue has nothing to check.
	t.Setenv("GITHUB_EVENT_NAME", "merge_group")
	if out, errs, code := cliRun(t, "check", "--dir", r.dir); code != 0 || !strings.Contains(errs, "nothing to check") {
		t.Errorf("merge_group: exit %d\n%s\n%s", code, out, errs)
	}
	// A push has no pull request.
	t.Setenv("GITHUB_EVENT_NAME", "push")
	if _, errs, code := cliRun(t, "check", "--dir", r.dir); code != 2 || !strings.Contains(errs, "pull_request") {
		t.Errorf("push: exit %d\n%s", code, errs)
	}
}

func TestCheckSetupErrors(t *testing.T) {
	r, _, _ := checkRepo(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--dir", t.TempDir()}, "not inside a git repository"},
		{[]string{"--dir", r.dir, "--base", "origin/develop"}, `base "origin/develop" is not a commit in this clone`},
		{[]string{"--dir", r.dir, "--format", "yaml"}, "--format"},
		{[]string{"--dir", r.dir, "--body-file", filepath.Join(r.dir, "missing.md")}, "--body-file"},
	}
	for _, tt := range tests {
		out, errs, code := cliRun(t, append([]string{"check"}, tt.args...)...)
		if code != 2 || !strings.Contains(errs, tt.want) || out != "" {
			t.Errorf("check %v: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errs, tt.want)
		}
	}
}

func TestWorkflowCommandEscapes(t *testing.T) {
	got := workflowCommand(check.Annotation{Path: "a,b:c.go", StartLine: 3, EndLine: 5, Level: "failure", Title: "T: x, y", Message: "line one\nline two 100%"})
	want := "::error file=a%2Cb%3Ac.go,line=3,endLine=5,title=T%3A x%2C y::line one%0Aline two 100%25"
	if got != want {
		t.Errorf("workflowCommand =\n%s\nwant\n%s", got, want)
	}
}
