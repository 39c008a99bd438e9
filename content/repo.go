package content

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigPath is where a repository configures backstory, relative to its root.
const ConfigPath = ".github/backstory.yml"

// RepoConfig is the "records" part of .github/backstory.yml, defaults applied.
//
//	records:
//	  paths: [docs/decisions, docs/values]
//	  id_prefix: ADR
//	  id_digits: 4
type RepoConfig struct {
	// Paths are the record folders relative to the root; empty means
	// "discover the usual folders".
	Paths []string
	// IDPrefix and IDDigits make ids from numbers: "ADR" and 4 give ADR-0012.
	IDPrefix string
	IDDigits int
	// Repository is "owner/repo" on GitHub, for checkouts without a GitHub
	// remote (the top-level key repository:). It names the repository and
	// gives its source links.
	Repository string
}

// DefaultConfig is the configuration used when a repository has none.
func DefaultConfig() RepoConfig { return RepoConfig{IDPrefix: "ADR", IDDigits: 4} }

// FormatIDFor makes the id of record number n of a kind: decisions use the
// configured prefix ("ADR-0012"); other kinds, numbered in their own
// folders, use their kind ("PROCESS-0003") so numbers never collide.
func (c RepoConfig) FormatIDFor(kind Kind, n int) string {
	if kind == KindDecision || kind == "" {
		return c.FormatID(n)
	}
	return RepoConfig{IDPrefix: strings.ToUpper(string(kind)), IDDigits: c.IDDigits}.FormatID(n)
}

// FormatID makes the id of decision number n: "ADR-0012".
func (c RepoConfig) FormatID(n int) string {
	digits := c.IDDigits
	if digits <= 0 {
		digits = 4
	}
	num := strconv.Itoa(n)
	if len(num) < digits {
		num = strings.Repeat("0", digits-len(num)) + num
	}
	if c.IDPrefix == "" {
		return num
	}
	return c.IDPrefix + "-" + num
}

// Repo is one repository (or records folder) given on the command line.
type Repo struct {
	// Name is "owner/repo" (from NAME=PATH, the git remote origin, or the
	// folder's name).
	Name string
	// Root is the absolute path on disk.
	Root string
	// Dirs are the record folders, relative to Root ("." when Root holds
	// records itself). Empty when none was found.
	Dirs []string
	// SourceURL and EditURL prefix a record's path to link to it on GitHub
	// ("https://github.com/owner/repo/blob/main/"); "" when unknown.
	SourceURL string
	EditURL   string
	// Branch is the default branch the URLs point at.
	Branch string
	Config RepoConfig
	// Problems found while opening the repository (an invalid
	// configuration, no record folder).
	Problems []Problem
}

// usualDirs are the record folders looked for when the configuration names
// none, most specific first.
var usualDirs = []string{
	"docs/decisions", "docs/adr", "doc/adr", "docs/adrs", "docs/architecture/decisions",
	"docs/architecture/adr", "docs/architecture", "adr", "adrs", "decisions", "doc/decisions",
	"docs/developer/decision-records", "architecture/decisions", "docs/decision-records",
	"docs/processes", "docs/values", "docs/intents",
}

// OpenRepo opens a repository given as PATH or NAME=PATH and finds its record
// folders. It fails only when PATH is not a readable folder; a bad
// configuration or a repository without records is reported in
// Repo.Problems.
func OpenRepo(arg string) (*Repo, error) {
	name, dir := "", arg
	if _, err := os.Stat(arg); err != nil {
		if n, d, ok := strings.Cut(arg, "="); ok && n != "" {
			name, dir = n, d
		}
	}
	if dir == "" {
		dir = "."
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open repository %s: not a folder (give the repository root or its records folder)", dir)
	}
	r := &Repo{Root: root, Config: DefaultConfig(), Branch: "main"}
	owner, repoName, host, branch := gitRemote(root)
	if branch != "" {
		r.Branch = branch
	}
	r.loadConfig()
	if owner == "" && r.Config.Repository != "" {
		owner, repoName, _ = strings.Cut(r.Config.Repository, "/")
		host = "github.com"
	}
	switch {
	case name != "":
		r.Name = name
	case owner != "":
		r.Name = owner + "/" + repoName
	default:
		r.Name = filepath.Base(root)
	}
	for i := range r.Problems {
		r.Problems[i].Repo = r.Name
	}
	if host == "github.com" && owner != "" {
		base := "https://github.com/" + owner + "/" + repoName
		r.SourceURL = base + "/blob/" + r.Branch + "/"
		r.EditURL = base + "/edit/" + r.Branch + "/"
	}
	r.discover()
	return r, nil
}

// loadConfig reads .github/backstory.yml; on error it keeps the defaults and
// records a Problem naming the line.
func (r *Repo) loadConfig() {
	file := ConfigPath
	data, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(file)))
	if errors.Is(err, os.ErrNotExist) {
		file = ".github/backstory.yaml"
		data, err = os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(file)))
	}
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.configProblem(file, 0, "cannot read the configuration: %v", err)
		}
		return
	}
	cfg, problems := ParseConfig(data)
	for _, p := range problems {
		p.Repo, p.File = r.Name, file
		r.Problems = append(r.Problems, p)
	}
	r.Config = cfg
}

func (r *Repo) configProblem(file string, line int, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Repo: r.Name, File: file, Line: line, Severity: SeverityError, Code: "config", Message: fmt.Sprintf(format, args...)})
}

// ParseConfig reads the "records" part of a .github/backstory.yml. Other
// parts (the check's rules) belong to other packages and are ignored. What
// is invalid is reported with its line, and the default is used instead.
func ParseConfig(data []byte) (RepoConfig, []Problem) {
	cfg := DefaultConfig()
	var problems []Problem
	bad := func(line int, format string, args ...any) {
		problems = append(problems, Problem{Line: line, Severity: SeverityError, Code: "config", Message: fmt.Sprintf(format, args...)})
	}
	data = YAMLLines(data)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := YAMLErrorLine(err, data)
		bad(line, "invalid YAML: %s; using the defaults", msg)
		return cfg, problems
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return cfg, nil // "---" alone, or "~": an empty configuration
	}
	if top.Kind != yaml.MappingNode {
		bad(top.Line, "the configuration must be a mapping of keys; using the defaults")
		return cfg, problems
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if key, v := top.Content[i].Value, top.Content[i+1]; key == "repository" {
			owner, name, ok := strings.Cut(strings.TrimSpace(v.Value), "/")
			if v.Kind != yaml.ScalarNode || !ok || owner == "" || name == "" || strings.Contains(name, "/") {
				bad(v.Line, "repository: expected owner/repo, found %q", v.Value)
				continue
			}
			cfg.Repository = owner + "/" + name
			continue
		}
		if top.Content[i].Value != "records" {
			continue
		}
		rec := top.Content[i+1]
		if rec.Kind != yaml.MappingNode {
			bad(rec.Line, "records: expected keys paths, id_prefix, id_digits")
			continue
		}
		for j := 0; j+1 < len(rec.Content); j += 2 {
			k, v := rec.Content[j], rec.Content[j+1]
			switch k.Value {
			case "paths":
				if v.Kind != yaml.SequenceNode && v.Kind != yaml.ScalarNode {
					bad(v.Line, "records.paths: expected a list of folders")
					continue
				}
				var paths []string
				for _, p := range yamlList(v, false) {
					clean := path.Clean(strings.TrimSuffix(filepath.ToSlash(p), "/"))
					if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
						bad(v.Line, "records.paths: %q must be a folder inside the repository", p)
						continue
					}
					paths = append(paths, clean)
				}
				cfg.Paths = paths
			case "id_prefix":
				if v.Kind != yaml.ScalarNode {
					bad(v.Line, "records.id_prefix: expected a string such as ADR")
					continue
				}
				cfg.IDPrefix = strings.TrimRight(strings.TrimSpace(v.Value), "-")
			case "id_digits":
				n, err := strconv.Atoi(strings.TrimSpace(v.Value))
				if err != nil || n < 1 || n > 9 {
					bad(v.Line, "records.id_digits: expected a number from 1 to 9, found %q", v.Value)
					continue
				}
				cfg.IDDigits = n
			default:
				bad(k.Line, "records: unknown key %q (known: paths, id_prefix, id_digits)", k.Value)
			}
		}
	}
	return cfg, problems
}

// discover sets r.Dirs: the configured folders, else the usual folders that
// exist, else the root itself when it holds markdown records.
func (r *Repo) discover() {
	if len(r.Config.Paths) > 0 {
		for _, p := range r.Config.Paths {
			if fi, err := os.Stat(filepath.Join(r.Root, filepath.FromSlash(p))); err != nil || !fi.IsDir() {
				r.Problems = append(r.Problems, Problem{Repo: r.Name, File: ConfigPath, Severity: SeverityWarning, Code: "config",
					Message: fmt.Sprintf("records.paths: folder %q does not exist", p)})
				continue
			}
			r.Dirs = appendUnique(r.Dirs, p)
		}
		return
	}
	for _, d := range usualDirs {
		fi, err := os.Stat(filepath.Join(r.Root, filepath.FromSlash(d)))
		if err != nil || !fi.IsDir() {
			continue
		}
		nested := false
		for _, have := range r.Dirs {
			if strings.HasPrefix(d+"/", have+"/") || strings.HasPrefix(have+"/", d+"/") {
				nested = true
				break
			}
		}
		if !nested {
			r.Dirs = append(r.Dirs, d)
		}
	}
	if len(r.Dirs) > 0 {
		return
	}
	entries, _ := os.ReadDir(r.Root)
	for _, e := range entries {
		if !e.IsDir() && isRecordFile(e.Name(), true) {
			r.Dirs = []string{"."}
			return
		}
	}
	r.Problems = append(r.Problems, Problem{Repo: r.Name, Severity: SeverityWarning, Code: "no-records",
		Message: fmt.Sprintf("no record folder found in %s (looked for docs/decisions, docs/adr, adr, …; set records.paths in %s)", r.Root, ConfigPath)})
}

// isRecordFile says whether a markdown file is a record. atRoot is true for
// files directly in a record folder, where README.md and index.md describe
// the folder rather than a decision.
func isRecordFile(name string, atRoot bool) bool {
	ext := path.Ext(name)
	if !strings.EqualFold(ext, ".md") {
		return false
	}
	base := strings.ToLower(strings.TrimSuffix(name, ext))
	if strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
		return false
	}
	if atRoot && (base == "readme" || base == "index") {
		return false
	}
	if base == "template" || strings.HasSuffix(base, "-template") || strings.HasSuffix(base, "_template") ||
		strings.HasPrefix(base, "template-") || strings.HasPrefix(base, "template_") || strings.HasSuffix(base, ".template") {
		return false
	}
	switch base {
	case "changelog", "contributing", "license", "licence", "code_of_conduct", "security":
		return false
	}
	return true
}

// skipDir says whether a folder inside a record folder is walked.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules" || name == "vendor"
}

// gitRemote reads the origin remote and the default branch from a checkout's
// .git folder without running git.
func gitRemote(root string) (owner, name, host, branch string) {
	gitDir := filepath.Join(root, ".git")
	fi, err := os.Stat(gitDir)
	if err != nil {
		return
	}
	if !fi.IsDir() {
		// A worktree or submodule: ".git" is a file "gitdir: <path>".
		data, err := os.ReadFile(gitDir)
		if err != nil {
			return
		}
		d, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !ok {
			return
		}
		d = strings.TrimSpace(d)
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		gitDir = d
		if common, err := os.ReadFile(filepath.Join(d, "commondir")); err == nil {
			c := strings.TrimSpace(string(common))
			if !filepath.IsAbs(c) {
				c = filepath.Join(d, c)
			}
			gitDir = c
		}
	}
	if url := originURL(filepath.Join(gitDir, "config")); url != "" {
		host, owner, name = parseRemoteURL(url)
	}
	branch = defaultBranch(gitDir)
	return
}

func originURL(configFile string) string {
	f, err := os.Open(configFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	inOrigin := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			inOrigin = strings.ReplaceAll(line, " ", "") == `[remote"origin"]`
			continue
		}
		if !inOrigin {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "url" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseRemoteURL reads git@github.com:owner/repo.git,
// https://github.com/owner/repo(.git), ssh://git@github.com/owner/repo.git.
func parseRemoteURL(u string) (host, owner, name string) {
	u = strings.TrimSpace(u)
	var rest string
	switch {
	case strings.Contains(u, "://"):
		_, after, _ := strings.Cut(u, "://")
		if at := strings.IndexByte(after, '@'); at >= 0 && at < strings.IndexByte(after+"/", '/') {
			after = after[at+1:]
		}
		host, rest, _ = strings.Cut(after, "/")
		if i := strings.IndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
	case strings.Contains(u, ":"):
		before, after, _ := strings.Cut(u, ":")
		if at := strings.IndexByte(before, '@'); at >= 0 {
			before = before[at+1:]
		}
		host, rest = before, after
	default:
		return "", "", ""
	}
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, "/"), ".git")
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return host, "", ""
	}
	return strings.ToLower(host), parts[len(parts)-2], parts[len(parts)-1]
}

// defaultBranch prefers origin's HEAD (the remote's default branch), then
// the checked-out branch, then "main".
func defaultBranch(gitDir string) string {
	if data, err := os.ReadFile(filepath.Join(gitDir, "refs", "remotes", "origin", "HEAD")); err == nil {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "ref: refs/remotes/origin/"); ok && ref != "" {
			return ref
		}
	}
	if data, err := os.ReadFile(filepath.Join(gitDir, "HEAD")); err == nil {
		if ref, ok := strings.CutPrefix(string(bytes.TrimSpace(data)), "ref: refs/heads/"); ok && ref != "" {
			return ref
		}
	}
	return ""
}

func joinOS(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// MayHoldRecord reports whether the file at p (relative to the repository
// root, forward slashes) could be a record of a repository configured with
// cfg: a markdown file inside one of cfg.Paths or, with none configured, one
// of the usual record folders. The App uses it to fetch only what a corpus
// needs from a remote repository.
func MayHoldRecord(cfg RepoConfig, p string) bool {
	p = path.Clean(p)
	dirs := cfg.Paths
	if len(dirs) == 0 {
		dirs = usualDirs
	}
	inside := false
	for _, d := range dirs {
		if d == "." || strings.HasPrefix(p, d+"/") {
			inside = true
			break
		}
	}
	if !inside {
		return false
	}
	for _, seg := range strings.Split(path.Dir(p), "/") {
		if seg != "." && skipDir(seg) {
			return false
		}
	}
	return isRecordFile(path.Base(p), path.Dir(p) == ".")
}
