package localpr

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/backstory-dev/backstory/app/check"
)

// maxPatch is the largest patch kept for one file; like GitHub, a bigger
// one is left out (its lines get no annotations).
const maxPatch = 1 << 20

// change is one file a pull request changes, with the blob it has at head.
type change struct {
	check.File
	// blob is the file's object id at head; "" when removed.
	blob string
	mode string
}

// diffArgs are shared by both diffs so that git lists the files in the
// same order.
var diffArgs = []string{"--no-color", "--no-ext-diff", "--no-textconv", "-M", "--no-abbrev"}

// changes lists what head changes since base, as GitHub's pull request
// files do: status, line counts, and the patch of added lines.
func (g git) changes(ctx context.Context, base, head string) ([]change, error) {
	out, err := g.run(ctx, append(append([]string{"diff", "--raw", "--numstat", "-z"}, diffArgs...), "--end-of-options", base, head)...)
	if err != nil {
		return nil, err
	}
	files, err := parseRawNumstat(out)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, nil
	}
	out, err = g.run(ctx, append(append([]string{"diff", "-U0"}, diffArgs...), "--end-of-options", base, head)...)
	if err != nil {
		return nil, err
	}
	patches := splitPatches(out)
	if len(patches) != len(files) {
		return nil, fmt.Errorf("git diff listed %d files but gave %d patches", len(files), len(patches))
	}
	for i := range files {
		if len(patches[i]) <= maxPatch {
			files[i].Patch = patches[i]
		}
	}
	return files, nil
}

// statuses maps git's one-letter statuses to GitHub's words.
var statuses = map[byte]string{
	'A': "added", 'D': "removed", 'M': "modified", 'R': "renamed", 'C': "copied", 'T': "changed",
}

// parseRawNumstat reads `git diff --raw --numstat -z`: every file's raw
// record (":<old mode> <new mode> <old id> <new id> <status>\0<path>\0",
// two paths for a rename or copy), then every file's numstat record
// ("<added>\t<deleted>\t<path>\0", or "…\t\0<old>\0<new>\0"), in the same
// order.
func parseRawNumstat(out []byte) ([]change, error) {
	fields := bytes.Split(out, []byte{0})
	if n := len(fields); n > 0 && len(fields[n-1]) == 0 {
		fields = fields[:n-1]
	}
	var files []change
	i := 0
	next := func() (string, error) {
		if i >= len(fields) {
			return "", fmt.Errorf("git diff --raw: output ends early")
		}
		i++
		return string(fields[i-1]), nil
	}
	for i < len(fields) && strings.HasPrefix(string(fields[i]), ":") {
		meta, _ := next()
		parts := strings.Fields(meta[1:])
		if len(parts) != 5 || parts[4] == "" {
			return nil, fmt.Errorf("git diff --raw: unexpected record %q", meta)
		}
		letter := parts[4][0]
		status, ok := statuses[letter]
		if !ok {
			status = "changed"
		}
		var c change
		c.Status, c.mode = status, parts[1]
		if letter != 'D' {
			c.blob = parts[3]
		}
		p, err := next()
		if err != nil {
			return nil, err
		}
		c.Path = p
		if letter == 'R' || letter == 'C' {
			if c.Path, err = next(); err != nil {
				return nil, err
			}
			c.PreviousPath = p
		}
		files = append(files, c)
	}
	for n := range files {
		rec, err := next()
		if err != nil {
			return nil, fmt.Errorf("git diff --numstat: %d files but fewer counts", len(files))
		}
		parts := strings.SplitN(rec, "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("git diff --numstat: unexpected record %q", rec)
		}
		path := parts[2]
		if path == "" { // a rename: the two paths follow
			if _, err := next(); err != nil {
				return nil, err
			}
			if path, err = next(); err != nil {
				return nil, err
			}
		}
		if path != files[n].Path {
			return nil, fmt.Errorf("git diff: counts for %q where %q was expected", path, files[n].Path)
		}
		// Binary files count "-": GitHub counts them as 0.
		files[n].Additions, _ = strconv.Atoi(parts[0])
		files[n].Deletions, _ = strconv.Atoi(parts[1])
	}
	if i != len(fields) {
		return nil, fmt.Errorf("git diff: unexpected output after the counts: %q", fields[i])
	}
	return files, nil
}

// splitPatches cuts `git diff` output into one patch per file, each holding
// only its hunks (from the first "@@"), as GitHub's patch field does.
func splitPatches(out []byte) []string {
	var patches []string
	var cur []byte
	in := false
	flush := func() {
		if in {
			patches = append(patches, string(hunks(cur)))
		}
	}
	for len(out) > 0 {
		line, rest, _ := bytes.Cut(out, []byte{'\n'})
		out = rest
		// Inside a hunk every line starts with ' ', '+', '-' or '\', so a
		// line starting "diff --git " always begins the next file.
		if bytes.HasPrefix(line, []byte("diff --git ")) {
			flush()
			cur, in = nil, true
			continue
		}
		cur = append(append(cur, line...), '\n')
	}
	flush()
	return patches
}

// hunks drops a file's diff header (index, mode, ---/+++ lines).
func hunks(file []byte) []byte {
	if bytes.HasPrefix(file, []byte("@@")) {
		return bytes.TrimSuffix(file, []byte{'\n'})
	}
	i := bytes.Index(file, []byte("\n@@"))
	if i < 0 {
		return nil
	}
	return bytes.TrimSuffix(file[i+1:], []byte{'\n'})
}
