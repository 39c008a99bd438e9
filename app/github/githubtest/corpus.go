package githubtest

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// vendored holds byte-for-byte copies of the parts of the shared corpus
// the fake and the tests of its users need, so that they run from any
// working directory with no ../shared beside the checkout:
// testdata/openapi/ GitHub's API description (shared/corpus/openapi/) and
// testdata/webhooks/ GitHub's example webhook payloads
// (shared/corpus/webhooks/), each with its licence and provenance.
// TestVendoredCorpusMatchesShared keeps them identical to the shared copy.
//
//go:embed testdata/openapi testdata/webhooks
var vendored embed.FS

const (
	vendoredOpenAPI  = "testdata/openapi"
	vendoredWebhooks = "testdata/webhooks"
)

// PayloadFile is one of GitHub's example webhook payloads.
type PayloadFile struct {
	Event string // the X-GitHub-Event it is delivered with: "pull_request"
	Name  string // its file name: "opened.payload.json"
	Body  []byte
}

// Payload returns the example payload of event named file
// ("pull_request", "opened.payload.json"): a real body GitHub documents,
// from octokit/webhooks, as the shared corpus holds it (see
// testdata/webhooks/README.md for what each event's files are). Its
// installation, repository and pull request are GitHub's examples
// (Codertocat/Hello-World); a test points them at the fake's own. The
// bytes are the caller's to change. A missing payload is an error that
// matches fs.ErrNotExist.
func Payload(event, file string) ([]byte, error) {
	if event == "" || file == "" || strings.Contains(event, "/") || strings.Contains(file, "/") {
		return nil, fmt.Errorf("webhook payload %q/%q: event and file must be plain names: %w", event, file, fs.ErrNotExist)
	}
	body, err := vendored.ReadFile(path.Join(vendoredWebhooks, event, file))
	if err != nil {
		return nil, fmt.Errorf("webhook payload %s/%s: %w", event, file, err)
	}
	return body, nil
}

// Payloads returns every example payload (86 of 15 events), sorted by event
// and then by name.
func Payloads() ([]PayloadFile, error) {
	events, err := vendored.ReadDir(vendoredWebhooks)
	if err != nil {
		return nil, fmt.Errorf("webhook payloads: %w", err)
	}
	var out []PayloadFile
	for _, e := range events {
		if !e.IsDir() {
			continue // the README and the licence
		}
		files, err := vendored.ReadDir(path.Join(vendoredWebhooks, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("webhook payloads: %w", err)
		}
		for _, f := range files {
			if f.IsDir() || !strings.HasSuffix(f.Name(), ".json") {
				continue
			}
			body, err := Payload(e.Name(), f.Name())
			if err != nil {
				return nil, err
			}
			out = append(out, PayloadFile{Event: e.Name(), Name: f.Name(), Body: body})
		}
	}
	return out, nil
}
