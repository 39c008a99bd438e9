package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/backstory-dev/backstory/app"
	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// reference reads what parse reads, with encoding/json decoding into a
// map: the semantics parse promises (exact keys, last repeated key wins,
// null is absent, a wrong type is an error). errWrongType marks a valid
// document whose fields have the wrong type.
func reference(event string, body []byte) (app.Delivery, error) {
	var d app.Delivery
	if !json.Valid(body) {
		return d, errors.New("invalid")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return d, err
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return d, errors.New("not an object")
	}
	str := func(v any) (string, bool) {
		if v == nil {
			return "", true
		}
		s, ok := v.(string)
		return s, ok
	}
	object := func(v any) (map[string]any, bool) {
		if v == nil {
			return nil, true
		}
		m, ok := v.(map[string]any)
		return m, ok
	}
	if d.Action, ok = str(obj["action"]); !ok {
		return d, errWrongType
	}
	inst, ok := object(obj["installation"])
	if !ok {
		return d, errWrongType
	}
	if id := inst["id"]; id != nil {
		n, isNum := id.(json.Number)
		if !isNum {
			return d, errWrongType
		}
		v, err := n.Int64()
		if err != nil {
			return d, errWrongType
		}
		d.InstallationID = v
	}
	repo, ok := object(obj["repository"])
	if !ok {
		return d, errWrongType
	}
	if d.Repository, ok = str(repo["full_name"]); !ok {
		return d, errWrongType
	}
	var sha string
	switch event {
	case "pull_request":
		pr, ok := object(obj["pull_request"])
		if !ok {
			return d, errWrongType
		}
		head, ok := object(pr["head"])
		if !ok {
			return d, errWrongType
		}
		if sha, ok = str(head["sha"]); !ok {
			return d, errWrongType
		}
	case "check_suite", "check_run", "merge_group":
		holder, ok := object(obj[event])
		if !ok {
			return d, errWrongType
		}
		if sha, ok = str(holder["head_sha"]); !ok {
			return d, errWrongType
		}
	}
	if sha != "" && d.Repository != "" {
		d.Key = d.Repository + "@" + sha
	}
	return d, nil
}

var errWrongType = errors.New("wrong type")

// same compares what parse reads.
func same(a, b app.Delivery) bool {
	return a.Action == b.Action && a.InstallationID == b.InstallationID && a.Repository == b.Repository && a.Key == b.Key
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, event, body string
		want              app.Delivery
		err               string
	}{
		{name: "pull request", event: "pull_request",
			body: `{"action":"opened","installation":{"id":42,"node_id":"x"},"repository":{"id":1,"full_name":"o/r"},"pull_request":{"head":{"ref":"b","sha":"abc"},"base":{"sha":"def"}}}`,
			want: app.Delivery{Action: "opened", InstallationID: 42, Repository: "o/r", Key: "o/r@abc"}},
		{name: "check run", event: "check_run",
			body: `{"action":"rerequested","check_run":{"head_sha":"abc","pull_requests":[{"head":{"sha":"zzz"}}]},"repository":{"full_name":"o/r"}}`,
			want: app.Delivery{Action: "rerequested", Repository: "o/r", Key: "o/r@abc"}},
		{name: "another event's holder is not read", event: "push",
			body: `{"pull_request":5,"check_run":{"head_sha":1},"repository":{"full_name":"o/r"}}`,
			want: app.Delivery{Repository: "o/r"}},
		{name: "pull_request_review is not ordered", event: "pull_request_review",
			body: `{"pull_request":{"head":{"sha":"abc"}},"repository":{"full_name":"o/r"}}`,
			want: app.Delivery{Repository: "o/r"}},
		{name: "no repository, no key", event: "check_suite", body: `{"check_suite":{"head_sha":"abc"}}`, want: app.Delivery{}},
		{name: "escapes", event: "pull_request",
			body: `{"act\u0069on":"op\u00e9n\"ed","repository":{"full_name":"o\/r"},"pull_request":{"head":{"sha":"a\tb"}}}`,
			want: app.Delivery{Action: "opén\"ed", Repository: "o/r", Key: "o/r@a\tb"}},
		{name: "invalid UTF-8 becomes U+FFFD", event: "ping", body: "{\"action\":\"a\xffb\"}", want: app.Delivery{Action: "a\uFFFDb"}},
		{name: "last repeated key wins", event: "pull_request",
			body: `{"action":"a","action":"b","installation":{"id":1},"installation":null,"repository":{"full_name":"x"},"repository":{"id":3}}`,
			want: app.Delivery{Action: "b"}},
		{name: "keys match exactly", event: "ping", body: `{"Action":"opened","INSTALLATION":{"id":1}}`, want: app.Delivery{}},
		{name: "nulls", event: "pull_request", body: `{"action":null,"installation":{"id":null},"repository":null,"pull_request":{"head":null}}`, want: app.Delivery{}},
		{name: "negative id", event: "ping", body: `{"installation":{"id":-7}}`, want: app.Delivery{InstallationID: -7}},
		{name: "whitespace around", event: "ping", body: " \r\n\t{ \"action\" : \"x\" } \n", want: app.Delivery{Action: "x"}},
		{name: "deep but legal", event: "ping", body: `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, want: app.Delivery{}},

		{name: "too deep", event: "ping", body: `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, err: "nested too deeply"},
		{name: "array", event: "ping", body: `[]`, err: "not a JSON object"},
		{name: "string", event: "ping", body: `"x"`, err: "not a JSON object"},
		{name: "empty", event: "ping", body: ``, err: "not a JSON object"},
		{name: "two objects", event: "ping", body: `{}{}`, err: "after the top-level object"},
		{name: "unterminated", event: "ping", body: `{"action":"x`, err: "unexpected end"},
		{name: "trailing comma", event: "ping", body: `{"a":1,}`, err: "where an object key should be"},
		{name: "leading zero", event: "ping", body: `{"a":01}`, err: `unexpected '1' at byte 6`},
		{name: "bare minus", event: "ping", body: `{"a":-}`, err: "in a number"},
		{name: "fraction without digits", event: "ping", body: `{"a":1.}`, err: "fraction"},
		{name: "exponent without digits", event: "ping", body: `{"a":1e+}`, err: "exponent"},
		{name: "bad escape", event: "ping", body: `{"a":"\x"}`, err: "escape"},
		{name: "short unicode escape", event: "ping", body: `{"a":"\u12"}`, err: `\u escape`},
		{name: "control character", event: "ping", body: "{\"a\":\"x\ny\"}", err: "control character"},
		{name: "bad literal", event: "ping", body: `{"a":nul}`, err: "literal"},
		{name: "literal with a tail", event: "ping", body: `{"a":truex}`, err: "after an object value"},
		{name: "single quotes", event: "ping", body: `{'a':1}`, err: "object key"},
		{name: "action a number", event: "ping", body: `{"action":5}`, err: "action is not a string"},
		{name: "installation an array", event: "ping", body: `{"installation":[1]}`, err: "installation is not an object"},
		{name: "installation id fractional", event: "ping", body: `{"installation":{"id":1.5}}`, err: "installation.id is not an integer"},
		{name: "installation id too big", event: "ping", body: `{"installation":{"id":9223372036854775808}}`, err: "installation.id is not an integer"},
		{name: "head a string", event: "pull_request", body: `{"pull_request":{"head":"abc"}}`, err: "pull_request.head is not an object"},
		{name: "wrong type inside invalid JSON", event: "ping", body: `{"action":{"x":}}`, err: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.event, []byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !same(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParse checks parse against encoding/json: the same documents are
// valid, and the same values come out.
func FuzzParse(f *testing.F) {
	files, err := githubtest.Payloads()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		f.Add(p.Event, p.Body)
	}
	for _, body := range []string{
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":-0.5e+3}`, `{"action":"\ud800"}`, "{\"action\":\"\xc3\x28\"}",
		`{"installation":{"id":1e2}}`, `{"pull_request":{"head":{"sha":"x"}},"repository":{"full_name":"o/r"}}`,
		`{"check_run":{"head_sha":"x"},"repository":{"full_name":"o/r"}}`, ` {"a" : true , "b":false}`,
	} {
		f.Add("pull_request", []byte(body))
		f.Add("check_run", []byte(body))
	}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		got, err := parse(event, body)
		want, refErr := reference(event, body)
		switch {
		case err == nil && refErr != nil:
			t.Fatalf("parse accepted what encoding/json does not (%v): %q", refErr, body)
		case err != nil && refErr == nil:
			t.Fatalf("parse refused what encoding/json accepts (%v): %q", err, body)
		case err == nil && !same(got, want):
			t.Fatalf("parse read %+v, encoding/json %+v, from %q", got, want, body)
		case err != nil && errors.Is(refErr, errWrongType) != strings.HasPrefix(err.Error(), "payload field "):
			t.Fatalf("parse says %v, encoding/json %v, of %q", err, refErr, body)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	body := corpusPayload(b, "pull_request", "labeled.payload.json")
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parse("pull_request", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What json.Unmarshal into a struct of the same fields costs, for
	// comparison.
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var e struct {
				Action       string
				Installation *struct{ ID int64 }
				Repository   *struct {
					FullName string `json:"full_name"`
				}
				PullRequest *struct {
					Head struct{ SHA string }
				} `json:"pull_request"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
