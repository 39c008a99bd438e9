package content

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// NewOptions tune NewRecord.
type NewOptions struct {
	// Supersedes is a reference (id, number, path) to a record the new one
	// replaces; that record is updated to say so.
	Supersedes string
	// Now is the new record's date; zero means today.
	Now time.Time
	// Repo gives the id pattern (records.id_prefix, id_digits); nil means
	// the defaults.
	Repo *Repo
	// Corpus resolves Supersedes and contributes numbers already taken; nil
	// means the folder's own files are read.
	Corpus *Corpus
}

// templateSections are the sections of a new record by kind, each with the
// guidance shown as an HTML comment (DESIGN.md "Records").
var templateSections = map[Kind][][2]string{
	KindDecision: {
		{"Why", "The problem: what we observe, who cares, what it costs."},
		{"What", "The solution we chose, and what it compromises."},
		{"Risks", "What could go wrong with this choice."},
		{"Mitigations", "How we reduce or watch each risk."},
		{"Cost", "What it costs to put in place, and to keep running."},
		{"Tradeoffs", "The alternatives we considered, and why not them."},
		{"Why now", "What makes this the moment to decide."},
		{"How we will know", "Success measures: what \"right\" looks like when we review this decision. At the review, add a ## Review section: \"Outcome: right\", \"wrong\" or \"mixed\", the date, and what we learned."},
	},
	KindValue: {
		{"What we value", "The value, in a sentence people can repeat."},
		{"Why", "Why it matters to us, and what happened when we ignored it."},
		{"How we uphold it", "The processes and decisions that protect it (link them; they list this value in values:)."},
		{"What it costs", "What we give up to hold this value."},
	},
	KindProcess: {
		{"Why", "The problem this process solves."},
		{"Values it protects", "The values this process upholds; list them in values: above too."},
		{"How we do it", "The steps, who does them, and the tools."},
		{"When it applies", "When to follow it, and when not to."},
	},
	KindIntent: {
		{"Why", "Why this change: the problem, who asked, what it unblocks."},
		{"What", "What changes, and what deliberately does not."},
	},
}

// NewRecord writes a native record of kind titled title into dir (created if
// missing) and returns its path. Its number is one more than the highest
// number in the folder, whatever the files' format; its file name is
// NNNN-slug.md. With opts.Supersedes, the new record lists the old one in
// supersedes and the old one is updated to say superseded by the new one.
// Both writes are atomic.
func NewRecord(dir string, kind Kind, title string, opts NewOptions) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return "", errors.New("new record: the title is empty")
	}
	if _, ok := templateSections[kind]; !ok {
		return "", fmt.Errorf("new record: unknown kind %q (want decision, value, process or intent)", kind)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("new record: %w", err)
	}
	cfg := DefaultConfig()
	if opts.Repo != nil {
		cfg = opts.Repo.Config
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}

	num, err := nextNumberIn(dir, opts.Corpus)
	if err != nil {
		return "", err
	}
	id := cfg.FormatIDFor(kind, num)
	digits := max(cfg.IDDigits, 4)
	slug := slugify(title, false)
	if len(slug) > 60 {
		slug = slug[:60]
		if i := strings.LastIndexByte(slug, '-'); i > 20 {
			slug = slug[:i]
		}
	}
	if slug == "" {
		slug = string(kind)
	}
	name := fmt.Sprintf("%0*d-%s.md", digits, num, slug)
	file := filepath.Join(dir, name)

	var old *Record
	if opts.Supersedes != "" {
		old, err = findRecord(dir, opts.Supersedes, opts)
		if err != nil {
			return "", err
		}
	}

	var b bytes.Buffer
	b.WriteString("---\n")
	writeYAMLKey(&b, "id", id)
	writeYAMLKey(&b, "title", title)
	writeYAMLKey(&b, "kind", string(kind))
	status := "proposed"
	if kind == KindIntent {
		status = "accepted"
	}
	writeYAMLKey(&b, "status", status)
	writeYAMLKey(&b, "date", now.Format("2006-01-02"))
	b.WriteString("deciders: []\ntags: []\n")
	if old != nil {
		fmt.Fprintf(&b, "supersedes: [%s]\n", yamlInline(old.ID))
	}
	if kind != KindValue {
		b.WriteString("values: []\n")
	}
	if kind == KindDecision {
		b.WriteString("governs: []   # path globs this decision governs, e.g. \"services/*/consumer/**\"\n")
		writeYAMLKey(&b, "review_by", now.AddDate(1, 0, 0).Format("2006-01-02"))
	}
	b.WriteString("---\n")
	fmt.Fprintf(&b, "# %s\n", title)
	for _, s := range templateSections[kind] {
		fmt.Fprintf(&b, "\n## %s\n\n<!-- %s -->\n", s[0], s[1])
	}
	if _, err := os.Stat(file); err == nil {
		return "", fmt.Errorf("new record: %s already exists", file)
	}
	if err := writeFileAtomic(file, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("new record: %w", err)
	}
	if old != nil {
		rel, err := filepath.Rel(filepath.Dir(old.Source), file)
		if err != nil {
			rel = name
		}
		if err := markSuperseded(old, id, title, filepath.ToSlash(rel)); err != nil {
			return file, fmt.Errorf("new record %s written, but %s could not be updated: %w", file, old.Source, err)
		}
	}
	return file, nil
}

func writeYAMLKey(b *bytes.Buffer, key, value string) {
	fmt.Fprintf(b, "%s: %s\n", key, yamlInline(value))
}

// yamlInline quotes a scalar only when YAML needs it.
func yamlInline(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// nextNumberIn returns one more than the highest record number in dir (file
// and folder names of any format, and records the corpus knows there).
func nextNumberIn(dir string, c *Corpus) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("new record: %w", err)
	}
	highest := 0
	for _, e := range entries {
		n, _ := numberFromName(strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
		highest = max(highest, n)
	}
	if c != nil {
		abs, _ := filepath.Abs(dir)
		for _, r := range c.Records {
			if r.Source != "" && filepath.Dir(r.Source) == abs {
				highest = max(highest, r.Number)
			}
		}
	}
	return highest + 1, nil
}

// findRecord resolves the record to supersede, in the corpus or among the
// folder's own records.
func findRecord(dir, ref string, opts NewOptions) (*Record, error) {
	c := opts.Corpus
	if c == nil {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		repo := &Repo{Name: filepath.Base(abs), Root: abs, Dirs: []string{"."}, Config: DefaultConfig()}
		if opts.Repo != nil {
			repo.Config = opts.Repo.Config
		}
		c = Load([]*Repo{repo})
	}
	var r *Record
	if len(c.Records) > 0 {
		r = c.Resolve(ref, c.Records[0])
	}
	if r == nil {
		r = c.Resolve(ref, nil)
	}
	if r == nil || r.Source == "" {
		return nil, fmt.Errorf("new record: --supersedes %s: no such record in %s", ref, dir)
	}
	return r, nil
}

// markSuperseded updates the old record in place: native front matter gets
// status: superseded and superseded_by: [NEW-ID] (the rest of the YAML kept
// as written); a MADR status bullet or a Nygard "## Status" section is
// rewritten to "Superseded by [Title](file.md)".
func markSuperseded(old *Record, newID, newTitle, rel string) error {
	data, err := os.ReadFile(old.Source)
	if err != nil {
		return err
	}
	fi, err := os.Stat(old.Source)
	if err != nil {
		return err
	}
	// Keep the file's byte-order mark and line endings, so the change is
	// one line in a diff.
	bom := bytes.HasPrefix(data, []byte("\ufeff"))
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	link := fmt.Sprintf("Superseded by [%s](%s)", newTitle, rel)
	lines := strings.Split(string(data), "\n")
	statusLine := old.Lines["status"] // 1-based, 0 when none
	_, _, closeLine, hasFM := splitFrontMatter(data)

	switch {
	case hasFM && (statusLine == 0 || statusLine < closeLine):
		lines = editFrontMatter(lines, closeLine, newID)
	case statusLine > 0 && statusLine <= len(lines):
		l := lines[statusLine-1]
		trimmed := strings.TrimLeft(l, " \t")
		indent := l[:len(l)-len(trimmed)]
		if marker, rest, ok := cutMetadataKey(trimmed); ok {
			lines[statusLine-1] = indent + marker + rest + ": " + strings.ToLower(link[:1]) + link[1:]
		} else {
			// Nygard: the status line under "## Status" is replaced, as
			// adr-tools does; lines after it ("Amended by …") stay.
			lines[statusLine-1] = indent + link
		}
	default:
		// No status anywhere: add front matter.
		fm := []string{"---", "status: superseded", "superseded_by: [" + yamlInline(newID) + "]", "---"}
		lines = append(fm, lines...)
	}
	out := strings.Join(lines, eol)
	if bom {
		out = "\ufeff" + out
	}
	return writeFileAtomic(old.Source, []byte(out), fi.Mode().Perm())
}

// cutMetadataKey splits "* Status: accepted" into "* " and "Status".
func cutMetadataKey(l string) (marker, key string, ok bool) {
	if strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "+ ") {
		marker, l = l[:2], l[2:]
	}
	k, _, found := strings.Cut(l, ":")
	if !found {
		return "", "", false
	}
	plain := strings.ToLower(strings.Trim(strings.TrimSpace(k), "*_"))
	if metadataKeys[plain] != "status" {
		return "", "", false
	}
	return marker, strings.TrimRight(k, " "), true
}

// editFrontMatter sets status and superseded_by in the YAML text, keeping
// every other line (comments, Jekyll keys, ordering) as it was. closeLine is
// the 1-based line of the closing "---".
func editFrontMatter(lines []string, closeLine int, newID string) []string {
	fm := lines[1 : closeLine-1]
	keyLine := func(key string) int {
		for i, l := range fm {
			if k, _, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == key && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#") {
				return i
			}
		}
		return -1
	}
	var out []string
	if i := keyLine("status"); i >= 0 {
		fm[i] = "status: superseded" + trailingComment(fm[i])
	} else {
		out = append(out, "status: superseded")
	}
	id := yamlInline(newID)
	if i := keyLine("superseded_by"); i >= 0 {
		comment := trailingComment(fm[i])
		_, v, _ := strings.Cut(strings.TrimSuffix(fm[i], comment), ":")
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]"):
			inner := strings.TrimSpace(v[1 : len(v)-1])
			if inner == "" {
				fm[i] = "superseded_by: [" + id + "]" + comment
			} else {
				fm[i] = "superseded_by: [" + inner + ", " + id + "]" + comment
			}
		case v == "":
			// A block list follows: add an item after its last one.
			j := i + 1
			for j < len(fm) && strings.HasPrefix(strings.TrimSpace(fm[j]), "- ") {
				j++
			}
			item := "  - " + id
			if j > i+1 {
				prev := fm[j-1]
				item = prev[:len(prev)-len(strings.TrimLeft(prev, " "))] + "- " + id
			}
			fm = append(fm[:j], append([]string{item}, fm[j:]...)...)
		default:
			fm[i] = "superseded_by: [" + v + ", " + id + "]" + comment
		}
	} else {
		out = append(out, "superseded_by: ["+id+"]")
	}
	res := append([]string{lines[0]}, fm...)
	res = append(res, out...)
	return append(res, lines[closeLine-1:]...)
}

func trailingComment(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		return l[i:]
	}
	return ""
}

// writeFileAtomic writes data beside the target and renames it into place,
// so readers never see half a file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
