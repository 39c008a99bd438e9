package content

import (
	"bytes"
	"unicode/utf8"
)

// Bounds on the markdown goldmark is given. Past them its parser's time
// grows with the square of the input: every block quote or list opened on
// a line measures the line again, and link destinations, link labels and
// emphasis are scanned again for every opener of a line or paragraph, so a
// 1 MB record of "> > > …" or "[a]([a](…" took minutes. No real record
// comes near them: the longest line of the shared corpus is under 1 KB,
// its longest run of lines without a blank one about 6 KB.
const (
	maxMarkdownLine    = 2 << 10
	maxMarkdownRun     = 16 << 10
	maxMarkdownNesting = 32
)

// TameMarkdown returns src, or when src exceeds the bounds above a copy of
// the same length for goldmark to parse instead: a line longer than
// maxMarkdownLine is cut by blank lines, a run of lines longer than
// maxMarkdownRun is cut by a blank line, and a line opening more than
// maxMarkdownNesting block quotes and list items opens no more. The cuts
// overwrite whole characters with line breaks and the extra nesting mark
// with a dot, so every offset in the copy is the same offset in src: the
// caller keeps reading text from src, and only a record past the bounds
// loses a character at each cut. The site renders the copy: a record past
// the bounds is hostile, and Hugo's goldmark has the same weakness.
func TameMarkdown(src []byte) []byte {
	var out []byte // a copy of src, made at the first change
	set := func(from, to int, b byte) {
		if out == nil {
			out = bytes.Clone(src)
		}
		for i := from; i < to; i++ {
			out[i] = b
		}
	}
	run := 0 // bytes in the current run of non-blank lines
	for start := 0; start < len(src); {
		end := len(src)
		if i := bytes.IndexByte(src[start:], '\n'); i >= 0 {
			end = start + i
		}
		line := src[start:end]
		switch {
		case len(bytes.Trim(line, " \t")) == 0:
			run = 0
		case run+len(line) > maxMarkdownRun && run > 0:
			// A blank line before this one: its first character becomes a
			// line break.
			set(start, runeEnd(src, start+1, end), '\n')
			run = 0
		}
		run += len(line) + 1
		// The line, cut every maxMarkdownLine bytes by two line breaks
		// over whole characters (an empty line) into pieces that goldmark
		// reads as lines of their own.
		for piece := start; piece < end; {
			next := end
			if piece+maxMarkdownLine < end {
				next = runeEnd(src, piece+maxMarkdownLine, end)
			}
			if i := nestingPast(src[piece:next], maxMarkdownNesting); i >= 0 {
				set(piece+i, piece+i+1, '.')
			}
			if next == end {
				break
			}
			piece = runeEnd(src, next+2, end)
			set(next, piece, '\n')
			run = end - next
		}
		start = end + 1
	}
	if out == nil {
		return src
	}
	return out
}

// runeEnd returns i, or the offset after it where the next character starts,
// at most end.
func runeEnd(src []byte, i, end int) int {
	for i < end && !utf8.RuneStart(src[i]) {
		i++
	}
	return min(i, end)
}

// nestingPast returns the offset in line of the block quote or list marker
// that would open more than limit containers on the line, or -1.
func nestingPast(line []byte, limit int) int {
	depth := 0
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		n := containerMark(line[i:])
		if n == 0 {
			return -1
		}
		if depth == limit {
			return i
		}
		depth++
		i += n
	}
	return -1
}

// containerMark returns the length of the block quote marker (">") or list
// marker ("-", "+", "*", "1.", "1)" followed by a space, a tab or the end of
// the line) s starts with, or 0.
func containerMark(s []byte) int {
	if len(s) == 0 {
		return 0
	}
	if s[0] == '>' {
		return 1
	}
	n := 0
	if s[0] == '-' || s[0] == '+' || s[0] == '*' {
		n = 1
	} else {
		for n < len(s) && n < 9 && isDigit(s[n]) {
			n++
		}
		if n == 0 || n >= len(s) || (s[n] != '.' && s[n] != ')') {
			return 0
		}
		n++
	}
	if n < len(s) && s[n] != ' ' && s[n] != '\t' {
		return 0
	}
	return n
}
