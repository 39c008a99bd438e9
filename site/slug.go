package site

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// slugify makes a URL path segment from s: lower case letters and digits
// separated by single hyphens, accents removed. It returns "" when s has no
// letter or digit.
func slugify(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: drop it, keep the letter
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(unicode.ToLower(r))
		case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(unicode.ToLower(r))
		default:
			hyphen = true
		}
	}
	out := b.String()
	if len(out) > 80 {
		out = strings.TrimRight(out[:80], "-")
		for !validUTF8Tail(out) {
			out = out[:len(out)-1]
		}
	}
	return out
}

func validUTF8Tail(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s
}
