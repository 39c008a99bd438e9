package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// NewIntent returns the intent of a pull request merged at merged, with a
// little of everything in it.
func NewIntent(repo string, pr int, merged time.Time) app.Intent {
	return app.Intent{
		Repository: repo,
		PR:         pr,
		Title:      fmt.Sprintf("Batch the pricing calls (#%d)", pr),
		Author:     "alice",
		URL:        fmt.Sprintf("https://github.com/%s/pull/%d", repo, pr),
		MergedAt:   merged,
		MergeSHA:   fmt.Sprintf("%040x", pr),
		Why:        "Carts time out because pricing calls run one by one.",
		Records:    []string{repo + ":ADR-0012"},
		Paths:      []string{"pricing/batch.go", "docs/adr/0012-batch-pricing.md"},
	}
}

func saveIntents(t *testing.T, s app.Store, is ...app.Intent) {
	t.Helper()
	for _, i := range is {
		if err := s.SaveIntent(context.Background(), i); err != nil {
			t.Fatalf("SaveIntent(%s#%d): %v", i.Repository, i.PR, err)
		}
	}
}

func intents(t *testing.T, s app.Store, repos ...string) []app.Intent {
	t.Helper()
	got, err := s.Intents(context.Background(), repos)
	if err != nil {
		t.Fatalf("Intents(%q): %v", repos, err)
	}
	if got == nil {
		t.Errorf("Intents(%q) = nil, want a non-nil list", repos)
	}
	return got
}

// sameIntents compares what Intents returned with what it should have,
// field by field, in order.
func sameIntents(t *testing.T, what string, got []app.Intent, want ...app.Intent) {
	t.Helper()
	brief := func(is []app.Intent) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, fmt.Sprintf("%s#%d", i.Repository, i.PR))
		}
		return out
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %q, want %q", what, brief(got), brief(want))
	}
	for k := range want {
		g, w := got[k], want[k]
		if g.Repository != w.Repository || g.PR != w.PR {
			t.Fatalf("%s: got %q, want %q", what, brief(got), brief(want))
		}
		name := fmt.Sprintf("%s: %s#%d", what, w.Repository, w.PR)
		wantTime(t, name+" MergedAt", g.MergedAt, w.MergedAt)
		for _, f := range []struct{ field, got, want string }{
			{"Title", g.Title, w.Title}, {"Author", g.Author, w.Author}, {"URL", g.URL, w.URL},
			{"MergeSHA", g.MergeSHA, w.MergeSHA}, {"Why", g.Why, w.Why},
		} {
			if f.got != f.want {
				t.Errorf("%s %s = %d bytes %.60q, want %d bytes %.60q", name, f.field, len(f.got), f.got, len(f.want), f.want)
			}
		}
		for _, f := range []struct {
			field     string
			got, want []string
		}{{"Records", g.Records, w.Records}, {"Paths", g.Paths, w.Paths}} {
			if f.got == nil {
				t.Errorf("%s %s = nil, want a non-nil list", name, f.field)
			}
			if !slices.Equal(f.got, f.want) {
				t.Errorf("%s %s = %d items %.200q, want %d items %.200q", name, f.field, len(f.got), f.got, len(f.want), f.want)
			}
		}
	}
}

func testIntents(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	sameIntents(t, "Intents of an empty store", intents(t, s, "octo-org/alpha"))

	a1 := NewIntent("octo-org/alpha", 1, T0)
	a2 := NewIntent("octo-org/alpha", 2, T0)
	a3 := NewIntent("Octo-Org/Alpha", 3, T0.Add(2*time.Hour))
	// Byte order would put "Octo-Org/Beta" before "octo-org/alpha";
	// repositories compare without case, in order too.
	b7 := NewIntent("Octo-Org/Beta", 7, T0)
	b5 := NewIntent("octo-org/beta", 5, T0.Add(time.Hour))
	b9 := NewIntent("octo-org/beta", 9, time.Time{}) // no merge time: the oldest
	g1 := NewIntent("other/gamma", 1, T0.Add(-time.Hour))
	longer := NewIntent("octo-org/alpha-2", 1, T0) // "octo-org/alpha" is its prefix
	saveIntents(t, s, a3, b5, g1, a2, b7, longer, b9, a1)

	sameIntents(t, "Intents(alpha, beta)", intents(t, s, "octo-org/alpha", "OCTO-ORG/BETA"), b9, a1, a2, b7, b5, a3)
	sameIntents(t, "Intents(gamma)", intents(t, s, "other/gamma"), g1)
	sameIntents(t, "Intents(GAMMA)", intents(t, s, "Other/GAMMA"), g1)
	sameIntents(t, "Intents of one repository named twice", intents(t, s, "octo-org/alpha", "Octo-Org/Alpha"), a1, a2, a3)
	sameIntents(t, "Intents of no repository", intents(t, s))
	sameIntents(t, "Intents of an empty list", intents(t, s, []string{}...))
	sameIntents(t, "Intents of an unknown repository", intents(t, s, "nobody/none"))
	sameIntents(t, "Intents of a prefix", intents(t, s, "octo-org/alph", "octo-org/"))

	// Names are ordered by their bytes, not by a locale's collation, which
	// would skip the dash and put "xa" first.
	dash, letter := NewIntent("octo-org/x-b", 1, T0), NewIntent("octo-org/xa", 1, T0)
	saveIntents(t, s, letter, dash)
	sameIntents(t, "Intents(xa, x-b)", intents(t, s, "octo-org/xa", "octo-org/x-b"), dash, letter)

	// A redelivered "closed" event captures the PR again: the intent is
	// replaced whole, and keeps the repository's name as last saved.
	again := NewIntent("OCTO-ORG/ALPHA", 1, T0.Add(3*time.Hour))
	again.Title, again.Author, again.URL, again.MergeSHA = "Batch pricing", "bob", "https://github.com/OCTO-ORG/ALPHA/pull/1", strings.Repeat("f", 40)
	again.Why, again.Records, again.Paths = "", nil, []string{"pricing/batch.go"}
	saveIntents(t, s, again)
	again.Records = []string{}
	sameIntents(t, "Intents after a save replaced #1", intents(t, s, "octo-org/alpha"), a2, a3, again)

	// DeleteIntents forgets one repository, whatever case names it.
	must(t, s.DeleteIntents(ctx, "OCTO-org/beta"))
	sameIntents(t, "Intents after deleting beta", intents(t, s, "octo-org/alpha", "octo-org/beta", "octo-org/alpha-2", "other/gamma"),
		g1, a2, longer, a3, again)
	must(t, s.DeleteIntents(ctx, "octo-org/beta"))   // nothing left: no error
	must(t, s.DeleteIntents(ctx, "nobody/none"))     // never stored: no error
	must(t, s.DeleteIntents(ctx, "octo-org/alph"))   // a prefix is another repository
	must(t, s.DeleteIntents(ctx, "octo-org/alpha%")) // not a pattern
	must(t, s.DeleteIntents(ctx, "octo-org/alpha-2"))
	sameIntents(t, "Intents after deleting alpha-2", intents(t, s, "octo-org/alpha", "octo-org/alpha-2", "other/gamma"), g1, a2, a3, again)
	// A repository's intents can be captured again after a delete.
	saveIntents(t, s, b7)
	sameIntents(t, "Intents of beta saved again", intents(t, s, "octo-org/beta"), b7)
}

// testIntentRoundTrips checks that every field comes back as it was saved,
// however large or unusual.
func testIntentRoundTrips(t *testing.T, open Open) {
	s := open(t)
	unit := "Pourquoi — 理由は性能です 🚀 <b>&amp;</b> \"quoted\" \\ back\ttab\r\n\u2028 ``` code ```\n"
	why := "## Why\n\n" + strings.Repeat(unit, (1<<20)/len(unit)) // 1 MB
	var paths []string
	for k := range 3000 {
		paths = append(paths, fmt.Sprintf("src/dir %d/ファイル-%04d.go", k%7, k))
	}
	paths = append(paths[:2990], "", "a,b", "{x}", `quote"d`, `back\slash`, "NULL", "null", " spaced ", "[]", "日本/語.md")
	full := app.Intent{
		Repository: "Ünïcode-Org/Répo",
		PR:         2_147_483_647,
		Title:      "Add “smart” quotes — and 🚀 emoji\t<script>alert(1)</script>",
		Author:     "dependabot[bot]",
		URL:        "https://github.example.com/%C3%9Cn%C3%AFcode-Org/R%C3%A9po/pull/2147483647?x=1&y=2#top",
		MergedAt:   T0.Add(123456 * time.Microsecond).In(time.FixedZone("CET", 3600)),
		MergeSHA:   "0123456789abcdef0123456789abcdef01234567",
		Why:        why,
		Records:    []string{"octo-org/hello:ADR-0012", "Ünïcode-Org/Répo:RFC-7", "", "null", "a\"b\\c"},
		Paths:      paths,
	}
	// What a list saved nil or empty comes back as: empty, not nil. Texts
	// may be empty too.
	bare := app.Intent{Repository: "octo-org/bare", PR: 1, MergedAt: T0, Records: nil, Paths: []string{}}
	oneEmpty := app.Intent{Repository: "octo-org/bare", PR: 2, MergedAt: T0.Add(time.Microsecond), Records: []string{""}, Paths: nil}
	saveIntents(t, s, full, bare, oneEmpty)

	bare.Records, bare.Paths = []string{}, []string{}
	oneEmpty.Paths = []string{}
	sameIntents(t, "Intents(full)", intents(t, s, "ünïcode-org/répo"), full)
	sameIntents(t, "Intents(bare)", intents(t, s, "octo-org/bare"), bare, oneEmpty)

	// The store keeps its own copy: changing what was saved or what was
	// returned changes nothing stored.
	got := intents(t, s, "octo-org/bare")
	got[1].Records[0] = "changed"
	oneEmpty2 := oneEmpty
	oneEmpty2.Records = []string{""}
	sameIntents(t, "Intents after changing a returned list", intents(t, s, "octo-org/bare"), bare, oneEmpty2)
	mine := NewIntent("octo-org/mine", 1, T0)
	saveIntents(t, s, mine)
	mine.Paths[0] = "changed"
	want := NewIntent("octo-org/mine", 1, T0)
	sameIntents(t, "Intents after changing a saved list", intents(t, s, "octo-org/mine"), want)
}

// testIntentAwkwardText saves texts that PostgreSQL text cannot hold: NUL
// and invalid UTF-8 (a PR body is whatever its author pasted). Saving must
// not fail, and every store stores them alike: each NUL, and each run of
// invalid bytes, becomes U+FFFD.
func testIntentAwkwardText(t *testing.T, open Open) {
	s := open(t)
	i := NewIntent("octo-org/hello", 1, T0)
	i.Title = "nul\x00title"
	i.Author = "bad\xffauthor"
	i.Why = "boom: \x00\xff\xfe " + strings.Repeat("é", 10000)
	i.Records = []string{"octo-org/hello:ADR-\x00", "\xc3"}
	i.Paths = []string{"bad\xff\xfename.go", "ok.go"}
	saveIntents(t, s, i)
	want := i
	want.Title = "nul\uFFFDtitle"
	want.Author = "bad\uFFFDauthor"
	want.Why = "boom: \uFFFD\uFFFD " + strings.Repeat("é", 10000)
	want.Records = []string{"octo-org/hello:ADR-\uFFFD", "\uFFFD"}
	want.Paths = []string{"bad\uFFFDname.go", "ok.go"}
	sameIntents(t, "Intents with awkward text", intents(t, s, "octo-org/hello"), want)
}

// testIntentArguments: an intent names its repository and PR.
func testIntentArguments(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	for _, i := range []app.Intent{NewIntent("", 1, T0), NewIntent("o/r", 0, T0), NewIntent("o/r", -1, T0)} {
		if err := s.SaveIntent(ctx, i); err == nil {
			t.Errorf("SaveIntent(%q#%d): no error", i.Repository, i.PR)
		}
	}
	sameIntents(t, "Intents after refused saves", intents(t, s, "", "o/r"))
}
