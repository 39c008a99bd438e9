package githubtest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// descriptionFile is GitHub's full REST description, kept gzipped in the
// shared corpus and embedded from testdata/openapi/ (see its PROVENANCE.md).
const descriptionFile = "api.github.com.octokit-2022-07-22.json.gz"

// description is the part of an OpenAPI 3.0 document the fake reads: the
// operations, and the components their $refs point at.
type description struct {
	ops        []*operation
	byID       map[string]*operation
	schemas    map[string]*schema
	parameters map[string]*parameter
	responses  map[string]*response
	bodies     map[string]*requestBody
}

// operation is one method on one path template.
type operation struct {
	ID       string
	Method   string
	Template string
	segments []segment
	literals int // literal segments: the more, the more specific the match
	greedy   int // parameters that may span several segments

	Parameters []*parameter
	Body       *requestBody
	Responses  map[string]*response
	DocURL     string
}

type segment struct {
	literal string
	param   string // the parameter's name when the segment is "{name}"
	greedy  bool
}

type parameter struct {
	Ref      string  `json:"$ref"`
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required"`
	Schema   *schema `json:"schema"`
}

type requestBody struct {
	Ref      string               `json:"$ref"`
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type response struct {
	Ref     string               `json:"$ref"`
	Content map[string]mediaType `json:"content"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type rawOperation struct {
	OperationID  string               `json:"operationId"`
	Parameters   []*parameter         `json:"parameters"`
	RequestBody  *requestBody         `json:"requestBody"`
	Responses    map[string]*response `json:"responses"`
	ExternalDocs struct {
		URL string `json:"url"`
	} `json:"externalDocs"`
}

type rawDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas       map[string]*schema      `json:"schemas"`
		Parameters    map[string]*parameter   `json:"parameters"`
		Responses     map[string]*response    `json:"responses"`
		RequestBodies map[string]*requestBody `json:"requestBodies"`
	} `json:"components"`
}

// greedyParams are the path parameters GitHub lets span several segments:
// a file path, and refs and tree-ishes that may be branch names with
// slashes ("feature/x").
var greedyParams = map[string]bool{"path": true, "ref": true, "tree_sha": true, "basehead": true}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "patch": true, "delete": true, "head": true, "options": true}

// parseDescription reads an OpenAPI 3.0 document.
func parseDescription(r io.Reader) (*description, error) {
	var raw rawDocument
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode OpenAPI description: %w", err)
	}
	if !strings.HasPrefix(raw.OpenAPI, "3.0") {
		return nil, fmt.Errorf("OpenAPI version %q: only 3.0 descriptions are understood", raw.OpenAPI)
	}
	d := &description{
		byID:       map[string]*operation{},
		schemas:    raw.Components.Schemas,
		parameters: raw.Components.Parameters,
		responses:  raw.Components.Responses,
		bodies:     raw.Components.RequestBodies,
	}
	for tmpl, item := range raw.Paths {
		var common []*parameter
		if p, ok := item["parameters"]; ok {
			if err := json.Unmarshal(p, &common); err != nil {
				return nil, fmt.Errorf("path %s: parameters: %w", tmpl, err)
			}
		}
		for method, body := range item {
			if !httpMethods[method] {
				continue
			}
			var ro rawOperation
			if err := json.Unmarshal(body, &ro); err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(method), tmpl, err)
			}
			op := &operation{
				ID:         ro.OperationID,
				Method:     strings.ToUpper(method),
				Template:   tmpl,
				Parameters: append(append([]*parameter(nil), common...), ro.Parameters...),
				Body:       ro.RequestBody,
				Responses:  ro.Responses,
				DocURL:     ro.ExternalDocs.URL,
			}
			for i, p := range op.Parameters {
				rp, err := d.parameter(p)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", op.Method, tmpl, err)
				}
				op.Parameters[i] = rp
			}
			if op.Body != nil && op.Body.Ref != "" {
				name := strings.TrimPrefix(op.Body.Ref, "#/components/requestBodies/")
				b, ok := d.bodies[name]
				if !ok {
					return nil, fmt.Errorf("%s %s: unresolved $ref %s", op.Method, tmpl, op.Body.Ref)
				}
				op.Body = b
			}
			op.segments, op.literals, op.greedy = compileTemplate(tmpl)
			d.ops = append(d.ops, op)
			if op.ID != "" {
				d.byID[op.ID] = op
			}
		}
	}
	if len(d.ops) == 0 {
		return nil, errors.New("the OpenAPI description has no operations")
	}
	// A stable order makes ambiguous matches (which the ranking below
	// resolves) deterministic.
	sort.Slice(d.ops, func(i, j int) bool {
		if d.ops[i].Template != d.ops[j].Template {
			return d.ops[i].Template < d.ops[j].Template
		}
		return d.ops[i].Method < d.ops[j].Method
	})
	return d, nil
}

func (d *description) parameter(p *parameter) (*parameter, error) {
	if p.Ref == "" {
		return p, nil
	}
	name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
	rp, ok := d.parameters[name]
	if !ok {
		return nil, fmt.Errorf("unresolved $ref %s", p.Ref)
	}
	return rp, nil
}

// response returns an operation's response description for status, with
// its $ref resolved, or nil.
func (d *description) response(op *operation, status int) *response {
	r := op.Responses[fmt.Sprint(status)]
	if r == nil {
		r = op.Responses["default"]
	}
	if r != nil && r.Ref != "" {
		r = d.responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
	}
	return r
}

func compileTemplate(tmpl string) (segs []segment, literals, greedy int) {
	for _, part := range strings.Split(strings.TrimPrefix(tmpl, "/"), "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			name := part[1 : len(part)-1]
			segs = append(segs, segment{param: name, greedy: greedyParams[name]})
			if greedyParams[name] {
				greedy++
			}
			continue
		}
		segs = append(segs, segment{literal: part})
		literals++
	}
	return segs, literals, greedy
}

// match finds the operation for method and a request path split into
// unescaped segments. It returns the operation (nil if none), its path
// parameters, and whether some operation has that path with another method.
func (d *description) match(method string, parts []string) (*operation, map[string]string, bool) {
	var best *operation
	var bestParams map[string]string
	pathKnown := false
	for _, op := range d.ops {
		params, ok := matchSegments(op.segments, parts)
		if !ok {
			continue
		}
		if op.Method != method {
			pathKnown = true
			continue
		}
		if best == nil || op.literals > best.literals || (op.literals == best.literals && op.greedy < best.greedy) {
			best, bestParams = op, params
		}
	}
	return best, bestParams, pathKnown
}

func matchSegments(segs []segment, parts []string) (map[string]string, bool) {
	params := map[string]string{}
	var walk func(si, pi int) bool
	walk = func(si, pi int) bool {
		if si == len(segs) {
			return pi == len(parts)
		}
		if pi == len(parts) {
			return false
		}
		s := segs[si]
		switch {
		case s.param == "":
			return s.literal == parts[pi] && walk(si+1, pi+1)
		case !s.greedy:
			if parts[pi] == "" {
				return false
			}
			params[s.param] = parts[pi]
			return walk(si+1, pi+1)
		default:
			// The longest span that lets the rest match, so that
			// "contents/a/b/c" gives path "a/b/c".
			rest := len(segs) - si - 1
			for end := len(parts) - rest; end > pi; end-- {
				v := strings.Join(parts[pi:end], "/")
				if v == "" || strings.Contains("/"+v+"/", "//") {
					continue
				}
				params[s.param] = v
				if walk(si+1, end) {
					return true
				}
			}
			return false
		}
	}
	if !walk(0, 0) {
		return nil, false
	}
	return params, true
}

var (
	descMu    sync.Mutex
	descCache = map[string]*description{}
)

// loadDescription parses the gzipped description at path, or the embedded
// one when path is "", once per process: it is 4 MB of JSON and every test
// makes a server.
func loadDescription(path string) (*description, error) {
	descMu.Lock()
	defer descMu.Unlock()
	if d, ok := descCache[path]; ok {
		return d, nil
	}
	name := path
	var f io.ReadCloser
	var err error
	if path == "" {
		name = vendoredOpenAPI + "/" + descriptionFile + " (embedded)"
		f, err = vendored.Open(vendoredOpenAPI + "/" + descriptionFile)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open GitHub's API description: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if path == "" || strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		defer gz.Close()
		r = gz
	}
	d, err := parseDescription(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	descCache[path] = d
	return d, nil
}
