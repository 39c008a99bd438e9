package check

import (
	"reflect"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/content"
)

func TestReferences(t *testing.T) {
	const site = "https://why.acme.dev"
	tests := []struct {
		name      string
		body      string
		template  string
		linked    []string // repo:id of what resolved
		bad       []string
		unchecked []string
	}{
		{name: "an id in the pattern", body: "Decision: ADR-0005", linked: []string{"acme/shop:ADR-0005"}},
		{name: "an id without its zeros", body: "Follows ADR-5.", linked: []string{"acme/shop:ADR-0005"}},
		{name: "a hash id", body: "Follows #ADR-5.", linked: []string{"acme/shop:ADR-0005"}},
		{name: "lower case with a dash", body: "see adr-0005", linked: []string{"acme/shop:ADR-0005"}},
		{name: "capitals with a space or nothing", body: "ADR 5 and ADR4", linked: []string{"acme/shop:ADR-0005", "acme/shop:ADR-0004"}},
		{name: "in a code span", body: "Implements `ADR-0005`.", linked: []string{"acme/shop:ADR-0005"}},
		{name: "in the title", body: "", linked: []string{"acme/shop:ADR-0003"}},
		{name: "a relative path", body: "See docs/decisions/0005-use-kafka.md#why.", linked: []string{"acme/shop:ADR-0005"}},
		{name: "a markdown link to a path", body: "See [the decision](./docs/decisions/0004-go-services.md).", linked: []string{"acme/shop:ADR-0004"}},
		{name: "a GitHub blob link", body: "https://github.com/acme/shop/blob/main/docs/decisions/0005-use-kafka.md", linked: []string{"acme/shop:ADR-0005"}},
		{name: "a link whose text is an id counts once", body: "[ADR-0005](https://github.com/acme/shop/blob/main/docs/decisions/0005-use-kafka.md)", linked: []string{"acme/shop:ADR-0005"}},
		{name: "a site link", body: "Read " + site + "/repos/acme-shop/0005-use-kafka/ first.", linked: []string{"acme/shop:ADR-0005"}},
		{name: "another repository by hash", body: "Depends on acme/platform#ADR-1.", linked: []string{"acme/platform:ADR-0001"}},
		{name: "another repository by key", body: "Depends on acme/platform:ADR-0001.", linked: []string{"acme/platform:ADR-0001"}},
		{name: "another repository's blob link", body: "https://github.com/acme/platform/blob/main/docs/adr/0001-shared-vpc.md", linked: []string{"acme/platform:ADR-0001"}},
		{name: "this repository by name", body: "acme/shop#ADR-5", linked: []string{"acme/shop:ADR-0005"}},
		{name: "the same record twice", body: "ADR-5, ADR-0005 and docs/decisions/0005-use-kafka.md", linked: []string{"acme/shop:ADR-0005"}},

		{name: "a missing id", body: "Decision: ADR-0099", bad: []string{"ADR-0099"}},
		{name: "a missing record of another repository", body: "acme/platform#ADR-9", bad: []string{"acme/platform#ADR-9"}},
		{name: "a missing path", body: "See docs/decisions/0042-nope.md.", bad: []string{"docs/decisions/0042-nope.md"}},
		{name: "a missing blob link", body: "https://github.com/acme/shop/blob/main/docs/decisions/0042-nope.md", bad: []string{"https://github.com/acme/shop/blob/main/docs/decisions/0042-nope.md"}},
		{name: "a missing site page", body: site + "/repos/acme-shop/0042-nope/", bad: []string{site + "/repos/acme-shop/0042-nope/"}},
		{name: "a repository without records", body: "See acme/billing#ADR-3 and https://github.com/acme/billing/blob/main/docs/adr/0003-x.md", unchecked: []string{"acme/billing#ADR-3", "https://github.com/acme/billing/blob/main/docs/adr/0003-x.md"}},

		{name: "prose is not a reference", body: "We wrote the adr 5 days ago; gadr-12 and ADR-12a are not ids."},
		{name: "an issue is not a record", body: "Fixes acme/shop#12 and #99."},
		{name: "a link elsewhere is not a record", body: "https://jira.acme.dev/browse/ADR-12 and https://github.com/acme/shop/blob/main/services/cart/main.go and [ADR notes](https://wiki.acme.dev/ADR-77)"},
		{name: "a file outside record folders is not a record", body: "See docs/guides/setup.md."},
		{name: "fenced code is not read", body: "```\nADR-0099\n```"},
		{name: "comments are not read", body: "<!-- Decision: ADR-0099 -->"},
		{name: "template lines are not read", body: "Decision: ADR-0000 (an example)\n", template: "Decision: ADR-0000 (an example)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			in.SiteURL = site + "/"
			in.PR.Body, in.PR.Template = tt.body, tt.template
			if tt.name == "in the title" {
				in.PR.Title = "Split the staging root (ADR-0003)"
			}
			v := Evaluate(in)
			var linked, bad []string
			for _, l := range v.Linked {
				linked = append(linked, l.Record.Key())
			}
			for _, b := range v.BadRefs {
				bad = append(bad, b.Ref)
			}
			if !reflect.DeepEqual(linked, tt.linked) || !reflect.DeepEqual(bad, tt.bad) || !reflect.DeepEqual(v.Unchecked, tt.unchecked) {
				t.Errorf("linked %q, bad %q, unchecked %q\nwant   %q, bad %q, unchecked %q", linked, bad, v.Unchecked, tt.linked, tt.bad, tt.unchecked)
			}
		})
	}
}

func TestMissingReferencesFailInEnforceModeAndNameTheNearest(t *testing.T) {
	in := input(t)
	in.Config.Mode = ModeEnforce
	in.PR.Body = goodWhy + "\nDecision: ADR-0007. Also docs/decisions/0099-x.md and docs/decisions/0002-queues.md."
	v := Evaluate(in)
	if v.Conclusion != Failure || v.Title != "3 linked records do not exist" {
		t.Fatalf("conclusion %s, title %q", v.Conclusion, v.Title)
	}
	// The deprecated ADR-0006 and the superseded ADR-0002 are not records
	// to link: they are never offered as the nearest.
	want := []BadRef{
		{Ref: "ADR-0007", Repo: "acme/shop", Nearest: []string{"ADR-0008", "ADR-0005", "ADR-0004"}},
		{Ref: "docs/decisions/0099-x.md", Repo: "acme/shop", Nearest: []string{"ADR-0008", "ADR-0005", "ADR-0004"}},
		{Ref: "docs/decisions/0002-queues.md", Repo: "acme/shop", Nearest: []string{"ADR-0001", "ADR-0003", "ADR-0004"}},
	}
	if !reflect.DeepEqual(v.BadRefs, want) {
		t.Errorf("bad refs = %+v\nwant %+v", v.BadRefs, want)
	}
	if !strings.Contains(v.Summary, "- `ADR-0007` is not a record of acme/shop (nearest: `ADR-0008`, `ADR-0005`, `ADR-0004`)") {
		t.Errorf("summary:\n%s", v.Summary)
	}
	// A record on its way in another pull request: say what to do.
	if !strings.Contains(v.Summary, "If a record is being added in another open pull request, merge that one first, or add the record in this one.") {
		t.Errorf("the summary does not say what to do about a record of another pull request:\n%s", v.Summary)
	}
	// Listed once: in the summary, not again in the details.
	if md := v.Markdown(); strings.Count(md, "`ADR-0007`") != 1 || strings.Count(md, "`docs/decisions/0099-x.md`") != 1 {
		t.Errorf("a missing reference is listed more than once:\n%s", md)
	}
	in.Config.Mode = ModeAdvise
	if v := Evaluate(in); v.Conclusion != Neutral {
		t.Errorf("advise mode: %s", v.Conclusion)
	}
}

func TestReferencesToRecordsThePullRequestAdds(t *testing.T) {
	in := input(t)
	in.Config.Default = NeedDecision
	in.PR.Body = "Implements ADR-0009; see also ADR-0005."
	in.PR.Records = []*content.Record{
		record(t, "acme/shop", "docs/decisions/0009-cache-prices.md", "# Cache prices\n\nStatus: proposed\n"),
		// The head's version of an existing record wins over the default
		// branch's.
		record(t, "acme/shop", "docs/decisions/0005-use-kafka.md", "---\ntitle: Push state through Kafka, renamed\nstatus: accepted\n---\n# x\n"),
	}
	v := Evaluate(in)
	if len(v.Linked) != 2 || !v.Linked[0].InPR || v.Linked[0].Record.ID != "ADR-0009" || !v.Linked[1].InPR || v.Linked[1].Record.Title != "Push state through Kafka, renamed" {
		t.Fatalf("linked = %+v", v.Linked)
	}
	if v.Missing != NeedNothing || len(v.BadRefs) != 0 {
		t.Errorf("missing %s, bad %v", v.Missing, v.BadRefs)
	}
	if !strings.Contains(v.Summary, "https://github.com/acme/shop/blob/0123abcd/docs/decisions/0009-cache-prices.md") {
		t.Errorf("a record of the pull request should link to its head:\n%s", v.Summary)
	}
}

func TestAReferenceToAProcessDoesNotMeetADecisionNeed(t *testing.T) {
	in := input(t)
	in.Config.Default = NeedDecision
	in.PR.Body = "Follows PROCESS-0001."
	in.PR.Records = []*content.Record{record(t, "acme/shop", "docs/processes/0001-on-call.md", "# On call\n")}
	v := Evaluate(in)
	if len(v.Linked) != 1 || v.Linked[0].Record.Kind != content.KindProcess || v.Missing != NeedDecision {
		t.Errorf("linked %+v, missing %s", v.Linked, v.Missing)
	}
}

func TestMatchLogin(t *testing.T) {
	tests := []struct {
		glob, login string
		want        bool
	}{
		{"dependabot[bot]", "dependabot[bot]", true},
		{"*[bot]", "renovate[bot]", true},
		{"*[bot]", "robot", false},
		{"release-*", "Release-Bot", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "anyone", true},
		{"**a*b*", "xxaxxbxx", true},
		{"", "alice", false},
		{"alice", "", false},
	}
	for _, tt := range tests {
		if got := matchLogin(tt.glob, tt.login); got != tt.want {
			t.Errorf("matchLogin(%q, %q) = %v, want %v", tt.glob, tt.login, got, tt.want)
		}
	}
}
