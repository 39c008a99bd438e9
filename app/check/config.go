package check

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/content"
)

// The keys of each part of the configuration, in the order messages list
// them.
var (
	checkKeys  = []string{"name", "mode", "default", "intent", "skip", "ignore", "rules"}
	intentKeys = []string{"headings", "min_words"}
	skipKeys   = []string{"labels", "authors", "bots", "drafts"}
	ruleKeys   = []string{"name", "paths", "min_lines", "min_files", "labels", "authors", "need"}
)

// LoadConfig reads the `check:` section of the organisation's
// .github/backstory.yml with the repository's merged over it (mappings
// merged key by key, lists replaced), over DefaultConfig. Either file may
// be absent (Data nil). Nothing stops the evaluation: an unknown key, a
// value of the wrong type, a bad glob, need or mode is a Problem naming the
// file and line and what to write instead, and the broken part keeps what
// was under it (the organisation's value, else the default). A rule with an
// error is left out whole, since without its broken condition it would
// match more than meant. Other top-level keys (records:, repository:) are
// not the check's and are ignored.
func LoadConfig(org, repo ConfigFile) (Config, []content.Problem) {
	cfg := DefaultConfig()
	cfg.Line, cfg.File = map[string]int{}, map[string]string{}
	var problems []content.Problem
	for _, f := range []ConfigFile{org, repo} {
		if f.Data == nil {
			continue
		}
		l := &configLoader{file: f.Name, cfg: &cfg}
		l.load(f.Data)
		problems = append(problems, l.problems...)
	}
	return cfg, append(problems, lintRules(cfg)...)
}

type configLoader struct {
	file     string
	cfg      *Config
	problems []content.Problem
}

func (l *configLoader) problem(line int, sev content.Severity, code, format string, args ...any) {
	l.problems = append(l.problems, content.Problem{File: l.file, Line: line, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (l *configLoader) errorf(line int, code, format string, args ...any) {
	l.problem(line, content.SeverityError, code, format, args...)
}

// set notes where a key was set.
func (l *configLoader) set(key string, line int) {
	l.cfg.Line[key] = line
	l.cfg.File[key] = l.file
}

func (l *configLoader) load(data []byte) {
	data = content.YAMLLines(data)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := content.YAMLErrorLine(err, data)
		l.errorf(line, "config-yaml", "invalid YAML: %s; the check settings of this file are not used until it is fixed", msg)
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	top := deref(doc.Content[0])
	if isNull(top) {
		return
	}
	if top.Kind != yaml.MappingNode {
		l.errorf(top.Line, "config-type", "the file must be a mapping of keys such as check: and records:; its check settings are not used")
		return
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "check" {
			l.check(top.Content[i+1])
		}
	}
}

func (l *configLoader) check(n *yaml.Node) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "config-type", "check: expected a mapping of settings (%s), found %s", strings.Join(checkKeys, ", "), describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "name":
			if s, ok := l.scalar(v, "check.name", "a name such as backstory"); ok {
				if s == "" || strings.ContainsAny(s, "\n\r") {
					l.errorf(v.Line, "config-value", "check.name: write a one-line name such as backstory")
					continue
				}
				l.cfg.Name = s
				l.set("name", v.Line)
			}
		case "mode":
			if s, ok := l.scalar(v, "check.mode", "enforce or advise"); ok {
				m, err := ParseMode(s)
				if err != nil {
					l.errorf(v.Line, "config-value", "check.mode: %v", err)
					continue
				}
				l.cfg.Mode = m
				l.set("mode", v.Line)
			}
		case "default":
			if need, ok := l.need(v, "check.default"); ok {
				l.cfg.Default = need
				l.set("default", v.Line)
			}
		case "intent":
			l.intent(v)
		case "skip":
			l.skip(v)
		case "ignore":
			if globs, ok := l.globs(v, "check.ignore", "it is left out"); ok {
				l.cfg.Ignore = globs
				l.set("ignore", v.Line)
			}
		case "rules":
			l.rules(v)
		default:
			l.unknown(k, "check", checkKeys)
		}
	}
}

func (l *configLoader) intent(n *yaml.Node) {
	if !l.mapping(n, "check.intent", intentKeys) {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "headings":
			list, ok := l.list(v, "check.intent.headings")
			if !ok {
				continue
			}
			if len(list) == 0 {
				l.errorf(v.Line, "config-value", "check.intent.headings: name at least one heading, such as [Why]")
				continue
			}
			l.cfg.Intent.Headings = list
			l.set("intent.headings", v.Line)
		case "min_words":
			if n, ok := l.integer(v, "check.intent.min_words", 0, 10000); ok {
				l.cfg.Intent.MinWords = n
				l.set("intent.min_words", v.Line)
			}
		default:
			l.unknown(k, "check.intent", intentKeys)
		}
	}
}

func (l *configLoader) skip(n *yaml.Node) {
	if !l.mapping(n, "check.skip", skipKeys) {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "labels":
			if list, ok := l.list(v, "check.skip.labels"); ok {
				l.cfg.Skip.Labels = list
				l.set("skip.labels", v.Line)
			}
		case "authors":
			if list, ok := l.list(v, "check.skip.authors"); ok {
				l.cfg.Skip.Authors = list
				l.set("skip.authors", v.Line)
			}
		case "bots":
			if b, ok := l.boolean(v, "check.skip.bots"); ok {
				l.cfg.Skip.Bots = b
				l.set("skip.bots", v.Line)
			}
		case "drafts":
			if b, ok := l.boolean(v, "check.skip.drafts"); ok {
				l.cfg.Skip.Drafts = b
				l.set("skip.drafts", v.Line)
			}
		default:
			l.unknown(k, "check.skip", skipKeys)
		}
	}
}

func (l *configLoader) rules(n *yaml.Node) {
	if isNull(n) {
		l.cfg.Rules = nil
		l.set("rules", n.Line)
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n.Line, "config-type", "check.rules: expected a list of rules, each a mapping such as {paths: [\"services/**\"], need: decision}; found %s", describe(n))
		return
	}
	var rules []Rule
	var lines []int
	for i, item := range n.Content {
		if r, ok := l.rule(i, deref(item)); ok {
			rules = append(rules, r)
			lines = append(lines, item.Line)
		}
	}
	l.cfg.Rules = rules
	l.set("rules", n.Line)
	for i, line := range lines {
		l.set(fmt.Sprintf("rules[%d]", i), line)
	}
}

// rule reads one rule; ok is false when it has an error, and it is then
// left out.
func (l *configLoader) rule(i int, n *yaml.Node) (Rule, bool) {
	where := fmt.Sprintf("check.rules[%d]", i)
	const dropped = "this rule is left out until it is fixed"
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "config-type", "%s: expected a mapping such as {paths: [\"services/**\"], need: decision}, found %s; %s", where, describe(n), dropped)
		return Rule{}, false
	}
	// Name the rule in messages once its name is known.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "name" && deref(n.Content[j+1]).Kind == yaml.ScalarNode {
			where = fmt.Sprintf("check.rules[%d] (%s)", i, strings.TrimSpace(deref(n.Content[j+1]).Value))
		}
	}
	r := Rule{Source: fmt.Sprintf("%s:%d", l.file, n.Line)}
	hasNeed := false
	before := len(l.problems)
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], deref(n.Content[j+1])
		switch k.Value {
		case "name":
			r.Name, _ = l.scalar(v, where+".name", "a short name")
		case "paths":
			globs, good := l.globs(v, where+".paths", dropped)
			if good && len(globs) == 0 && len(l.problems) == before {
				l.errorf(v.Line, "config-value", "%s.paths: the list is empty, so the rule would match every pull request: list globs such as \"services/**\", or remove paths", where)
			}
			r.Paths = globs
		case "min_lines":
			r.MinLines, _ = l.integer(v, where+".min_lines", 0, 1<<30)
		case "min_files":
			r.MinFiles, _ = l.integer(v, where+".min_files", 0, 1<<30)
		case "labels":
			r.Labels, _ = l.list(v, where+".labels")
		case "authors":
			r.Authors, _ = l.list(v, where+".authors")
		case "need":
			hasNeed = true
			r.Need, _ = l.need(v, where+".need")
		default:
			l.unknown(k, where, ruleKeys)
		}
	}
	if !hasNeed {
		l.errorf(n.Line, "config-value", "%s: need is missing: add need: intent or need: decision (or nothing)", where)
	}
	ok := true
	for k := before; k < len(l.problems); k++ {
		if p := &l.problems[k]; p.Severity == content.SeverityError {
			ok = false
			if !strings.HasSuffix(p.Message, dropped) {
				p.Message += "; " + dropped
			}
		}
	}
	return r, ok
}

// lintRules warns about rules that do not do what they seem to.
func lintRules(cfg Config) []content.Problem {
	var out []content.Problem
	names := map[string]int{}
	for i, r := range cfg.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		file, line := cfg.File[key], cfg.Line[key]
		if r.Name != "" {
			if prev, dup := names[strings.ToLower(r.Name)]; dup {
				out = append(out, content.Problem{File: file, Line: line, Severity: content.SeverityWarning, Code: "config-rule",
					Message: fmt.Sprintf("check.rules[%d]: the name %q is also rule %d's: give each rule its own name so messages tell them apart", i, r.Name, prev)})
			} else {
				names[strings.ToLower(r.Name)] = i
			}
		}
		if len(r.Paths) > 0 && r.Need < cfg.Default {
			out = append(out, content.Problem{File: file, Line: line, Severity: content.SeverityWarning, Code: "config-rule",
				Message: fmt.Sprintf("check.rules[%d]: need: %s is below default: %s, but the rule matches any pull request that changes one of its paths, even with other files (the highest need wins); to let pull requests that change only these files pass, list the paths under ignore instead", i, r.Need, cfg.Default)})
		}
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func (l *configLoader) mapping(n *yaml.Node, where string, keys []string) bool {
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "config-type", "%s: expected a mapping with the keys %s, found %s", where, strings.Join(keys, ", "), describe(n))
		return false
	}
	return true
}

func (l *configLoader) unknown(k *yaml.Node, where string, known []string) {
	msg := fmt.Sprintf("%s: unknown key %q", where, k.Value)
	if s := suggest(k.Value, known); s != "" {
		msg += fmt.Sprintf(": did you mean %s?", s)
	} else {
		msg += fmt.Sprintf(" (the keys are %s)", strings.Join(known, ", "))
	}
	l.errorf(k.Line, "config-key", "%s", msg)
}

func (l *configLoader) scalar(v *yaml.Node, where, want string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		l.errorf(v.Line, "config-type", "%s: expected %s, found %s", where, want, describe(v))
		return "", false
	}
	return strings.TrimSpace(v.Value), true
}

func (l *configLoader) need(v *yaml.Node, where string) (Need, bool) {
	s, ok := l.scalar(v, where, "nothing, intent or decision")
	if !ok {
		return NeedNothing, false
	}
	need, err := ParseNeed(s)
	if err != nil {
		l.errorf(v.Line, "config-value", "%s: %v", where, err)
		return NeedNothing, false
	}
	return need, true
}

func (l *configLoader) integer(v *yaml.Node, where string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v.Value))
	if v.Kind != yaml.ScalarNode || err != nil || n < lo || n > hi {
		l.errorf(v.Line, "config-type", "%s: expected a whole number from %d to %d, found %s", where, lo, hi, describe(v))
		return 0, false
	}
	return n, true
}

func (l *configLoader) boolean(v *yaml.Node, where string) (bool, bool) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		var b bool
		if err := v.Decode(&b); err == nil {
			return b, true
		}
	}
	l.errorf(v.Line, "config-type", "%s: expected true or false, found %s", where, describe(v))
	return false, false
}

// list reads a list of strings, or one string as a list of one.
func (l *configLoader) list(v *yaml.Node, where string) ([]string, bool) {
	switch {
	case isNull(v):
		return []string{}, true
	case v.Kind == yaml.ScalarNode:
		if s := strings.TrimSpace(v.Value); s != "" {
			return []string{s}, true
		}
		return []string{}, true
	case v.Kind != yaml.SequenceNode:
		l.errorf(v.Line, "config-type", "%s: expected a list such as [a, b], found %s", where, describe(v))
		return nil, false
	}
	out := []string{}
	ok := true
	for _, item := range v.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) || strings.TrimSpace(item.Value) == "" {
			l.errorf(item.Line, "config-type", "%s: every item must be a non-empty string, found %s", where, describe(item))
			ok = false
			continue
		}
		out = append(out, strings.TrimSpace(item.Value))
	}
	return out, ok
}

// globs reads a list of globs; a bad one is reported (with what happens to
// it, left) and dropped.
func (l *configLoader) globs(v *yaml.Node, where, left string) ([]string, bool) {
	list, ok := l.list(v, where)
	if !ok && list == nil {
		return nil, false
	}
	var good []string
	items := v.Content
	for i, g := range list {
		line := v.Line
		if v.Kind == yaml.SequenceNode && i < len(items) {
			line = deref(items[i]).Line
		}
		if err := content.CheckGlob(g); err != nil {
			l.errorf(line, "config-glob", "%s: %q is not a valid glob: %v; %s", where, g, err, left)
			continue
		}
		good = append(good, g)
	}
	if good == nil {
		good = []string{}
	}
	return good, true
}

// suggest returns the known key nearest to key, when it is near enough to
// be a typo.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
