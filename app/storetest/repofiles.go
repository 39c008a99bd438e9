package storetest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// NewRepoFile returns a file of a repository's default branch holding text,
// with a blob SHA of its own.
func NewRepoFile(path, text string) app.RepoFile {
	return app.RepoFile{Path: path, Blob: fmt.Sprintf("%x", sha1.Sum([]byte(path+"\x00"+text))), Data: []byte(text)}
}

// NewRepoSnapshot returns the snapshot of repo's main branch read at readAt.
func NewRepoSnapshot(repo string, readAt time.Time) app.RepoSnapshot {
	return app.RepoSnapshot{Repository: repo, Installation: 42, Branch: "main", TreeSHA: fmt.Sprintf("%040x", readAt.UnixMicro()), ReadAt: readAt}
}

// saveRepo saves and fails t unless the store's answer is want.
func saveRepo(t *testing.T, s app.Store, want bool, snap app.RepoSnapshot, changed []app.RepoFile, removed ...string) {
	t.Helper()
	saved, err := s.SaveRepoFiles(context.Background(), snap, changed, removed)
	if err != nil {
		t.Fatalf("SaveRepoFiles(%s read at %s): %v", snap.Repository, fmtTime(snap.ReadAt), err)
	}
	if saved != want {
		t.Fatalf("SaveRepoFiles(%s read at %s) = %v, want %v", snap.Repository, fmtTime(snap.ReadAt), saved, want)
	}
}

// sameSnapshot compares a stored snapshot with what it should be, saved
// Complete or not: Complete is never stored.
func sameSnapshot(t *testing.T, what string, got, want app.RepoSnapshot) {
	t.Helper()
	wantTime(t, what+" ReadAt", got.ReadAt, want.ReadAt)
	got.ReadAt = want.ReadAt
	if got.Complete {
		t.Errorf("%s: Complete = true, want false (it is never stored)", what)
	}
	want.Complete = false
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// sameRepo checks what RepoFiles returns for repo: the snapshot, with Files
// counted, and the files in order, byte for byte.
func sameRepo(t *testing.T, what string, s app.Store, repo string, snap app.RepoSnapshot, files ...app.RepoFile) {
	t.Helper()
	gotSnap, got, err := s.RepoFiles(context.Background(), repo)
	if err != nil {
		t.Fatalf("%s: RepoFiles(%s): %v", what, repo, err)
	}
	snap.Files = len(files)
	sameSnapshot(t, what+": snapshot", gotSnap, snap)
	sameFiles(t, what, got, files...)
}

func sameFiles(t *testing.T, what string, got []app.RepoFile, want ...app.RepoFile) {
	t.Helper()
	paths := func(fs []app.RepoFile) []string {
		out := []string{}
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	if got == nil {
		t.Errorf("%s: files = nil, want a non-nil list", what)
	}
	if !slices.Equal(paths(got), paths(want)) {
		t.Fatalf("%s: paths %q, want %q", what, paths(got), paths(want))
	}
	for k, w := range want {
		g := got[k]
		if g.Blob != w.Blob {
			t.Errorf("%s: %s blob %q, want %q", what, w.Path, g.Blob, w.Blob)
		}
		if g.Data == nil {
			t.Errorf("%s: %s data = nil, want a non-nil slice", what, w.Path)
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: %s data = %d bytes %.40q, want %d bytes %.40q", what, w.Path, len(g.Data), g.Data, len(w.Data), w.Data)
		}
	}
}

func repoSnapshots(t *testing.T, s app.Store, repos ...string) map[string]app.RepoSnapshot {
	t.Helper()
	got, err := s.RepoSnapshots(context.Background(), repos)
	if err != nil {
		t.Fatalf("RepoSnapshots(%d repositories): %v", len(repos), err)
	}
	if got == nil {
		t.Errorf("RepoSnapshots(%d repositories) = nil, want a non-nil map", len(repos))
	}
	return got
}

func wantNoRepo(t *testing.T, s app.Store, repo string) {
	t.Helper()
	if snap, files, err := s.RepoFiles(context.Background(), repo); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("RepoFiles(%s) = %+v, %d files, %v; want ErrNotFound", repo, snap, len(files), err)
	}
}

func testRepoFiles(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	wantNoRepo(t, s, "octo-org/hello")
	if got := repoSnapshots(t, s, "octo-org/hello"); len(got) != 0 {
		t.Errorf("RepoSnapshots of an empty store = %v, want none", got)
	}

	readme := NewRepoFile("README.md", "# Hello\n")
	cfg := NewRepoFile("backstory.yml", "records: docs/adr\n")
	adr1 := NewRepoFile("docs/adr/0001-use-go.md", "# Use Go\n")
	dash := NewRepoFile("docs/x-b.md", "dash")
	letter := NewRepoFile("docs/xa.md", "letter")
	snap1 := app.RepoSnapshot{Repository: "Octo-Org/Hello", Installation: 42, Branch: "main", TreeSHA: "tree1", ReadAt: T0}
	saveRepo(t, s, true, snap1, []app.RepoFile{letter, adr1, readme, dash, cfg})
	// Paths are sorted by their bytes: "README" before "backstory", and
	// "x-b" before "xa" (a locale's collation would put them otherwise).
	sameRepo(t, "after the first save", s, "octo-org/HELLO", snap1, readme, cfg, adr1, dash, letter)

	// A later read changes some files, adds one and removes one (and one
	// that was never stored); the others are kept. The snapshot is
	// replaced, the repository's name with it.
	readme2 := NewRepoFile("README.md", "# Hello, again\n")
	adr2 := NewRepoFile("docs/adr/0002-use-sqlite.md", "# Use SQLite\n")
	snap2 := app.RepoSnapshot{Repository: "octo-org/hello", Installation: 43, Branch: "trunk", TreeSHA: "tree2", ReadAt: T0.Add(time.Minute)}
	saveRepo(t, s, true, snap2, []app.RepoFile{readme2, adr2}, "docs/xa.md", "docs/never-stored.md")
	sameRepo(t, "after an incremental save", s, "Octo-Org/Hello", snap2, readme2, cfg, adr1, adr2, dash)

	// A slow reader that read before the stored snapshot changes nothing.
	stale := snap1
	stale.ReadAt, stale.TreeSHA = T0.Add(30*time.Second), "stale"
	saveRepo(t, s, false, stale, []app.RepoFile{NewRepoFile("README.md", "stale"), NewRepoFile("stale.md", "stale")}, "backstory.yml")
	sameRepo(t, "after a stale save", s, "octo-org/hello", snap2, readme2, cfg, adr1, adr2, dash)

	// One read at the same time is not later: it is saved. A TreeSHA may
	// be empty (the branch moved while the files were read).
	same := snap2
	same.TreeSHA = ""
	saveRepo(t, s, true, same, nil, "docs/x-b.md")
	sameRepo(t, "after a save read at the same time", s, "octo-org/hello", same, readme2, cfg, adr1, adr2)

	other := NewRepoSnapshot("octo-org/hello-2", T0.Add(time.Hour))
	otherFile := NewRepoFile("README.md", "the other one")
	saveRepo(t, s, true, other, []app.RepoFile{otherFile})
	empty := NewRepoSnapshot("Octo-Org/Empty", T0)
	saveRepo(t, s, true, empty, nil)
	sameRepo(t, "a repository without files", s, "octo-org/empty", empty)

	got := repoSnapshots(t, s, "OCTO-ORG/HELLO", "octo-org/hello-2", "octo-org/empty", "nobody/none", "octo-org/hell", "octo-org/hello")
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"octo-org/empty", "octo-org/hello", "octo-org/hello-2"}) {
		t.Fatalf("RepoSnapshots keys = %q, want the three stored, lower-cased", keys)
	}
	same.Files, other.Files, empty.Files = 4, 1, 0
	sameSnapshot(t, "RepoSnapshots[octo-org/hello]", got["octo-org/hello"], same)
	sameSnapshot(t, "RepoSnapshots[octo-org/hello-2]", got["octo-org/hello-2"], other)
	sameSnapshot(t, "RepoSnapshots[octo-org/empty]", got["octo-org/empty"], empty)
	if got := repoSnapshots(t, s); len(got) != 0 {
		t.Errorf("RepoSnapshots of no repository = %v, want none", got)
	}

	// DeleteRepo forgets one repository, whatever case names it.
	must(t, s.DeleteRepo(ctx, "OCTO-org/hello"))
	wantNoRepo(t, s, "octo-org/hello")
	if got := repoSnapshots(t, s, "octo-org/hello", "octo-org/hello-2"); len(got) != 1 {
		t.Errorf("RepoSnapshots after DeleteRepo = %d snapshots, want only hello-2's", len(got))
	}
	sameRepo(t, "the other repository after DeleteRepo", s, "octo-org/hello-2", other, otherFile)
	must(t, s.DeleteRepo(ctx, "octo-org/hello")) // nothing left: no error
	must(t, s.DeleteRepo(ctx, "nobody/none"))    // never stored: no error
	must(t, s.DeleteRepo(ctx, "octo-org/hell"))  // a prefix is another repository
	sameRepo(t, "the other repository after deleting its prefix", s, "octo-org/hello-2", other, otherFile)

	// Once deleted, any read is saved, and the old files do not come back.
	again := NewRepoSnapshot("octo-org/hello", T0.Add(-time.Hour))
	saveRepo(t, s, true, again, []app.RepoFile{adr1})
	sameRepo(t, "a deleted repository saved again", s, "octo-org/hello", again, adr1)
}

// testRepoFileRoundTrips: data is bytes, kept byte for byte; texts are
// stored as app.StoredText makes them; nobody shares the store's buffers.
func testRepoFileRoundTrips(t *testing.T, open Open) {
	s := open(t)
	every := make([]byte, 512)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	files := []app.RepoFile{
		{Path: "bin/every-byte", Blob: "b1", Data: every},
		{Path: "bin/nul", Blob: "b2", Data: []byte{0, 0, 0}},
		{Path: "bin/utf-16", Blob: "b3", Data: []byte("\xff\xfeA\x00B\x00")},
		{Path: "empty/nil", Blob: "b4", Data: nil},
		{Path: "empty/none", Blob: "b5", Data: []byte{}},
		{Path: "big.bin", Blob: "b6", Data: big},
		{Path: "docs/ファイル 名 (1).md", Blob: "日本", Data: []byte("# 理由\n\r\n")},
		{Path: `quote"d\back,slash`, Blob: "", Data: []byte("null")},
		{Path: "bad\xffname\x00.md", Blob: "blob\x00\xfe", Data: []byte("x")},
	}
	snap := app.RepoSnapshot{
		Repository:   "Ünïcode-Org/Répo",
		RepositoryID: 1<<62 + 5,
		Installation: 1<<53 + 1,
		Branch:       "feature/ü\x00",
		TreeSHA:      "tree\xff",
		ReadAt:       T0.Add(123456 * time.Microsecond).In(time.FixedZone("CET", 3600)),
	}
	saveRepo(t, s, true, snap, files)

	want := slices.Clone(files)
	for i := range want {
		want[i].Data = bytes.Clone(want[i].Data)
	}
	want[3].Data = []byte{}
	want[8].Path, want[8].Blob = "bad\uFFFDname\uFFFD.md", "blob\uFFFD\uFFFD"
	slices.SortFunc(want, func(a, b app.RepoFile) int { return strings.Compare(a.Path, b.Path) })
	stored := snap
	stored.Branch, stored.TreeSHA = "feature/ü\uFFFD", "tree\uFFFD"
	sameRepo(t, "awkward files", s, "ünïcode-org/répo", stored, want...)
	stored.Files = len(want)
	sameSnapshot(t, "RepoSnapshots of awkward files", repoSnapshots(t, s, "ÜNÏCODE-ORG/RÉPO")["ünïcode-org/répo"], stored)

	// Changing what was saved, or what was returned, changes nothing
	// stored.
	every[0], big[0] = 'X', big[0]+1
	_, got, err := s.RepoFiles(context.Background(), "ünïcode-org/répo")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if len(f.Data) > 0 {
			f.Data[0]++
		}
	}
	sameRepo(t, "awkward files after changing buffers", s, "ünïcode-org/répo", stored, want...)

	// A removed path is cleaned as a saved one is: the awkward name
	// removes the file stored under its cleaned name.
	later := snap
	later.ReadAt = snap.ReadAt.Add(time.Microsecond)
	saveRepo(t, s, true, later, nil, "bad\xffname\x00.md")
	stored.ReadAt = later.ReadAt
	want = slices.DeleteFunc(want, func(f app.RepoFile) bool { return f.Path == "bad\uFFFDname\uFFFD.md" })
	sameRepo(t, "after removing the awkward name", s, "ünïcode-org/répo", stored, want...)
}

// testRepoFilesArguments: a save that cannot be stored as asked is refused
// whole.
func testRepoFilesArguments(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	good := NewRepoSnapshot("octo-org/hello", T0)
	a := NewRepoFile("a.md", "a")
	saveRepo(t, s, true, good, []app.RepoFile{a})

	later := NewRepoSnapshot("octo-org/hello", T0.Add(time.Hour))
	noRepo, noTime, complete := later, later, later
	noRepo.Repository, noTime.ReadAt, complete.Complete = "", time.Time{}, true
	for _, tc := range []struct {
		name    string
		snap    app.RepoSnapshot
		changed []app.RepoFile
		removed []string
	}{
		{"no repository", noRepo, []app.RepoFile{NewRepoFile("b.md", "b")}, nil},
		{"no read time", noTime, []app.RepoFile{NewRepoFile("b.md", "b")}, nil},
		{"a file without a path", later, []app.RepoFile{NewRepoFile("b.md", "b"), NewRepoFile("", "c")}, nil},
		{"a path changed twice", later, []app.RepoFile{NewRepoFile("b.md", "b"), NewRepoFile("b.md", "c")}, nil},
		{"a path twice once stored", later, []app.RepoFile{NewRepoFile("b\xff.md", "b"), NewRepoFile("b\xfe.md", "c")}, nil},
		{"a path changed and removed", later, []app.RepoFile{NewRepoFile("b.md", "b")}, []string{"a.md", "b.md"}},
		{"a path changed twice in a Complete save", complete, []app.RepoFile{NewRepoFile("b.md", "b"), NewRepoFile("b.md", "c")}, nil},
	} {
		if ok, err := s.SaveRepoFiles(ctx, tc.snap, tc.changed, tc.removed); err == nil || ok {
			t.Errorf("SaveRepoFiles with %s = %v, %v; want an error", tc.name, ok, err)
		}
	}
	sameRepo(t, "after refused saves", s, "octo-org/hello", good, a)
}

// testRepoSnapshotsMany asks for the snapshots of an organisation's
// repositories at once, as a site build does.
func testRepoSnapshotsMany(t *testing.T, open Open) {
	s := open(t)
	const n = 250
	var names []string
	for i := range n {
		name := fmt.Sprintf("Octo-Org/Repo-%03d", i)
		names = append(names, strings.ToLower(name))
		var files []app.RepoFile
		for k := range i % 4 {
			files = append(files, NewRepoFile(fmt.Sprintf("docs/adr/%04d.md", k), name))
		}
		saveRepo(t, s, true, NewRepoSnapshot(name, T0.Add(time.Duration(i)*time.Second)), files)
	}
	asked := append(slices.Clone(names), "nobody/none", "octo-org/repo-999")
	got := repoSnapshots(t, s, asked...)
	if len(got) != n {
		t.Fatalf("RepoSnapshots of %d names = %d snapshots, want %d", len(asked), len(got), n)
	}
	for i, name := range names {
		want := NewRepoSnapshot(fmt.Sprintf("Octo-Org/Repo-%03d", i), T0.Add(time.Duration(i)*time.Second))
		want.Files = i % 4
		sameSnapshot(t, "RepoSnapshots["+name+"]", got[name], want)
	}
}

// testRepoFilesConcurrentSaves: replicas saving one repository at once
// end with the latest read, whatever order they commit in.
func testRepoFilesConcurrentSaves(t *testing.T, open Open) {
	s := open(t)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			snap := NewRepoSnapshot("octo-org/hello", T0.Add(time.Duration(i)*time.Second))
			changed := []app.RepoFile{NewRepoFile("state.txt", fmt.Sprint(i)), NewRepoFile(fmt.Sprintf("only-%02d.txt", i), "")}
			if _, err := s.SaveRepoFiles(context.Background(), snap, changed, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap, files, err := s.RepoFiles(context.Background(), "octo-org/hello")
	if err != nil {
		t.Fatal(err)
	}
	want := NewRepoSnapshot("octo-org/hello", T0.Add((n-1)*time.Second))
	want.Files = len(files)
	sameSnapshot(t, "snapshot after concurrent saves", snap, want)
	i := slices.IndexFunc(files, func(f app.RepoFile) bool { return f.Path == "state.txt" })
	if i < 0 || string(files[i].Data) != fmt.Sprint(n-1) {
		t.Errorf("state.txt after concurrent saves: %v, want the latest read's", files)
	}
	if !slices.ContainsFunc(files, func(f app.RepoFile) bool { return f.Path == fmt.Sprintf("only-%02d.txt", n-1) }) {
		t.Errorf("files after concurrent saves lack the latest read's own file")
	}
}

// testRepoFilesComplete: a Complete save replaces the repository's whole
// file set in one save, and no other repository's.
func testRepoFilesComplete(t *testing.T, open Open) {
	s := open(t)
	a, b, c, d := NewRepoFile("a.md", "a"), NewRepoFile("b.md", "b"), NewRepoFile("c.md", "c"), NewRepoFile("docs/d.md", "d")
	snap1 := NewRepoSnapshot("Octo-Org/Hello", T0)
	saveRepo(t, s, true, snap1, []app.RepoFile{a, b, c, d})
	// Repositories whose names share a prefix, or differ only in case from
	// one another's, keep their files.
	hell := NewRepoSnapshot("octo-org/hell", T0)
	hello2 := NewRepoSnapshot("octo-org/hello-2", T0)
	saveRepo(t, s, true, hell, []app.RepoFile{a})
	saveRepo(t, s, true, hello2, []app.RepoFile{a, b})

	// Files not listed are gone, listed ones are upserted (changed, kept
	// or new). Removed is ignored, even a path that is also changed; the
	// repository's name compares without case.
	b2, e := NewRepoFile("b.md", "b, again"), NewRepoFile("e.md", "e")
	snap2 := NewRepoSnapshot("octo-org/HELLO", T0.Add(time.Minute))
	snap2.Complete = true
	saveRepo(t, s, true, snap2, []app.RepoFile{e, b2, c}, "c.md", "e.md", "never-stored.md")
	sameRepo(t, "after a complete save", s, "octo-org/hello", snap2, b2, c, e)
	snap2.Files = 3
	sameSnapshot(t, "RepoSnapshots after a complete save", repoSnapshots(t, s, "octo-org/hello")["octo-org/hello"], snap2)

	// A Complete save read before the stored snapshot changes nothing,
	// files included.
	stale := NewRepoSnapshot("octo-org/hello", T0.Add(30*time.Second))
	stale.Complete = true
	saveRepo(t, s, false, stale, []app.RepoFile{a, NewRepoFile("stale.md", "stale")})
	sameRepo(t, "after a stale complete save", s, "octo-org/hello", snap2, b2, c, e)

	// With no files, a Complete save empties the repository's files and
	// keeps its snapshot.
	none := NewRepoSnapshot("octo-org/hello", T0.Add(2*time.Minute))
	none.Complete = true
	saveRepo(t, s, true, none, nil)
	sameRepo(t, "after a complete save without files", s, "octo-org/hello", none)
	none.Files = 0
	sameSnapshot(t, "RepoSnapshots after a complete save without files", repoSnapshots(t, s, "octo-org/hello")["octo-org/hello"], none)

	// An incremental save after it adds to what is left.
	later := NewRepoSnapshot("octo-org/hello", T0.Add(3*time.Minute))
	saveRepo(t, s, true, later, []app.RepoFile{d})
	sameRepo(t, "an incremental save after a complete one", s, "octo-org/hello", later, d)

	sameRepo(t, "the repository named by a prefix", s, "octo-org/hell", hell, a)
	sameRepo(t, "another repository", s, "octo-org/hello-2", hello2, a, b)
}

// testRepoFilesCompleteAfterAnotherReplica is the interleaving a Complete
// save is for: replica B computes its save from the stored files, replica
// A saves a newer tree in between, then B saves, read later still. B's
// save leaves exactly B's files, none of A's tree behind.
func testRepoFilesCompleteAfterAnotherReplica(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	a, b, c := NewRepoFile("a.md", "a"), NewRepoFile("b.md", "b"), NewRepoFile("c.md", "c")
	saveRepo(t, s, true, NewRepoSnapshot("octo-org/hello", T0), []app.RepoFile{a, b, c})

	// B reads the stored files.
	_, seenByB, err := s.RepoFiles(ctx, "octo-org/hello")
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "what B reads", seenByB, a, b, c)

	// A saves a newer tree, incrementally: a changed, b removed, x added.
	a2, x := NewRepoFile("a.md", "a from A's tree"), NewRepoFile("x.md", "only in A's tree")
	byA := NewRepoSnapshot("octo-org/hello", T0.Add(time.Minute))
	saveRepo(t, s, true, byA, []app.RepoFile{a2, x}, "b.md")
	sameRepo(t, "after A's save", s, "octo-org/hello", byA, a2, c, x)

	// B read its tree from GitHub later than A did: of what it read from
	// the store, it keeps b and c, changes a and adds y. It knows nothing
	// of x.
	a3, y := NewRepoFile("a.md", "a from B's tree"), NewRepoFile("y.md", "only in B's tree")
	byB := NewRepoSnapshot("octo-org/hello", T0.Add(2*time.Minute))
	byB.Complete = true
	saveRepo(t, s, true, byB, []app.RepoFile{a3, seenByB[1], seenByB[2], y})
	sameRepo(t, "after B's complete save", s, "octo-org/hello", byB, a3, b, c, y)
}

// testRepositoryID: a snapshot's RepositoryID is stored with it, any
// int64, and replaced with it by a later save (0, unknown, included),
// never by a stale one.
func testRepositoryID(t *testing.T, open Open) {
	s := open(t)
	a := NewRepoFile("a.md", "a")
	first := NewRepoSnapshot("octo-org/hello", T0)
	first.RepositoryID = 1296269
	saveRepo(t, s, true, first, []app.RepoFile{a})
	sameRepo(t, "the first save", s, "octo-org/hello", first, a)
	first.Files = 1
	sameSnapshot(t, "RepoSnapshots after the first save", repoSnapshots(t, s, "octo-org/hello")["octo-org/hello"], first)

	// The repository was deleted and created again under the same name.
	again := NewRepoSnapshot("Octo-Org/Hello", T0.Add(time.Minute))
	again.RepositoryID, again.Complete = 1<<62+7, true
	saveRepo(t, s, true, again, nil)
	sameRepo(t, "a later save with another id", s, "octo-org/hello", again)

	stale := NewRepoSnapshot("octo-org/hello", T0.Add(30*time.Second))
	stale.RepositoryID = 1296269
	saveRepo(t, s, false, stale, []app.RepoFile{a})
	sameRepo(t, "after a stale save with the old id", s, "octo-org/hello", again)

	unknown := NewRepoSnapshot("octo-org/hello", T0.Add(2*time.Minute))
	saveRepo(t, s, true, unknown, []app.RepoFile{a})
	sameRepo(t, "a later save with no id", s, "octo-org/hello", unknown, a)
	unknown.Files = 1
	sameSnapshot(t, "RepoSnapshots after a save with no id", repoSnapshots(t, s, "octo-org/hello")["octo-org/hello"], unknown)
}

// testRepoFilesConcurrentCompleteSaves: replicas saving their complete
// file sets of one repository at once leave exactly the latest read's,
// whatever order they commit in.
func testRepoFilesConcurrentCompleteSaves(t *testing.T, open Open) {
	s := open(t)
	saveRepo(t, s, true, NewRepoSnapshot("octo-org/hello", T0.Add(-time.Hour)), []app.RepoFile{NewRepoFile("old.txt", "")})
	const n = 12
	// Reads in no particular order, so that some saves are stale and some
	// replace an earlier one's files, whatever order the replicas start in.
	order := rand.New(rand.NewPCG(5, 6)).Perm(n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, i := range order {
		wg.Go(func() {
			snap := NewRepoSnapshot("octo-org/hello", T0.Add(time.Duration(i)*time.Second))
			snap.Complete = true
			changed := []app.RepoFile{NewRepoFile("state.txt", fmt.Sprint(i)), NewRepoFile(fmt.Sprintf("only-%02d.txt", i), "")}
			if _, err := s.SaveRepoFiles(context.Background(), snap, changed, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last := NewRepoSnapshot("octo-org/hello", T0.Add((n-1)*time.Second))
	sameRepo(t, "after concurrent complete saves", s, "octo-org/hello", last,
		NewRepoFile(fmt.Sprintf("only-%02d.txt", n-1), ""), NewRepoFile("state.txt", fmt.Sprint(n-1)))
}
