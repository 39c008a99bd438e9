package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// schema is the subset of an OpenAPI 3.0 schema object that GitHub's
// description uses.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Nullable             bool               `json:"nullable"`
	Enum                 []any              `json:"enum"`
	Required             []string           `json:"required"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties *additional        `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	OneOf                []*schema          `json:"oneOf"`
	AnyOf                []*schema          `json:"anyOf"`
	AllOf                []*schema          `json:"allOf"`
	Not                  *schema            `json:"not"`
	MaxLength            *int               `json:"maxLength"`
	MinLength            *int               `json:"minLength"`
	Pattern              string             `json:"pattern"`
	MaxItems             *int               `json:"maxItems"`
	MinItems             *int               `json:"minItems"`
	UniqueItems          bool               `json:"uniqueItems"`
	MaxProperties        *int               `json:"maxProperties"`
	MinProperties        *int               `json:"minProperties"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
	ExclusiveMinimum     bool               `json:"exclusiveMinimum"`
	ExclusiveMaximum     bool               `json:"exclusiveMaximum"`
	MultipleOf           *float64           `json:"multipleOf"`
}

// additional is additionalProperties: a boolean or a schema.
type additional struct {
	Allowed bool
	Schema  *schema
}

func (a *additional) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == 't' || b[0] == 'f') {
		return json.Unmarshal(b, &a.Allowed)
	}
	a.Allowed = true
	return json.Unmarshal(b, &a.Schema)
}

// schemaError is one way a value fails a schema, at a place in the value.
type schemaError struct {
	At  string // "output/annotations/3", "" for the value itself
	Msg string
}

func (e schemaError) String() string {
	if e.At == "" {
		return e.Msg
	}
	return fmt.Sprintf("For '%s', %s", e.At, e.Msg)
}

// validator checks JSON values against the schemas of one description.
type validator struct {
	d *description
}

// decodeJSON decodes data keeping numbers exact, so that 1.5 is told from
// an integer and large ids keep their digits.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// validate returns every way v fails s; none when it conforms.
func (vd *validator) validate(s *schema, v any) []schemaError {
	var errs []schemaError
	vd.check(s, v, "", &errs, 0)
	return errs
}

func (vd *validator) resolve(s *schema) (*schema, error) {
	for depth := 0; s != nil && s.Ref != ""; depth++ {
		if depth > 32 {
			return nil, fmt.Errorf("$ref loop at %s", s.Ref)
		}
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok {
			return nil, fmt.Errorf("unsupported $ref %s", s.Ref)
		}
		t, ok := vd.d.schemas[name]
		if !ok {
			return nil, fmt.Errorf("unresolved $ref %s", s.Ref)
		}
		s = t
	}
	return s, nil
}

func (vd *validator) check(s *schema, v any, at string, errs *[]schemaError, depth int) {
	add := func(format string, args ...any) {
		*errs = append(*errs, schemaError{At: at, Msg: fmt.Sprintf(format, args...)})
	}
	if depth > 64 {
		add("the schema nests too deeply to check")
		return
	}
	s, err := vd.resolve(s)
	if err != nil {
		add("%v", err)
		return
	}
	if s == nil {
		return
	}
	if v == nil {
		if s.Nullable || s.Type == "" && len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) == 0 || enumHas(s.Enum, nil) {
			return
		}
		if s.Type != "" {
			add("null is not %s.", article(s.Type))
			return
		}
	}
	if s.Type != "" && v != nil && !isType(v, s.Type) {
		add("%s is not %s.", show(v), article(s.Type))
		return
	}
	if len(s.Enum) > 0 && !enumHas(s.Enum, v) {
		add("%s is not a member of %s.", show(v), showEnum(s.Enum))
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if s.MaxLength != nil && n > *s.MaxLength {
			add("%s is too long (%d characters; the maximum is %d).", show(x), n, *s.MaxLength)
		}
		if s.MinLength != nil && n < *s.MinLength {
			add("%s is too short (%d characters; the minimum is %d).", show(x), n, *s.MinLength)
		}
		if s.Pattern != "" {
			if re := compilePattern(s.Pattern); re != nil && !re.MatchString(x) {
				add("%s does not match /%s/.", show(x), s.Pattern)
			}
		}
		if msg := checkFormat(s.Format, x); msg != "" {
			add("%s %s", show(x), msg)
		}
	case json.Number:
		f, _ := x.Float64()
		if s.Minimum != nil && (f < *s.Minimum || s.ExclusiveMinimum && f == *s.Minimum) {
			add("%s is less than the minimum of %v.", x, *s.Minimum)
		}
		if s.Maximum != nil && (f > *s.Maximum || s.ExclusiveMaximum && f == *s.Maximum) {
			add("%s is greater than the maximum of %v.", x, *s.Maximum)
		}
		if s.MultipleOf != nil && *s.MultipleOf != 0 {
			if q := f / *s.MultipleOf; q != math.Trunc(q) {
				add("%s is not a multiple of %v.", x, *s.MultipleOf)
			}
		}
	case []any:
		if s.MaxItems != nil && len(x) > *s.MaxItems {
			add("%d items are more than the maximum of %d.", len(x), *s.MaxItems)
		}
		if s.MinItems != nil && len(x) < *s.MinItems {
			add("%d items are fewer than the minimum of %d.", len(x), *s.MinItems)
		}
		if s.UniqueItems {
			seen := map[string]bool{}
			for _, it := range x {
				k := show(it)
				if seen[k] {
					add("the items are not unique (%s appears twice).", k)
					break
				}
				seen[k] = true
			}
		}
		if s.Items != nil {
			for i, it := range x {
				vd.check(s.Items, it, join(at, strconv.Itoa(i)), errs, depth+1)
			}
		}
	case map[string]any:
		var missing []string
		for _, name := range s.Required {
			if _, ok := x[name]; !ok {
				missing = append(missing, strconv.Quote(name))
			}
		}
		switch len(missing) {
		case 0:
		case 1:
			add("%s wasn't supplied.", missing[0])
		default:
			add("%s weren't supplied.", strings.Join(missing, ", "))
		}
		if s.MaxProperties != nil && len(x) > *s.MaxProperties {
			add("%d properties are more than the maximum of %d.", len(x), *s.MaxProperties)
		}
		if s.MinProperties != nil && len(x) < *s.MinProperties {
			add("%d properties are fewer than the minimum of %d.", len(x), *s.MinProperties)
		}
		for _, name := range sortedKeys(x) {
			val := x[name]
			if ps, ok := s.Properties[name]; ok {
				vd.check(ps, val, join(at, name), errs, depth+1)
				continue
			}
			if s.AdditionalProperties == nil {
				continue
			}
			if !s.AdditionalProperties.Allowed {
				add("%q is not a permitted key.", name)
				continue
			}
			if s.AdditionalProperties.Schema != nil {
				vd.check(s.AdditionalProperties.Schema, val, join(at, name), errs, depth+1)
			}
		}
	}
	for _, sub := range s.AllOf {
		vd.check(sub, v, at, errs, depth+1)
	}
	if len(s.AnyOf) > 0 {
		var best []schemaError
		ok := false
		for _, sub := range s.AnyOf {
			var e []schemaError
			vd.check(sub, v, at, &e, depth+1)
			if len(e) == 0 {
				ok = true
				break
			}
			if best == nil || len(e) < len(best) {
				best = e
			}
		}
		if !ok {
			add("%s matches none of the %d alternatives (anyOf); the closest fails: %s", show(v), len(s.AnyOf), joinErrors(best))
		}
	}
	if len(s.OneOf) > 0 {
		var best []schemaError
		var matched []int
		for i, sub := range s.OneOf {
			var e []schemaError
			vd.check(sub, v, at, &e, depth+1)
			if len(e) == 0 {
				matched = append(matched, i+1)
				continue
			}
			if best == nil || len(e) < len(best) {
				best = e
			}
		}
		switch {
		case len(matched) == 0:
			add("%s matches none of the %d alternatives (oneOf); the closest fails: %s", show(v), len(s.OneOf), joinErrors(best))
		case len(matched) > 1:
			add("%s matches alternatives %v of a oneOf, which allows exactly one.", show(v), matched)
		}
	}
	if s.Not != nil {
		var e []schemaError
		vd.check(s.Not, v, at, &e, depth+1)
		if len(e) == 0 {
			add("%s matches a schema it must not (not).", show(v))
		}
	}
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "/" + name
}

func joinErrors(errs []schemaError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.String()
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f) && !strings.ContainsAny(n.String(), ".eE")
	}
	return true // an unknown type constrains nothing
}

func article(typ string) string {
	switch typ {
	case "object", "array", "integer":
		return "an " + typ
	}
	return "a " + typ
}

// enumHas compares as JSON does: numbers by value.
func enumHas(enum []any, v any) bool {
	for _, e := range enum {
		if jsonEqual(e, v) {
			return true
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	fa, aNum := number(a)
	fb, bNum := number(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

// show renders a value in a message, shortened: a 65,536-character summary
// must not make a 65,536-character error.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 60
	s := string(b)
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return s
}

func showEnum(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = show(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

var (
	patternMu sync.Mutex
	patterns  = map[string]*regexp.Regexp{}
)

// compilePattern compiles an ECMA pattern as RE2; one RE2 cannot express
// (lookaround) constrains nothing rather than rejecting good input.
func compilePattern(p string) *regexp.Regexp {
	patternMu.Lock()
	defer patternMu.Unlock()
	re, ok := patterns[p]
	if !ok {
		re, _ = regexp.Compile(p)
		patterns[p] = re
	}
	return re
}

// checkFormat checks the formats whose violation GitHub rejects; others
// (email, int64 as a hint) constrain nothing.
func checkFormat(format, s string) string {
	switch format {
	case "date-time":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SSZ)."
		}
	case "uri":
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return "is not an absolute URI."
		}
	}
	return ""
}
