package site

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// allowedTags are the HTML elements a record may use, with the attributes
// each keeps. Everything else is shown as text.
var allowedTags = map[string][]string{
	"b": nil, "i": nil, "em": nil, "strong": nil, "code": nil, "kbd": nil,
	"sub": nil, "sup": nil, "br": nil, "hr": nil, "p": nil,
	"details": nil, "summary": nil,
	"table": nil, "thead": nil, "tbody": nil, "tr": nil,
	"th": {"align", "colspan", "rowspan"}, "td": {"align", "colspan", "rowspan"},
	"ul": nil, "ol": nil, "li": nil, "dl": nil, "dt": nil, "dd": nil,
	"blockquote": nil, "pre": nil,
	"img": {"src", "alt", "width", "height"},
	"a":   {"href", "title"},
}

// sanitiseHTML rewrites a run of raw HTML from a record: comments are
// dropped, allow-listed tags are re-written with their safe attributes only,
// and everything else, tags and text, is escaped so it shows as text and
// cannot turn into markup or a link when Hugo parses the markdown around it.
func sanitiseHTML(raw []byte, rewrite linkRewriter, block bool) string {
	var out strings.Builder
	z := html.NewTokenizer(bytes.NewReader(raw))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		rawTok := z.Raw()
		switch tt {
		case html.CommentToken:
			// Comments are the author's notes to themselves.
		case html.TextToken:
			// Text between tags stays as written (entities and all), but
			// may not carry markup: the tokenizer ends text at any "<" that
			// starts a tag, so only a stray "<" or markdown link syntax
			// could remain.
			out.WriteString(inertText(html.UnescapeString(string(rawTok))))
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			attrs, ok := allowedTags[tok.Data]
			if !ok {
				out.WriteString(inertText(string(rawTok)))
				continue
			}
			if tt == html.EndTagToken {
				if tok.Data == "br" || tok.Data == "hr" || tok.Data == "img" {
					continue
				}
				out.WriteString("</" + tok.Data + ">")
				continue
			}
			out.WriteString(safeTag(tok, attrs, rewrite))
		default: // doctype and the like
			out.WriteString(inertText(string(rawTok)))
		}
	}
	s := out.String()
	if block && !strings.HasSuffix(s, "\n") && bytes.HasSuffix(raw, []byte("\n")) {
		s += "\n"
	}
	return s
}

// safeTag writes an allow-listed start tag with only its allowed attributes,
// URLs checked and rewritten.
func safeTag(tok html.Token, allowed []string, rewrite linkRewriter) string {
	var b strings.Builder
	b.WriteString("<" + tok.Data)
	for _, a := range tok.Attr {
		if a.Namespace != "" || !contains(allowed, a.Key) {
			continue
		}
		val := a.Val
		switch a.Key {
		case "href", "src":
			image := a.Key == "src"
			val = strings.TrimSpace(val)
			t := safeTarget(val, image, rewrite)
			if t.URL == "" {
				continue
			}
			val = t.URL
		case "width", "height", "colspan", "rowspan":
			if strings.Trim(val, "0123456789%") != "" {
				continue
			}
		case "align":
			switch strings.ToLower(val) {
			case "left", "right", "center", "justify":
			default:
				continue
			}
		}
		b.WriteString(" " + a.Key + `="` + html.EscapeString(val) + `"`)
	}
	if tok.Type == html.SelfClosingTagToken && tok.Data != "br" && tok.Data != "hr" && tok.Data != "img" {
		// <p/> is not a thing in HTML: write an empty element.
		b.WriteString("></" + tok.Data + ">")
		return b.String()
	}
	b.WriteString(">")
	return b.String()
}

// dangerousURL reports whether a URL could run script or embed arbitrary
// content. data: is allowed for images only.
func dangerousURL(raw string, image bool) bool {
	s := strings.ToLower(strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1 // browsers ignore these inside a scheme
		}
		return r
	}, raw))
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return false
	}
	if j := strings.IndexAny(s, "/?#"); j >= 0 && j < i {
		return false // the colon is in the path, not a scheme
	}
	switch s[:i] {
	case "http", "https", "mailto", "tel", "ftp":
		return false
	case "data":
		return !(image && strings.HasPrefix(s, "data:image/"))
	}
	return true
}

// inertText escapes text so that, whether Hugo reads it as markdown or as the
// inside of an HTML block, it shows as written: no tag, entity, link, code
// span or shortcode can start in it.
func inertText(s string) string {
	return inertReplacer.Replace(s)
}

var inertReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"[", "&#91;", "]", "&#93;", "`", "&#96;", `\`, "&#92;",
	"{", "&#123;", "}", "&#125;",
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
