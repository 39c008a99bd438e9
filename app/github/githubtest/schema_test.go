package githubtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSchemaValidator checks each keyword of the validator on small
// schemas, with a value that passes and values that fail.
func TestSchemaValidator(t *testing.T) {
	components := map[string]string{
		"user":          `{"type":"object","required":["login"],"properties":{"login":{"type":"string"}}}`,
		"nullable-user": `{"type":"object","nullable":true,"required":["login"],"properties":{"login":{"type":"string"}}}`,
	}
	d := &description{schemas: map[string]*schema{}}
	for name, js := range components {
		var s schema
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			t.Fatal(err)
		}
		d.schemas[name] = &s
	}
	vd := &validator{d: d}
	tests := []struct {
		name   string
		schema string
		value  string
		want   string // a substring of the errors; "" for none
	}{
		{"type string ok", `{"type":"string"}`, `"x"`, ""},
		{"type string wrong", `{"type":"string"}`, `5`, `5 is not a string.`},
		{"integer ok", `{"type":"integer"}`, `12345678901234`, ""},
		{"integer not fractional", `{"type":"integer"}`, `1.5`, `1.5 is not an integer.`},
		{"integer not exponent", `{"type":"integer"}`, `1e3`, `is not an integer`},
		{"number takes fractions", `{"type":"number"}`, `1.5`, ""},
		{"boolean wrong", `{"type":"boolean"}`, `"true"`, `"true" is not a boolean.`},
		{"null refused", `{"type":"string"}`, `null`, `null is not a string.`},
		{"nullable", `{"type":"string","nullable":true}`, `null`, ""},
		{"untyped takes anything", `{}`, `null`, ""},
		{"required one", `{"type":"object","required":["name","head_sha"]}`, `{"name":"x"}`, `"head_sha" wasn't supplied.`},
		{"required several", `{"type":"object","required":["name","head_sha"]}`, `{}`, `"name", "head_sha" weren't supplied.`},
		{"nested place", `{"type":"object","properties":{"output":{"type":"object","required":["summary"]}}}`, `{"output":{}}`, `For 'output', "summary" wasn't supplied.`},
		{"additionalProperties false", `{"type":"object","properties":{"a":{}},"additionalProperties":false}`, `{"a":1,"b":2}`, `"b" is not a permitted key.`},
		{"additionalProperties schema", `{"type":"object","additionalProperties":{"type":"string"}}`, `{"a":1}`, `For 'a', 1 is not a string.`},
		{"additionalProperties default", `{"type":"object","properties":{"a":{}}}`, `{"b":2}`, ""},
		{"enum ok", `{"type":"string","enum":["queued","in_progress","completed"]}`, `"queued"`, ""},
		{"enum wrong", `{"type":"string","enum":["queued","in_progress","completed"]}`, `"waiting"`, `"waiting" is not a member of ["queued", "in_progress", "completed"].`},
		{"enum numbers by value", `{"enum":[1,2]}`, `2.0`, ""},
		{"maxLength counts characters", `{"type":"string","maxLength":3}`, `"ééé"`, ""},
		{"maxLength exceeded", `{"type":"string","maxLength":3}`, `"abcd"`, `is too long (4 characters; the maximum is 3).`},
		{"minLength", `{"type":"string","minLength":2}`, `"a"`, `is too short (1 characters; the minimum is 2).`},
		{"maxItems", `{"type":"array","maxItems":2}`, `[1,2,3]`, `3 items are more than the maximum of 2.`},
		{"minItems", `{"type":"array","minItems":1}`, `[]`, `0 items are fewer than the minimum of 1.`},
		{"items", `{"type":"array","items":{"type":"integer"}}`, `[1,"2"]`, `For '1', "2" is not an integer.`},
		{"uniqueItems", `{"type":"array","uniqueItems":true}`, `["a","a"]`, `not unique`},
		{"minimum", `{"type":"integer","minimum":1}`, `0`, `0 is less than the minimum of 1.`},
		{"maximum", `{"type":"integer","maximum":100}`, `101`, `101 is greater than the maximum of 100.`},
		{"exclusiveMaximum", `{"type":"number","maximum":1,"exclusiveMaximum":true}`, `1`, `greater than the maximum`},
		{"pattern", `{"type":"string","pattern":"^[a-z]+$"}`, `"ab1"`, `does not match /^[a-z]+$/.`},
		{"date-time ok", `{"type":"string","format":"date-time"}`, `"2024-03-01T10:00:00Z"`, ""},
		{"date-time wrong", `{"type":"string","format":"date-time"}`, `"2024-03-01 10:00"`, `is not an ISO 8601 date-time`},
		{"uri wrong", `{"type":"string","format":"uri"}`, `"not a uri"`, `is not an absolute URI.`},
		{"$ref", `{"$ref":"#/components/schemas/user"}`, `{}`, `"login" wasn't supplied.`},
		{"$ref nullable target", `{"$ref":"#/components/schemas/nullable-user"}`, `null`, ""},
		{"$ref to nothing", `{"$ref":"#/components/schemas/nobody"}`, `{}`, `unresolved $ref`},
		{"allOf all apply", `{"allOf":[{"$ref":"#/components/schemas/user"},{"type":"object","required":["pem"]}]}`, `{"login":"a"}`, `"pem" wasn't supplied.`},
		{"anyOf one suffices", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `3`, ""},
		{"anyOf none", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `true`, `matches none of the 2 alternatives (anyOf)`},
		{"oneOf exactly one", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `"a"`, ""},
		{"oneOf two match", `{"oneOf":[{"type":"number"},{"type":"integer"}]}`, `3`, `matches alternatives [1 2] of a oneOf`},
		{
			"oneOf none, closest reported",
			`{"type":"object","oneOf":[{"properties":{"status":{"enum":["completed"]}},"required":["status","conclusion"]},{"properties":{"status":{"enum":["queued","in_progress"]}}}]}`,
			`{"status":"completed"}`,
			`the closest fails: "conclusion" wasn't supplied.`,
		},
		{"not", `{"not":{"type":"string"}}`, `"a"`, `matches a schema it must not`},
		{"long values are shortened", `{"type":"integer"}`, `"` + strings.Repeat("x", 500) + `"`, `x… is not an integer.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s schema
			if err := json.Unmarshal([]byte(tt.schema), &s); err != nil {
				t.Fatalf("schema: %v", err)
			}
			v, err := decodeJSON([]byte(tt.value))
			if err != nil {
				t.Fatalf("value: %v", err)
			}
			errs := vd.validate(&s, v)
			got := joinErrors(errs)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("errors for a valid value: %s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("errors %q do not contain %q", got, tt.want)
			}
			if len(got) > 400 {
				t.Errorf("message of %d characters: values in messages must be shortened", len(got))
			}
		})
	}
}

func TestDecodeJSONRejectsTrailingData(t *testing.T) {
	if _, err := decodeJSON([]byte(`{"a":1} {"b":2}`)); err == nil {
		t.Error("two JSON values accepted as one")
	}
}
