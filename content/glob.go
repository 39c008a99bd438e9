package content

import (
	"path"
	"strings"
)

// MatchGlob reports whether name (a slash-separated path relative to the
// repository root) matches pattern in doublestar syntax: "*" and "?" within
// one path segment, "[a-z]" classes, "**" for any number of segments, and
// "{a,b}" alternatives. A malformed pattern matches nothing.
func MatchGlob(pattern, name string) bool {
	for _, p := range expandBraces(pattern) {
		if matchSegments(splitPath(p), splitPath(name)) {
			return true
		}
	}
	return false
}

// globReachesInto reports whether pattern can match something inside the
// folder dir: "services/*/consumer/**" reaches into "services".
func globReachesInto(pattern, dir string) bool {
	for _, p := range expandBraces(pattern) {
		if reaches(splitPath(p), splitPath(dir)) {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// matchSegments matches path segments against pattern segments. It fills
// a table of (pattern suffix, name suffix) results from the end, so a
// pattern of many "**" costs len(pat)×len(name) steps, never an exponential
// search: globs come from records, which are untrusted input.
func matchSegments(pat, name []string) bool {
	// ok[i][j]: pat[i:] matches name[j:].
	ok := make([][]bool, len(pat)+1)
	for i := range ok {
		ok[i] = make([]bool, len(name)+1)
	}
	ok[len(pat)][len(name)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		for j := len(name); j >= 0; j-- {
			if pat[i] == "**" {
				// Zero segments, or one more segment and stay on "**".
				ok[i][j] = ok[i+1][j] || (j < len(name) && ok[i][j+1])
				continue
			}
			if j == len(name) {
				continue
			}
			if m, err := path.Match(pat[i], name[j]); err == nil && m {
				ok[i][j] = ok[i+1][j+1]
			}
		}
	}
	return ok[0][0]
}

func reaches(pat, dir []string) bool {
	for {
		if len(dir) == 0 {
			return len(pat) > 0
		}
		if len(pat) == 0 {
			return false
		}
		if pat[0] == "**" {
			return true
		}
		if ok, err := path.Match(pat[0], dir[0]); err != nil || !ok {
			return false
		}
		pat, dir = pat[1:], dir[1:]
	}
}

// maxBraceAlternatives bounds what one glob may expand to.
const maxBraceAlternatives = 64

// expandBraces turns "a/{b,c}/d" into "a/b/d" and "a/c/d" (nesting allowed;
// at most 64 alternatives, past which the pattern is used as written).
func expandBraces(p string) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}
	}
	depth, end := 0, -1
	var commas []int
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return []string{p}
	}
	var alts []string
	start := open + 1
	for _, c := range append(commas, end) {
		alts = append(alts, p[start:c])
		start = c + 1
	}
	tails := expandBraces(p[end+1:])
	if len(alts)*len(tails) > maxBraceAlternatives {
		return []string{p}
	}
	var out []string
	for _, a := range alts {
		for _, x := range expandBraces(p[:open] + a) {
			for _, tail := range tails {
				out = append(out, x+tail)
				if len(out) > maxBraceAlternatives {
					return []string{p}
				}
			}
		}
	}
	return out
}

// GovernsPath reports whether a governs glob covers path: the path matches
// it, or path is a folder that holds files the glob matches.
func GovernsPath(glob, path string) bool {
	glob, path = cleanRel(glob), cleanRel(path)
	return MatchGlob(glob, path) || globReachesInto(glob, path)
}
