package check

import (
	"cmp"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/backstory-dev/backstory/content"
)

// govern finds the decisions of this repository that govern each changed
// file that is still there.
func (e *evaluation) govern() {
	if e.governs == nil {
		return
	}
	e.v.Governing = make([]Governance, 0, len(e.files))
	// Every file's list is a window on one array, and files side by side
	// with the same decisions share one window, which later steps also
	// recognise as the same.
	all := make([]*content.Record, 0, 4*len(e.files))
	var prev []*content.Record
	for _, f := range e.files {
		if f.Status == "removed" {
			continue
		}
		start := len(all)
		all = e.governs.AppendGoverningFile(all, e.repo, f.Path)
		rs := all[start:len(all):len(all)]
		if len(rs) == 0 {
			continue
		}
		if slices.Equal(rs, prev) {
			all, rs = all[:start], prev
		}
		prev = rs
		e.v.Governing = append(e.v.Governing, Governance{Path: f.Path, Records: rs, Line: firstAddedLine(f.Patch)})
	}
	if len(e.v.Governing) == 0 {
		e.v.Governing = nil
	}
}

// flagged says whether a governing decision needs the author's attention:
// it no longer holds.
func flagged(r *content.Record) bool {
	return r.Status == content.StatusSuperseded || r.Status == content.StatusDeprecated
}

// firstAddedLine is the line, in the new file, of the first line a unified
// diff adds; without one, where the first hunk starts; without a patch, 1.
func firstAddedLine(patch string) int {
	first, line, inHunk := 0, 0, false
	for rest := patch; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		if strings.HasPrefix(l, "@@") {
			start := hunkStart(l)
			if first == 0 {
				first = start
			}
			line, inHunk = start, true
			continue
		}
		if !inHunk {
			continue
		}
		switch {
		case strings.HasPrefix(l, "+"):
			return max(line, 1)
		case strings.HasPrefix(l, "-"), strings.HasPrefix(l, `\`):
		default: // context, or an empty context line with its space trimmed
			line++
		}
	}
	return max(first, 1)
}

// hunkStart reads c from "@@ -a,b +c,d @@".
func hunkStart(header string) int {
	i := strings.Index(header, " +")
	if i < 0 {
		return 0
	}
	s := header[i+2:]
	end := strings.IndexAny(s, ", @")
	if end < 0 {
		end = len(s)
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return n
}

// SequenceFolder is the folder whose numbering a record takes part in: the
// folder of its file, or, for one folder per record (slug/README.md), the
// folder that holds the slug folders.
func SequenceFolder(p string) string {
	if isFolderRecord(p) {
		return path.Dir(parentDir(p))
	}
	return path.Dir(p)
}

func isFolderRecord(p string) bool {
	base := strings.ToLower(path.Base(p))
	return (base == "readme.md" || base == "index.md") && path.Dir(p) != "."
}

func parentDir(p string) string { return path.Dir(p) }

// NumberedRecords lists the numbered records among those a pull request
// adds, as the App stores them to catch collisions between open pull
// requests.
func NumberedRecords(pr int, records []*content.Record) []Numbered {
	var out []Numbered
	for _, r := range records {
		if r.Number > 0 {
			out = append(out, Numbered{Folder: SequenceFolder(r.Path), Number: r.Number, Path: r.Path, PR: pr})
		}
	}
	slices.SortFunc(out, func(a, b Numbered) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// collide finds the records this pull request adds whose number is taken.
func (e *evaluation) collide() {
	pr := e.in.PR
	if len(pr.Records) == 0 {
		return
	}
	gone := map[string]bool{} // paths the pull request removes or renames away
	for _, f := range e.files {
		switch {
		case f.Status == "removed":
			gone[f.Path] = true
		case f.PreviousPath != "" && f.PreviousPath != f.Path && f.Status != "copied":
			gone[f.PreviousPath] = true
		}
	}
	var branch []*content.Record
	if e.corpus != nil {
		branch = e.corpus.InRepo(e.repo)
	}
	onBranch := make(map[string]bool, len(branch))
	for _, r := range branch {
		onBranch[r.Path] = true
	}
	var added []*content.Record
	folders := map[string]bool{}
	for _, r := range pr.Records {
		if r.Number > 0 && !onBranch[r.Path] {
			added = append(added, r)
			folders[SequenceFolder(r.Path)] = true
		}
	}
	if len(added) == 0 {
		return
	}
	slices.SortFunc(added, func(a, b *content.Record) int { return cmp.Compare(a.Path, b.Path) })

	taken := map[string]map[int][]Taken{} // by folder, then number
	highest := map[string]int{}
	take := func(folder string, n int, t Taken) {
		if !folders[folder] {
			return
		}
		if taken[folder] == nil {
			taken[folder] = map[int][]Taken{}
		}
		taken[folder][n] = append(taken[folder][n], t)
		highest[folder] = max(highest[folder], n)
	}
	for _, r := range branch {
		if r.Number > 0 && !gone[r.Path] {
			take(SequenceFolder(r.Path), r.Number, Taken{Path: r.Path})
		}
	}
	others := append([]Numbered(nil), e.in.OpenPRRecords...)
	slices.SortStableFunc(others, func(a, b Numbered) int { return cmp.Or(cmp.Compare(a.PR, b.PR), cmp.Compare(a.Path, b.Path)) })
	for _, o := range others {
		if o.PR == pr.Number || o.Number <= 0 || onBranch[o.Path] {
			continue
		}
		folder := o.Folder
		if o.Path != "" {
			folder = SequenceFolder(o.Path)
		}
		take(folder, o.Number, Taken{Path: o.Path, PR: o.PR})
	}
	for _, r := range pr.Records {
		if r.Number > 0 {
			highest[SequenceFolder(r.Path)] = max(highest[SequenceFolder(r.Path)], r.Number)
		}
	}

	kept := map[string]map[int]string{} // numbers this pull request keeps, by folder
	for _, r := range added {
		folder := SequenceFolder(r.Path)
		var by []Taken
		for _, t := range taken[folder][r.Number] {
			if t.Path != r.Path {
				by = append(by, t)
			}
		}
		if earlier, ok := kept[folder][r.Number]; ok {
			by = append(by, Taken{Path: earlier, Here: true})
		}
		if len(by) == 0 {
			if kept[folder] == nil {
				kept[folder] = map[int]string{}
			}
			kept[folder][r.Number] = r.Path
			continue
		}
		highest[folder]++
		c := Collision{Path: r.Path, Folder: folder, Number: r.Number, TakenBy: by, Next: highest[folder]}
		c.NewPath = renumber(r.Path, r.Number, c.Next)
		if _, fromFrontMatter := r.Lines["id"]; fromFrontMatter {
			if id := renumberID(r.ID, r.Number, c.Next); id != "" {
				c.ID, c.NewID = r.ID, id
			}
		}
		e.v.Collisions = append(e.v.Collisions, c)
	}
}

var fileNumberAt = regexp.MustCompile(`^(?:[A-Za-z]{1,10}[-_ .#]?)?(\d{1,7})(?:\D|$)`)

// renumber gives p with the number its file (or folder) name starts with
// changed from n to next, keeping the zero padding; "" when the name does
// not carry n (the number came from the title).
func renumber(p string, n, next int) string {
	target, inner := p, ""
	if isFolderRecord(p) {
		target, inner = parentDir(p), "/"+path.Base(p)
	}
	dir, base := path.Split(target)
	m := fileNumberAt.FindStringSubmatchIndex(base)
	if m == nil {
		return ""
	}
	if got, _ := strconv.Atoi(base[m[2]:m[3]]); got != n {
		return ""
	}
	return dir + base[:m[2]] + pad(next, m[3]-m[2]) + base[m[3]:] + inner
}

var idNumber = regexp.MustCompile(`(\d+)$`)

// renumberID turns ADR-0012 into ADR-0014; "" when the id does not end in
// n.
func renumberID(id string, n, next int) string {
	m := idNumber.FindStringSubmatchIndex(id)
	if m == nil {
		return ""
	}
	if got, _ := strconv.Atoi(id[m[2]:m[3]]); got != n {
		return ""
	}
	return id[:m[2]] + pad(next, m[3]-m[2])
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
