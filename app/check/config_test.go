package check

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/content"
)

const (
	orgName  = "acme/.github: .github/backstory.yml"
	repoName = "acme/shop: .github/backstory.yml"
)

func TestLoadConfigWithoutFiles(t *testing.T) {
	cfg, problems := LoadConfig(ConfigFile{Name: orgName}, ConfigFile{Name: repoName})
	want := DefaultConfig()
	want.Line, want.File = map[string]int{}, map[string]string{}
	if !reflect.DeepEqual(cfg, want) || len(problems) != 0 {
		t.Errorf("LoadConfig() = %+v, %v; want the defaults", cfg, problems)
	}
	d := DefaultConfig()
	if d.Name != "backstory" || d.Mode != ModeAdvise || d.Default != NeedIntent || d.Intent.MinWords != 10 ||
		!reflect.DeepEqual(d.Intent.Headings, []string{"Why", "Motivation", "Context"}) ||
		!reflect.DeepEqual(d.Skip.Labels, []string{"no-backstory", "skip-backstory"}) || !d.Skip.Bots || !d.Skip.Drafts || d.Ignore == nil || len(d.Ignore) != 0 {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

func TestLoadConfigMergesTheRepositoryOverTheOrganisation(t *testing.T) {
	org := `records:
  id_prefix: DR
check:
  mode: enforce
  intent:
    min_words: 20
    headings: [Why]
  skip:
    labels: [trivial]
    authors: ["release-*"]
  ignore: ["**/*.lock"]
  rules:
    - name: org-wide
      labels: [architecture]
      need: decision
`
	repo := `repository: acme/shop
check:
  name: shop-context
  intent:
    headings: [Rationale, Why]
  skip:
    bots: false
  rules:
    - name: queues
      paths: ["services/*/queue/**"]
      min_lines: 50
      need: decision
    - name: tiny
      authors: [intern-*]
      min_files: 1
      need: intent
future_key: {anything: goes}
`
	cfg, problems := LoadConfig(ConfigFile{Name: orgName, Data: []byte(org)}, ConfigFile{Name: repoName, Data: []byte(repo)})
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := Config{
		Name:    "shop-context",
		Mode:    ModeEnforce,
		Default: NeedIntent,
		Intent:  IntentConfig{Headings: []string{"Rationale", "Why"}, MinWords: 20},
		Skip:    SkipConfig{Labels: []string{"trivial"}, Authors: []string{"release-*"}, Bots: false, Drafts: true},
		Ignore:  []string{"**/*.lock"},
		Rules: []Rule{
			{Name: "queues", Paths: []string{"services/*/queue/**"}, MinLines: 50, Need: NeedDecision, Source: repoName + ":9"},
			{Name: "tiny", Authors: []string{"intern-*"}, MinFiles: 1, Need: NeedIntent, Source: repoName + ":13"},
		},
		Line: map[string]int{"mode": 4, "intent.min_words": 6, "intent.headings": 5, "skip.labels": 9, "skip.authors": 10,
			"ignore": 11, "rules": 9, "rules[0]": 9, "rules[1]": 13, "name": 3, "skip.bots": 7},
		File: map[string]string{"mode": orgName, "intent.min_words": orgName, "intent.headings": repoName, "skip.labels": orgName,
			"skip.authors": orgName, "ignore": orgName, "rules": repoName, "rules[0]": repoName, "rules[1]": repoName, "name": repoName, "skip.bots": repoName},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("merged config =\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestLoadConfigProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		want  []string // "line severity code: message fragment"
		check func(t *testing.T, cfg Config)
	}{
		{
			name: "invalid YAML",
			yaml: "check:\n  mode: [enforce\n",
			want: []string{"2 error config-yaml: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "check is not a mapping",
			yaml: "check: enforce\n",
			want: []string{"1 error config-type: check: expected a mapping of settings (name, mode, default, intent, skip, ignore, rules), found \"enforce\""},
		},
		{
			name: "an unknown key, with a suggestion",
			yaml: "check:\n  rule:\n    - need: decision\n  colour: blue\n",
			want: []string{
				"2 error config-key: check: unknown key \"rule\": did you mean rules?",
				"4 error config-key: check: unknown key \"colour\" (the keys are name, mode, default, intent, skip, ignore, rules)",
			},
		},
		{
			name: "bad mode and need words keep the defaults",
			yaml: "check:\n  mode: enforced\n  default: none\n",
			want: []string{
				"2 error config-value: check.mode: \"enforced\" is not a mode: write enforce or advise",
				"3 error config-value: check.default: \"none\" is not a need: write nothing, intent or decision",
			},
			check: func(t *testing.T, cfg Config) {
				if cfg.Mode != ModeAdvise || cfg.Default != NeedIntent {
					t.Errorf("mode %s, default %s: the defaults should stay", cfg.Mode, cfg.Default)
				}
			},
		},
		{
			name: "wrong types",
			yaml: "check:\n  name: [a, b]\n  intent:\n    min_words: ten\n    headings: []\n  skip: {bots: yes, drafts: 1, labels: {a: b}}\n",
			want: []string{
				"2 error config-type: check.name: expected a name such as backstory, found a list",
				"4 error config-type: check.intent.min_words: expected a whole number from 0 to 10000, found \"ten\"",
				"5 error config-value: check.intent.headings: name at least one heading, such as [Why]",
				"6 error config-type: check.skip.bots: expected true or false, found \"yes\"",
				"6 error config-type: check.skip.drafts: expected true or false, found \"1\"",
				"6 error config-type: check.skip.labels: expected a list such as [a, b], found a mapping",
			},
			check: func(t *testing.T, cfg Config) {
				d := DefaultConfig()
				if cfg.Name != d.Name || !reflect.DeepEqual(cfg.Intent, d.Intent) || !reflect.DeepEqual(cfg.Skip, d.Skip) {
					t.Errorf("broken parts should keep the defaults: %+v", cfg)
				}
			},
		},
		{
			name: "a bad glob in ignore is left out, the others kept",
			yaml: "check:\n  ignore:\n    - go.sum\n    - \"[abc\"\n    - \"{a,b\"\n",
			want: []string{
				"4 error config-glob: check.ignore: \"[abc\" is not a valid glob: \"[abc\" is malformed",
				"5 error config-glob: check.ignore: \"{a,b\" is not a valid glob: a \"{\" is never closed",
			},
			check: func(t *testing.T, cfg Config) {
				if !reflect.DeepEqual(cfg.Ignore, []string{"go.sum"}) {
					t.Errorf("ignore = %q", cfg.Ignore)
				}
			},
		},
		{
			name: "a rule with an error is left out whole",
			yaml: `check:
  rules:
    - name: good
      paths: ["services/**"]
      need: decision
    - name: typo
      path: ["services/**"]
      need: decision
    - name: no-need
      labels: [x]
    - name: bad-glob
      paths: ["services/[x"]
      need: intent
    - name: bad-need
      need: adr
    - "just a string"
    - name: empty-paths
      paths: []
      need: decision
`,
			want: []string{
				"7 error config-key: check.rules[1] (typo): unknown key \"path\": did you mean paths?; this rule is left out until it is fixed",
				"9 error config-value: check.rules[2] (no-need): need is missing: add need: intent or need: decision (or nothing); this rule is left out until it is fixed",
				"12 error config-glob: check.rules[3] (bad-glob).paths: \"services/[x\" is not a valid glob",
				"15 error config-value: check.rules[4] (bad-need).need: \"adr\" is not a need",
				"16 error config-type: check.rules[5]: expected a mapping",
				"18 error config-value: check.rules[6] (empty-paths).paths: the list is empty, so the rule would match every pull request",
			},
			check: func(t *testing.T, cfg Config) {
				if len(cfg.Rules) != 1 || cfg.Rules[0].Name != "good" || cfg.Line["rules[0]"] != 3 {
					t.Errorf("rules = %+v, lines %v", cfg.Rules, cfg.Line)
				}
			},
		},
		{
			name: "rules that do not do what they seem to are warned about",
			yaml: "check:\n  rules:\n    - name: docs\n      paths: [\"docs/**\"]\n      need: nothing\n    - name: docs\n      labels: [x]\n      need: decision\n",
			want: []string{
				"3 warning config-rule: check.rules[0]: need: nothing is below default: intent, but the rule matches any pull request that changes one of its paths, even with other files",
				"6 warning config-rule: check.rules[1]: the name \"docs\" is also rule 0's",
			},
			check: func(t *testing.T, cfg Config) {
				if len(cfg.Rules) != 2 {
					t.Errorf("warnings must not drop rules: %+v", cfg.Rules)
				}
			},
		},
		{
			name: "an empty check section and an empty file are fine",
			yaml: "check:\n",
		},
		{
			name: "aliases are followed",
			yaml: "shared: &globs [\"gen/**\"]\ncheck:\n  ignore: *globs\n",
			check: func(t *testing.T, cfg Config) {
				if !reflect.DeepEqual(cfg.Ignore, []string{"gen/**"}) {
					t.Errorf("ignore = %q", cfg.Ignore)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := LoadConfig(ConfigFile{Name: orgName}, ConfigFile{Name: repoName, Data: []byte(tt.yaml)})
			if len(problems) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(problems), len(tt.want), problemList(problems))
			}
			for i, w := range tt.want {
				if i >= len(problems) {
					break
				}
				p := problems[i]
				got := strings.Join([]string{strconv.Itoa(p.Line), string(p.Severity), p.Code + ":", p.Message}, " ")
				if p.File != repoName || !strings.HasPrefix(got, w) {
					t.Errorf("problem %d:\n got %s (file %q)\nwant %s…", i, got, p.File, w)
				}
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func problemList(ps []content.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + " [" + p.Code + "]\n")
	}
	return b.String()
}

func TestAnOrganisationErrorDoesNotHideTheRepositorysSettings(t *testing.T) {
	cfg, problems := LoadConfig(
		ConfigFile{Name: orgName, Data: []byte("check:\n  mode: [\n")},
		ConfigFile{Name: repoName, Data: []byte("check:\n  mode: enforce\n")},
	)
	if len(problems) != 1 || problems[0].File != orgName || cfg.Mode != ModeEnforce {
		t.Errorf("mode %s, problems %v", cfg.Mode, problems)
	}
}

func TestNeedAndModeInYAML(t *testing.T) {
	var v struct {
		Need Need `yaml:"need"`
	}
	if err := yaml.Unmarshal([]byte("need: Decision"), &v); err != nil || v.Need != NeedDecision {
		t.Errorf("need: Decision = %v, %v", v.Need, err)
	}
	err := yaml.Unmarshal([]byte("\n\nneed: adr"), &v)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "write nothing, intent or decision") {
		t.Errorf("need: adr = %v", err)
	}
	if err := yaml.Unmarshal([]byte("need: [a]"), &v); err == nil {
		t.Error("need: [a] should fail")
	}
	if b, _ := NeedIntent.MarshalText(); string(b) != "intent" {
		t.Errorf("MarshalText = %s", b)
	}
}
