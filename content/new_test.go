package content

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewRecordNumbersAndTemplate(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"0003-a.md": "# 3. A\n", "adr-007-b.md": "# B\n", "ADR-005-c.md": "# C\n", "20201016-d.md": "# D\n"})
	now := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	file, err := NewRecord(dir, KindDecision, "Use Kafka for events!", NewOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(file) != "0008-use-kafka-for-events.md" {
		t.Errorf("file = %s, want 0008-use-kafka-for-events.md", file)
	}
	data, _ := os.ReadFile(file)
	r := Parse(nil, filepath.Base(file), data)
	if r.ID != "ADR-0008" || r.Title != "Use Kafka for events!" || r.Status != StatusProposed || r.Date.String() != "2025-03-04" || len(r.Problems) != 0 {
		t.Errorf("new record = %+v", r)
	}
	var headings []string
	for _, s := range r.Sections {
		headings = append(headings, s.Heading)
	}
	if got := strings.Join(headings, "|"); got != "Why|What|Risks|Mitigations|Cost|Tradeoffs|Why now|How we will know" {
		t.Errorf("sections = %s", got)
	}
	if !strings.Contains(string(data), "<!-- The problem") {
		t.Error("guidance should be HTML comments")
	}

	for kind, want := range map[Kind]string{KindValue: "What we value|Why|How we uphold it|What it costs", KindProcess: "Why|Values it protects|How we do it|When it applies"} {
		sub := filepath.Join(dir, "kinds", string(kind))
		file, err := NewRecord(sub, kind, "Availability", NewOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(file)
		r := Parse(nil, "kinds/"+string(kind)+"/"+filepath.Base(file), data)
		headings = nil
		for _, s := range r.Sections {
			headings = append(headings, s.Heading)
		}
		if r.Kind != kind || strings.Join(headings, "|") != want || !strings.HasPrefix(filepath.Base(file), "0001-") {
			t.Errorf("%s: kind %s, sections %q, file %s", kind, r.Kind, headings, file)
		}
	}
	if _, err := NewRecord(dir, "memo", "x", NewOptions{}); err == nil {
		t.Error("unknown kind should fail")
	}
}

func TestNewRecordSupersedes(t *testing.T) {
	dir := t.TempDir()
	native := "---\n# keep this comment\nid: ADR-0001\nstatus: accepted # was proposed\nnav_order: 3\nsuperseded_by: []\n---\n# Old native\n\nBody.\n"
	nygard := "# 2. Old Nygard\n\nDate: 2019-01-01\n\n## Status\n\nAccepted\n\n## Context\n\nStuff.\n"
	madr := "# Old MADR\n\n* Status: accepted\n* Date: 2020-01-01\n\n## Context\n\nX.\n"
	writeFiles(t, dir, map[string]string{"0001-old-native.md": native, "0002-old-nygard.md": nygard, "0003-old-madr.md": madr})
	now := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)

	for i, ref := range []string{"ADR-0001", "ADR-2", "0003-old-madr.md"} {
		file, err := NewRecord(dir, KindDecision, "New "+ref, NewOptions{Now: now, Supersedes: ref})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(file), "000"+string(rune('4'+i))) {
			t.Errorf("file %s", file)
		}
	}
	repo := &Repo{Name: "x", Root: dir, Dirs: []string{"."}, Config: DefaultConfig()}
	c := Load([]*Repo{repo})
	for _, pair := range [][2]string{{"ADR-0001", "ADR-0004"}, {"ADR-0002", "ADR-0005"}, {"ADR-0003", "ADR-0006"}} {
		old, nw := c.ByKey("x:"+pair[0]), c.ByKey("x:"+pair[1])
		if old == nil || nw == nil {
			t.Fatalf("missing %v", pair)
		}
		if old.Status != StatusSuperseded {
			t.Errorf("%s status = %s (%q)", pair[0], old.Status, old.StatusRaw)
		}
		if got := c.SupersededBy(old); len(got) != 1 || got[0] != nw {
			t.Errorf("%s superseded by %v", pair[0], paths(got))
		}
		if !c.says(nw, old) {
			t.Errorf("%s should say it supersedes %s", pair[1], pair[0])
		}
		if len(old.Problems) != 0 {
			t.Errorf("%s problems %v", pair[0], old.Problems)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "0001-old-native.md"))
	for _, keep := range []string{"# keep this comment", "nav_order: 3", "status: superseded # was proposed", "superseded_by: [ADR-0004]", "Body."} {
		if !strings.Contains(string(data), keep) {
			t.Errorf("native record lost %q:\n%s", keep, data)
		}
	}
	data, _ = os.ReadFile(filepath.Join(dir, "0002-old-nygard.md"))
	if !strings.Contains(string(data), "## Status\n\nSuperseded by [New ADR-2](0005-new-adr-2.md)\n\n## Context") {
		t.Errorf("nygard record:\n%s", data)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "0003-old-madr.md"))
	if !strings.Contains(string(data), "* Status: superseded by [New 0003-old-madr.md](0006-new-0003-old-madr-md.md)\n* Date: 2020-01-01") {
		t.Errorf("madr record:\n%s", data)
	}
	if _, err := NewRecord(dir, KindDecision, "Nope", NewOptions{Supersedes: "ADR-0099"}); err == nil {
		t.Error("superseding a missing record should fail")
	}
}

func TestNewRecordSupersedesKeepsBOMLineEndingsAndComments(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "0001-old.md")
	orig := "\ufeff---\r\nid: ADR-0001\r\ntitle: Keep me\r\nsuperseded_by: [ADR-0009] # earlier\r\ntags: [a]\r\n---\r\n# Keep me\r\n"
	if err := os.WriteFile(old, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRecord(dir, KindDecision, "New", NewOptions{Supersedes: "ADR-0001"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeff---\r\nid: ADR-0001\r\ntitle: Keep me\r\nsuperseded_by: [ADR-0009, ADR-0002] # earlier\r\ntags: [a]\r\nstatus: superseded\r\n---\r\n# Keep me\r\n"
	if string(got) != want {
		t.Errorf("old record:\n%q\nwant\n%q", got, want)
	}
	r := Parse(nil, "0001-old.md", got)
	if r.Title != "Keep me" || r.Status != StatusSuperseded || len(r.Tags) != 1 || len(r.Problems) != 0 {
		t.Errorf("re-parsed: title %q status %q tags %v problems %v", r.Title, r.Status, r.Tags, r.Problems)
	}
}

func TestNewRecordSupersedesNygardKeepsOtherStatusLines(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "0001-old.md")
	if err := os.WriteFile(old, []byte("# 1. Old\n\n## Status\n\nAccepted\nAmended by [3. X](0003-x.md)\n\n## Context\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRecord(dir, KindDecision, "New", NewOptions{Supersedes: "ADR-0001"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(old)
	if want := "# 1. Old\n\n## Status\n\nSuperseded by [New](0002-new.md)\nAmended by [3. X](0003-x.md)\n\n## Context\n"; string(got) != want {
		t.Errorf("old record:\n%s\nwant\n%s", got, want)
	}
}
