package githubtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the object ids cannot be compared with git's")
	}
}

// TestObjectIDsAreGits compares the fake's blob and tree shas with those
// git computes for the same files.
func TestObjectIDsAreGits(t *testing.T) {
	needGit(t)
	files := map[string]string{
		"README.md":                "# hi\n",
		"a-b.txt":                  "dash sorts before slash\n",
		"a/b.txt":                  "nested\n",
		"a/c/d.md":                 "deeper\n",
		"docs/decisions/0001-x.md": "# 1. X\n",
		"empty":                    "",
		"z.go":                     "package z\n",
	}
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q")
	o := newObjectStore()
	flat := map[string]string{}
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		flat[p] = o.putBlob([]byte(content))
		if got := gitCLI(t, dir, "hash-object", p); got != flat[p] {
			t.Errorf("blob %s: %s, git says %s", p, flat[p], got)
		}
	}
	gitCLI(t, dir, "add", "-A")
	if got, want := o.putTree(flat), gitCLI(t, dir, "write-tree"); got != want {
		t.Errorf("tree %s, git says %s", got, want)
	}
	if got := o.putTree(map[string]string{}); got != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("empty tree %s", got)
	}
}

func TestCommitKeepsUnchangedSHAs(t *testing.T) {
	s := New(t)
	first := s.Commit("acme/r", "main", map[string][]byte{"a/x.txt": []byte("x"), "b/y.txt": []byte("y")})
	second := s.Commit("acme/r", "main", map[string][]byte{"b/y.txt": []byte("y2")})
	s.mu.Lock()
	defer s.mu.Unlock()
	c1, c2 := s.objects.commits[first], s.objects.commits[second]
	if c2.parent != first {
		t.Errorf("parent %s, want %s", c2.parent, first)
	}
	if c1.files["a/x.txt"] != c2.files["a/x.txt"] {
		t.Error("an unchanged file changed sha")
	}
	if c1.files["b/y.txt"] == c2.files["b/y.txt"] {
		t.Error("a changed file kept its sha")
	}
	if s.subtreeSHA(c1, "a") != s.subtreeSHA(c2, "a") || s.subtreeSHA(c1, "b") == s.subtreeSHA(c2, "b") {
		t.Error("tree shas do not follow their content")
	}
}

// TestUnifiedDiffApplies checks the PR patches against git: each patch,
// given file headers, must apply with git apply and give the new file.
func TestUnifiedDiffApplies(t *testing.T) {
	needGit(t)
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
			b.WriteByte('\n')
		}
		return b.String()
	}
	base := lines(40, func(i int) string { return "line " + string(rune('a'+i%26)) + strings.Repeat("!", i/26) })
	tests := []struct {
		name     string
		old, new string
		adds     int
		dels     int
	}{
		{"added file", "", "one\ntwo\n", 2, 0},
		{"removed file", "one\ntwo\n", "", 0, 2},
		{"one line changed", base, strings.Replace(base, "line e\n", "line E\n", 1), 1, 1},
		{"two distant changes", base, strings.Replace(strings.Replace(base, "line b\n", "B\n", 1), "line n!\n", "N\n", 1), 2, 2},
		{"insert at top", base, "new first\n" + base, 1, 0},
		{"append at end", base, base + "tail\n", 1, 0},
		{"no final newline added", "a\nb", "a\nb\n", 1, 1},
		{"no final newline kept", "a\nb", "a\nc", 1, 1},
		{"rewrite", "a\nb\nc\n", "x\ny\n", 2, 3},
		{"repeated lines", "x\nx\nx\ny\nx\n", "x\ny\nx\nx\nx\n", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, adds, dels := unifiedDiff(tt.old, tt.new)
			if adds != tt.adds || dels != tt.dels {
				t.Errorf("+%d -%d, want +%d -%d\n%s", adds, dels, tt.adds, tt.dels, patch)
			}
			if !strings.HasPrefix(patch, "@@ -") {
				t.Errorf("patch does not start with a hunk: %q", patch)
			}
			dir := t.TempDir()
			gitCLI(t, dir, "init", "-q")
			header := "--- /dev/null\n+++ b/f.txt\n"
			if tt.old != "" {
				if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
				header = "--- a/f.txt\n+++ b/f.txt\n"
			}
			if tt.new == "" {
				header = "--- a/f.txt\n+++ /dev/null\n"
			}
			full := "diff --git a/f.txt b/f.txt\n" + header + patch + "\n"
			if tt.old == "" {
				full = "diff --git a/f.txt b/f.txt\nnew file mode 100644\n" + header + patch + "\n"
			}
			if tt.new == "" {
				full = "diff --git a/f.txt b/f.txt\ndeleted file mode 100644\n" + header + patch + "\n"
			}
			if err := os.WriteFile(filepath.Join(dir, "p.diff"), []byte(full), 0o644); err != nil {
				t.Fatal(err)
			}
			gitCLI(t, dir, "apply", "p.diff")
			got, err := os.ReadFile(filepath.Join(dir, "f.txt"))
			if tt.new == "" {
				if err == nil {
					t.Error("the file was not removed")
				}
				return
			}
			if err != nil || string(got) != tt.new {
				t.Errorf("applied patch gives %q, want %q\npatch:\n%s", got, tt.new, patch)
			}
		})
	}
}

func TestDiffCommitsLikeGitHub(t *testing.T) {
	s := New(t, WithNow(func() time.Time { return time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) }))
	s.Commit("acme/r", "main", map[string][]byte{
		"keep.txt": []byte("same\n"), "edit.txt": []byte("a\nb\nc\n"), "gone.txt": []byte("bye\n"),
		"old/name.md": []byte("moved\n"), "bin.dat": []byte("\x00\x01"),
	})
	s.Commit("acme/r", "feature", map[string][]byte{
		"edit.txt": []byte("a\nB\nc\n"), "new.txt": []byte("hello\n"), "new/name.md": []byte("moved\n"), "bin.dat": []byte("\x00\x02"),
	}, "gone.txt", "old/name.md")
	// The base moves on after the branch: GitHub diffs against the merge
	// base, so this change is not the PR's.
	s.Commit("acme/r", "main", map[string][]byte{"later.txt": []byte("later\n")})
	s.mu.Lock()
	r := s.repos["acme/r"]
	changes := s.objects.diffCommits(r.branches["main"], r.branches["feature"])
	s.mu.Unlock()
	var got []string
	for _, c := range changes {
		got = append(got, c.status+" "+c.filename+" "+c.previous)
	}
	want := "modified bin.dat ,modified edit.txt ,removed gone.txt ,added new.txt ,renamed new/name.md old/name.md"
	if strings.Join(got, ",") != want {
		t.Errorf("changes %q\nwant    %q", strings.Join(got, ","), want)
	}
	for _, c := range changes {
		if c.filename == "bin.dat" && (c.patch != "" || !c.binary) {
			t.Errorf("a binary file has a patch %q", c.patch)
		}
		if c.filename == "edit.txt" && c.patch != "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c" {
			t.Errorf("edit.txt patch %q", c.patch)
		}
	}
}
