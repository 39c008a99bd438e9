package check

import (
	"reflect"
	"testing"

	"github.com/backstory-dev/backstory/content"
)

func TestCollisions(t *testing.T) {
	decision := func(path string) *content.Record {
		return record(t, "acme/shop", path, "# A decision\n\nStatus: proposed\n")
	}
	tests := []struct {
		name    string
		records []*content.Record
		files   []File
		open    []Numbered
		want    []Collision
		fixes   []string
	}{
		{
			name:    "a number taken on the default branch",
			records: []*content.Record{decision("docs/decisions/0005-cache-prices.md")},
			want: []Collision{{Path: "docs/decisions/0005-cache-prices.md", Folder: "docs/decisions", Number: 5,
				TakenBy: []Taken{{Path: "docs/decisions/0005-use-kafka.md"}}, Next: 9, NewPath: "docs/decisions/0009-cache-prices.md"}},
			fixes: []string{"git mv docs/decisions/0005-cache-prices.md docs/decisions/0009-cache-prices.md"},
		},
		{
			name:    "a free number",
			records: []*content.Record{decision("docs/decisions/0007-cache-prices.md")},
		},
		{
			name:    "a number another open pull request takes",
			records: []*content.Record{decision("docs/decisions/0009-cache-prices.md")},
			open: []Numbered{
				{Folder: "docs/decisions", Number: 9, Path: "docs/decisions/0009-drop-soap.md", PR: 12},
				{Folder: "docs/decisions", Number: 10, Path: "docs/decisions/0010-x.md", PR: 13},
				{Folder: "docs/decisions", Number: 9, Path: "docs/decisions/0009-cache-prices.md", PR: 7}, // this one
			},
			want: []Collision{{Path: "docs/decisions/0009-cache-prices.md", Folder: "docs/decisions", Number: 9,
				TakenBy: []Taken{{Path: "docs/decisions/0009-drop-soap.md", PR: 12}}, Next: 11, NewPath: "docs/decisions/0011-cache-prices.md"}},
			fixes: []string{"git mv docs/decisions/0009-cache-prices.md docs/decisions/0011-cache-prices.md"},
		},
		{
			name:    "a pull request stacked on another has the same file: no collision",
			records: []*content.Record{decision("docs/decisions/0009-cache-prices.md")},
			open:    []Numbered{{Folder: "docs/decisions", Number: 9, Path: "docs/decisions/0009-cache-prices.md", PR: 12}},
		},
		{
			name:    "another folder's numbers are its own",
			records: []*content.Record{decision("docs/adr/0005-x.md")},
		},
		{
			name:    "renaming a record frees its number",
			records: []*content.Record{decision("docs/decisions/0005-kafka.md")},
			files:   []File{{Path: "docs/decisions/0005-kafka.md", PreviousPath: "docs/decisions/0005-use-kafka.md", Status: "renamed"}},
		},
		{
			name:    "removing a record frees its number",
			records: []*content.Record{decision("docs/decisions/0005-cache-prices.md")},
			files:   []File{{Path: "docs/decisions/0005-use-kafka.md", Status: "removed"}, {Path: "docs/decisions/0005-cache-prices.md", Status: "added"}},
		},
		{
			name:    "changing an existing record is no collision",
			records: []*content.Record{decision("docs/decisions/0005-use-kafka.md")},
		},
		{
			name:    "two records of this pull request with one number: the second moves",
			records: []*content.Record{decision("docs/decisions/0010-b.md"), decision("docs/decisions/0010-a.md")},
			want: []Collision{{Path: "docs/decisions/0010-b.md", Folder: "docs/decisions", Number: 10,
				TakenBy: []Taken{{Path: "docs/decisions/0010-a.md", Here: true}}, Next: 11, NewPath: "docs/decisions/0011-b.md"}},
			fixes: []string{"git mv docs/decisions/0010-b.md docs/decisions/0011-b.md"},
		},
		{
			name: "several collisions get successive numbers, and ids in front matter are named",
			records: []*content.Record{
				record(t, "acme/shop", "docs/decisions/0003-a.md", "---\nid: ADR-0003\n---\n# A\n"),
				decision("docs/decisions/4-b.md"),
			},
			want: []Collision{
				{Path: "docs/decisions/0003-a.md", Folder: "docs/decisions", Number: 3, TakenBy: []Taken{{Path: "docs/decisions/0003-terraform-layout.md"}},
					Next: 9, NewPath: "docs/decisions/0009-a.md", ID: "ADR-0003", NewID: "ADR-0009"},
				{Path: "docs/decisions/4-b.md", Folder: "docs/decisions", Number: 4, TakenBy: []Taken{{Path: "docs/decisions/0004-go-services.md"}},
					Next: 10, NewPath: "docs/decisions/10-b.md"},
			},
			fixes: []string{"git mv docs/decisions/0003-a.md docs/decisions/0009-a.md", "git mv docs/decisions/4-b.md docs/decisions/10-b.md"},
		},
		{
			name:    "one folder per record moves the folder",
			records: []*content.Record{decision("docs/decisions/0002-queues/README.md")},
			want: []Collision{{Path: "docs/decisions/0002-queues/README.md", Folder: "docs/decisions", Number: 2,
				TakenBy: []Taken{{Path: "docs/decisions/0002-use-rabbitmq.md"}}, Next: 9, NewPath: "docs/decisions/0009-queues/README.md"}},
			fixes: []string{"git mv docs/decisions/0002-queues docs/decisions/0009-queues"},
		},
		{
			name:    "a number from the title cannot be fixed by a rename",
			records: []*content.Record{record(t, "acme/shop", "docs/decisions/caching.md", "# 6. Cache prices\n")},
			want: []Collision{{Path: "docs/decisions/caching.md", Folder: "docs/decisions", Number: 6,
				TakenBy: []Taken{{Path: "docs/decisions/0006-retire-soap.md"}}, Next: 9}},
			fixes: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t)
			in.PR.Records, in.OpenPRRecords = tt.records, tt.open
			in.PR.Files = append(in.PR.Files, tt.files...)
			v := Evaluate(in)
			if !reflect.DeepEqual(v.Collisions, tt.want) {
				t.Fatalf("collisions =\n%+v\nwant\n%+v", v.Collisions, tt.want)
			}
			var fixes []string
			for _, c := range v.Collisions {
				fixes = append(fixes, c.Fix())
			}
			if !reflect.DeepEqual(fixes, tt.fixes) {
				t.Errorf("fixes = %q, want %q", fixes, tt.fixes)
			}
			wantConclusion := Success
			if len(tt.want) > 0 {
				wantConclusion = Neutral
			}
			if v.Conclusion != wantConclusion {
				t.Errorf("conclusion %s, want %s", v.Conclusion, wantConclusion)
			}
		})
	}
}

func TestCollisionsFailInEnforceMode(t *testing.T) {
	in := input(t)
	in.Config.Mode = ModeEnforce
	in.PR.Records = []*content.Record{record(t, "acme/shop", "docs/decisions/0005-cache-prices.md", "# Cache prices\n")}
	v := Evaluate(in)
	if v.Conclusion != Failure || v.Title != "Number 5 is already taken in docs/decisions" {
		t.Errorf("conclusion %s, title %q", v.Conclusion, v.Title)
	}
}

func TestNumberedRecordsAndSequenceFolders(t *testing.T) {
	records := []*content.Record{
		record(t, "acme/shop", "docs/decisions/0012-b.md", "# B\n"),
		record(t, "acme/shop", "docs/adr/0003-a/README.md", "# A\n"),
		record(t, "acme/shop", "docs/decisions/notes.md", "# Notes\n"),
	}
	got := NumberedRecords(7, records)
	want := []Numbered{
		{Folder: "docs/adr", Number: 3, Path: "docs/adr/0003-a/README.md", PR: 7},
		{Folder: "docs/decisions", Number: 12, Path: "docs/decisions/0012-b.md", PR: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NumberedRecords = %+v, want %+v", got, want)
	}
	for p, want := range map[string]string{
		"docs/decisions/0001-x.md":        "docs/decisions",
		"docs/decisions/0001-x/README.md": "docs/decisions",
		"docs/decisions/0001-x/index.md":  "docs/decisions",
		"README.md":                       ".",
		"0001-x.md":                       ".",
	} {
		if got := SequenceFolder(p); got != want {
			t.Errorf("SequenceFolder(%q) = %q, want %q", p, got, want)
		}
	}
}
