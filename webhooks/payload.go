package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/backstory-dev/backstory/app"
)

// maxDepth is how deeply a payload may nest, as encoding/json allows.
const maxDepth = 10000

// parse checks that body is one JSON object and reads from it, in a single
// pass, what ingress needs: the action, installation.id,
// repository.full_name and, for the events that ask for a commit's check
// (pull_request, check_suite, check_run, merge_group), the head SHA that
// makes Key "<repository>@<sha>", so that the worker never evaluates one
// commit twice at once. Other events are not ordered.
//
// It accepts exactly what encoding/json accepts (the fuzz test compares
// them) but does not build the payload: json.Unmarshal into even a small
// struct scans a body twice, which was four fifths of the handler's time on
// a 30 KB pull_request payload. Keys match exactly, a repeated key's last
// value wins and null reads as absent, as decoding into a map would; a field
// ingress reads that has the wrong type is an error.
func parse(event string, body []byte) (app.Delivery, error) {
	s := scanner{b: body}
	var d app.Delivery
	var sha string
	s.ws()
	if s.i == len(s.b) || s.b[s.i] != '{' {
		return d, fmt.Errorf("payload is not a JSON object")
	}
	// Where the head SHA is, by event: the object holding it, and its key.
	holder, shaKey := "", ""
	switch event {
	case "pull_request":
		holder, shaKey = "pull_request", "head"
	case "check_suite", "check_run", "merge_group":
		holder, shaKey = event, "head_sha"
	}
	ok := s.object(1, func(key []byte) func(depth int) bool {
		switch {
		case string(key) == "action":
			return func(depth int) bool { return s.stringField("action", depth, &d.Action) }
		case string(key) == "installation":
			return func(depth int) bool {
				d.InstallationID = 0
				return s.objectField("installation", depth, func(key []byte) func(int) bool {
					if string(key) != "id" {
						return nil
					}
					return func(depth int) bool { return s.intField("installation.id", depth, &d.InstallationID) }
				})
			}
		case string(key) == "repository":
			return func(depth int) bool {
				d.Repository = ""
				return s.objectField("repository", depth, func(key []byte) func(int) bool {
					if string(key) != "full_name" {
						return nil
					}
					return func(depth int) bool { return s.stringField("repository.full_name", depth, &d.Repository) }
				})
			}
		case holder != "" && string(key) == holder:
			return func(depth int) bool {
				sha = ""
				return s.objectField(holder, depth, func(key []byte) func(int) bool {
					switch {
					case string(key) != shaKey:
						return nil
					case shaKey == "head_sha":
						return func(depth int) bool { return s.stringField(holder+".head_sha", depth, &sha) }
					}
					return func(depth int) bool {
						sha = ""
						return s.objectField(holder+".head", depth, func(key []byte) func(int) bool {
							if string(key) != "sha" {
								return nil
							}
							return func(depth int) bool { return s.stringField(holder+".head.sha", depth, &sha) }
						})
					}
				})
			}
		}
		return nil
	})
	if ok {
		s.ws()
		if s.i != len(s.b) {
			s.fail("after the top-level object")
		}
	}
	if s.err != nil {
		return app.Delivery{}, s.err
	}
	if s.typeErr != nil {
		return app.Delivery{}, s.typeErr
	}
	if sha != "" && d.Repository != "" {
		d.Key = d.Repository + "@" + sha
	}
	return d, nil
}

// scanner validates JSON (RFC 8259, as encoding/json reads it) in one pass.
// Every method reports success; on failure s.err says what and where.
type scanner struct {
	b   []byte
	i   int
	err error // the first syntax error: scanning stops
	// typeErr is the first field of the wrong type. Scanning goes on, so
	// that a document that is not JSON at all is reported as such.
	typeErr error
}

func (s *scanner) fail(what string) bool {
	if s.err == nil {
		if s.i >= len(s.b) {
			s.err = fmt.Errorf("payload is not valid JSON: unexpected end %s", what)
		} else {
			s.err = fmt.Errorf("payload is not valid JSON: unexpected %q at byte %d %s", s.b[s.i], s.i, what)
		}
	}
	return false
}

// wrongType records that the value that starts at byte at, already
// scanned, is not what field should be.
func (s *scanner) wrongType(field, want string, at int) bool {
	if s.typeErr == nil {
		s.typeErr = fmt.Errorf("payload field %s is not %s (byte %d)", field, want, at)
	}
	return true
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value checks any one value.
func (s *scanner) value(depth int) bool {
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("where a value should be")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail("where a value should be")
}

// object checks an object at s.i ('{'). For each key, field (if not nil)
// returns the function that reads its value, or nil to just check it.
func (s *scanner) object(depth int, field func(key []byte) func(depth int) bool) bool {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("where an object key should be")
		}
		raw, escaped, ok := s.str()
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("after an object key")
		}
		s.i++
		var read func(int) bool
		if field != nil {
			key := raw
			if escaped || !utf8.Valid(raw) {
				key = unquote(raw)
			}
			read = field(key)
		}
		if read != nil {
			s.ws()
			ok = read(depth)
		} else {
			ok = s.value(depth)
		}
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return s.fail("after an object value")
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("in an array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return s.fail("after an array element")
		}
	}
}

// str checks a string at s.i ('"') and returns its raw content, and whether
// it has escapes.
func (s *scanner) str() (raw []byte, escaped, ok bool) {
	s.i++ // '"'
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return nil, false, s.fail("in a string escape")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return nil, false, s.fail(`in a \u escape`)
					}
					s.i++
				}
			default:
				return nil, false, s.fail("in a string escape")
			}
		case c < 0x20:
			return nil, false, s.fail("in a string (control character)")
		default:
			s.i++
		}
	}
	return nil, false, s.fail("in a string")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number checks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return s.fail("in a number")
	case s.b[s.i] == '0':
		s.i++
	case '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("in a number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("in a number's fraction")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("in a number's exponent")
		}
	}
	return true
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.fail("in a literal")
	}
	s.i += len(lit)
	return true
}

// stringField reads a string, or null (""), into dst; depth is the depth of
// the object holding it.
func (s *scanner) stringField(name string, depth int, dst *string) bool {
	if s.i >= len(s.b) {
		return s.fail("where a value should be")
	}
	switch s.b[s.i] {
	case 'n':
		*dst = ""
		return s.literal("null")
	case '"':
		raw, escaped, ok := s.str()
		if !ok {
			return false
		}
		if escaped || !utf8.Valid(raw) {
			*dst = string(unquote(raw))
		} else {
			*dst = string(raw)
		}
		return true
	}
	start := s.i
	if !s.value(depth) {
		return false
	}
	return s.wrongType(name, "a string", start)
}

// intField reads an integer that fits int64, or null (0), into dst.
func (s *scanner) intField(name string, depth int, dst *int64) bool {
	if s.i >= len(s.b) {
		return s.fail("where a value should be")
	}
	c := s.b[s.i]
	switch {
	case c == 'n':
		*dst = 0
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		start := s.i
		if !s.number() {
			return false
		}
		n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
		if err != nil {
			return s.wrongType(name, "an integer", start)
		}
		*dst = n
		return true
	}
	start := s.i
	if !s.value(depth) {
		return false
	}
	return s.wrongType(name, "an integer", start)
}

// objectField reads an object through field, or null; depth is the depth
// of the object holding it.
func (s *scanner) objectField(name string, depth int, field func(key []byte) func(int) bool) bool {
	if s.i >= len(s.b) {
		return s.fail("where a value should be")
	}
	switch s.b[s.i] {
	case 'n':
		return s.literal("null")
	case '{':
		return s.object(depth+1, field)
	}
	start := s.i
	if !s.value(depth) {
		return false
	}
	return s.wrongType(name, "an object", start)
}

// unquote decodes a string's raw content that has escapes or invalid
// UTF-8, as encoding/json does (invalid bytes become U+FFFD). Such strings
// are rare in a payload; the scanner has already checked the syntax.
func unquote(raw []byte) []byte {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return raw // unreachable: the scanner accepted it
	}
	return []byte(out)
}
