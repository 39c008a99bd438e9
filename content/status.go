package content

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// statusSynonyms maps the lower-cased words teams write to canonical
// statuses. Multi-word keys are tried before their first word.
var statusSynonyms = map[string]Status{
	"draft": StatusDraft, "wip": StatusDraft, "work in progress": StatusDraft, "brouillon": StatusDraft,
	"proposed": StatusProposed, "proposal": StatusProposed, "in review": StatusProposed,
	"under review": StatusProposed, "pending": StatusProposed, "pending review": StatusProposed,
	"open": StatusProposed, "discussion": StatusProposed, "under discussion": StatusProposed,
	"rfc": StatusProposed, "on hold": StatusProposed, "proposé": StatusProposed, "propose": StatusProposed,
	"accepted": StatusAccepted, "approved": StatusAccepted, "agreed": StatusAccepted,
	"adopted": StatusAccepted, "decided": StatusAccepted, "implemented": StatusAccepted,
	"done": StatusAccepted, "active": StatusAccepted, "accepté": StatusAccepted,
	"accepte": StatusAccepted, "mergé": StatusAccepted, "merged": StatusAccepted, "validé": StatusAccepted,
	"superseded": StatusSuperseded, "superceded": StatusSuperseded, "replaced": StatusSuperseded,
	"replaced by": StatusSuperseded, "superseded by": StatusSuperseded, "superceded by": StatusSuperseded,
	"partly superseded": StatusSuperseded, "partially superseded": StatusSuperseded,
	"remplacé": StatusSuperseded, "remplacé par": StatusSuperseded,
	"deprecated": StatusDeprecated, "retired": StatusDeprecated, "obsolete": StatusDeprecated,
	"archived": StatusDeprecated, "déprécié": StatusDeprecated, "obsolète": StatusDeprecated,
	"rejected": StatusRejected, "declined": StatusRejected, "abandoned": StatusRejected,
	"won't do": StatusRejected, "wont do": StatusRejected, "won’t do": StatusRejected,
	"will not do": StatusRejected, "rejeté": StatusRejected, "refusé": StatusRejected,
}

// NormaliseStatus maps a status as written ("Accepted.", "✅ approved",
// "superseded by [ADR-0019](…)", "PROPOSED") to its canonical Status. Only
// the first line and the first clause count; case, decoration and trailing
// punctuation are ignored. Anything not understood is StatusUnknown.
func NormaliseStatus(raw string) Status {
	s := raw
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	// Drop leading decoration: emoji, markdown emphasis, brackets, bullets.
	s = strings.TrimLeftFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	// Cut at the first clause boundary.
	if i := strings.IndexAny(s, ".;,:!?()[]|*_`—–<"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " - "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRightFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return StatusUnknown
	}
	if st, ok := statusSynonyms[s]; ok {
		return st
	}
	words := strings.Fields(s)
	if len(words) > 2 {
		if st, ok := statusSynonyms[words[0]+" "+words[1]]; ok {
			return st
		}
	}
	if st, ok := statusSynonyms[words[0]]; ok {
		return st
	}
	return StatusUnknown
}

// statusRelation is a relation phrase found in a status text.
type statusRelation struct {
	phrase string
	field  string // "supersedes", "superseded_by", "amends", "amended_by"
}

// statusRelations are tried in order; longer phrases first so "superseded
// by" is not read as "supersedes".
var statusRelations = []statusRelation{
	{"partly superseded by", "superseded_by"},
	{"partially superseded by", "superseded_by"},
	{"superseded by", "superseded_by"},
	{"superceded by", "superseded_by"},
	{"replaced by", "superseded_by"},
	{"remplacé par", "superseded_by"},
	{"supersedes", "supersedes"},
	{"supercedes", "supersedes"},
	{"replaces", "supersedes"},
	{"amended by", "amended_by"},
	{"amends", "amends"},
}

// relationsInText finds "superseded by X", "supersedes X", "amended by X"
// and "amends X" in text. X is every link destination in the clause after
// the phrase when there are links, else the words after it up to a clause
// boundary, split on commas and "and" ("superseded by ADR-19 and ADR-20").
func relationsInText(text string, links []linkSpan) map[string][]string {
	var out map[string][]string
	lower := asciiLower(text)
	taken := make([]bool, len(lower)) // byte positions already matched by a longer phrase
	for _, rel := range statusRelations {
		from := 0
		for {
			i := strings.Index(lower[from:], rel.phrase)
			if i < 0 {
				break
			}
			start := from + i
			end := start + len(rel.phrase)
			from = end
			if taken[start] {
				continue
			}
			// The phrase must stand as words.
			if start > 0 {
				if r, _ := utf8.DecodeLastRuneInString(lower[:start]); unicode.IsLetter(r) {
					continue
				}
			}
			for k := start; k < end; k++ {
				taken[k] = true
			}
			clauseEnd := len(text)
			if j := strings.IndexAny(text[end:], ";\n"); j >= 0 {
				clauseEnd = end + j
			}
			// Another relation phrase later in the clause starts a clause
			// of its own ("supersedes A, amended by B").
			for _, other := range statusRelations {
				if j := strings.Index(lower[end:clauseEnd], other.phrase); j > 0 {
					clauseEnd = end + j
				}
			}
			var refs []string
			for _, l := range links {
				if l.start >= end && l.start < clauseEnd {
					refs = append(refs, l.dest)
				}
			}
			if len(refs) == 0 {
				words := text[end:clauseEnd]
				if j := strings.IndexByte(words, ')'); j >= 0 {
					words = words[:j]
				}
				for _, part := range strings.FieldsFunc(strings.ReplaceAll(words, " and ", ","), func(r rune) bool { return r == ',' || r == '&' }) {
					if ref := strings.TrimSpace(strings.Trim(strings.TrimSpace(part), ".:[]`*_")); ref != "" {
						refs = append(refs, ref)
					}
				}
			}
			for _, ref := range refs {
				if out == nil {
					out = map[string][]string{}
				}
				out[rel.field] = append(out[rel.field], ref)
			}
		}
	}
	for field, refs := range out {
		out[field] = uniqueStrings(refs)
	}
	return out
}

// ParseDate reads a decision date as teams write it: 2018-03-06,
// "2022-05-16.", 20220513, 2018/03/06, 2024-03-01T10:00:00Z, "6 March 2018",
// "March 6, 2018", and dd/mm/yyyy or mm/dd/yyyy when the day makes the order
// unambiguous. ok is false when the text holds no date it can trust.
func ParseDate(s string) (d Date, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "*_`\"'[]()")
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, false
	}
	// A leading ISO date followed by anything (". Updated…", " (approved)").
	if len(s) >= 10 && isDigits(s[0:4]) && (s[4] == '-' || s[4] == '/' || s[4] == '.') && isDigits(s[5:7]) && s[7] == s[4] && isDigits(s[8:10]) {
		if len(s) == 10 || !isDigit(s[10]) {
			return makeDate(atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10]))
		}
	}
	// Single-digit month or day: 2018-3-6.
	if parts := strings.FieldsFunc(firstToken(s), func(r rune) bool { return r == '-' || r == '/' || r == '.' }); len(parts) == 3 {
		if len(parts[0]) == 4 && isDigits(parts[0]) && isDigits(parts[1]) && isDigits(parts[2]) && len(parts[1]) <= 2 && len(parts[2]) <= 2 {
			return makeDate(atoi(parts[0]), atoi(parts[1]), atoi(parts[2]))
		}
		if len(parts[2]) == 4 && isDigits(parts[0]) && isDigits(parts[1]) && isDigits(parts[2]) && len(parts[0]) <= 2 && len(parts[1]) <= 2 {
			a, b, y := atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
			switch {
			case a > 12 && b <= 12:
				return makeDate(y, b, a)
			case b > 12 && a <= 12:
				return makeDate(y, a, b)
			case a == b:
				return makeDate(y, a, b)
			}
			return Date{}, false // ambiguous day/month order
		}
	}
	// YYYYMMDD, alone or as a prefix ("20220513", "20201016-slug").
	if len(s) >= 8 && isDigits(s[:8]) && (len(s) == 8 || !isDigit(s[8])) {
		return makeDate(atoi(s[0:4]), atoi(s[4:6]), atoi(s[6:8]))
	}
	if s[0] < '0' || s[0] > '9' {
		if !unicode.IsLetter(rune(s[0])) {
			return Date{}, false
		}
	}
	for _, layout := range textDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, true
		}
	}
	return Date{}, false
}

var textDateLayouts = []string{"2 January 2006", "January 2, 2006", "2 Jan 2006", "Jan 2, 2006", "January 2 2006", "Jan 2 2006", time.RFC3339}

func firstToken(s string) string {
	if i := strings.IndexAny(s, " \t,;("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, ".")
}

func makeDate(y, m, d int) (Date, bool) {
	if y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31 February
		return Date{}, false
	}
	return Date{t}, true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi converts a short run of ASCII digits; callers check isDigits first.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<30 {
			return n
		}
	}
	return n
}

// uniqueStrings removes the later copies of every string of list, in place,
// in time linear in its length.
func uniqueStrings(list []string) []string {
	if len(list) <= 16 {
		out := list[:0]
		for _, s := range list {
			out = appendUnique(out, s)
		}
		return out
	}
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// asciiLower lowers ASCII letters only, so byte offsets in the result are
// offsets in s (strings.ToLower changes lengths for some letters and for
// invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
