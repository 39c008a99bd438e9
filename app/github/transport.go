package github

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

type operationKey struct{}

// withOperation names the GitHub operation a request belongs to, for
// Calls and the GitHubCalls metric. The name travels in the context because
// go-github builds the request and ghinstallation may slip a token request
// in front of it.
func withOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationOf(req *http.Request) string {
	// ghinstallation's token request carries the context of the call that
	// needed the token.
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/access_tokens") {
		return "apps/create-installation-access-token"
	}
	if op, ok := req.Context().Value(operationKey{}).(string); ok {
		return op
	}
	return "other"
}

// statusClass is the status label of GitHubCalls. 304 stands apart because
// it is what the cache earns: a request GitHub does not charge.
func statusClass(code int) string {
	switch {
	case code == http.StatusNotModified:
		return "304"
	case code >= 100 && code < 600:
		return strconv.Itoa(code/100) + "xx"
	default:
		return "error"
	}
}

// countingTransport is the lowest layer: it sees every request that leaves
// the process, token requests and revalidations included.
type countingTransport struct {
	app  *App
	next http.RoundTripper
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := operationOf(req)
	if req.Header.Get("User-Agent") == "" {
		// ghinstallation's token request sets none, and GitHub refuses
		// requests without one.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.app.userAgent)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.app.countCall(op, "error")
		return nil, err
	}
	t.app.countCall(op, statusClass(resp.StatusCode))
	return resp, nil
}
