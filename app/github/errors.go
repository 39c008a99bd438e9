package github

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// secondaryWait is how long GitHub's documentation says to wait after a
// secondary rate limit that names no time: "at least one minute".
const secondaryWait = time.Minute

// mapError turns what go-github, ghinstallation or the transport returned
// into the contract's errors (app.Client): app.ErrNotFound, a
// *app.TemporaryError, or a plain error with GitHub's message. what says
// what was being done, for the message.
func (a *App) mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	now := a.now()

	// Rate limits first: go-github also returns these without sending
	// anything while it remembers an exhausted limit.
	var primary *gh.RateLimitError
	if errors.As(err, &primary) {
		return &app.TemporaryError{Err: fmt.Errorf("%s: primary rate limit exhausted: %s", what, primary.Message), At: primary.Rate.Reset.Time}
	}
	var secondary *gh.AbuseRateLimitError
	if errors.As(err, &secondary) {
		at := retryAfter(headerOf(secondary.Response), now)
		if at.IsZero() && secondary.RetryAfter != nil {
			at = now.Add(*secondary.RetryAfter)
		}
		if at.IsZero() {
			at = now.Add(secondaryWait)
		}
		return &app.TemporaryError{Err: fmt.Errorf("%s: secondary rate limit: %s", what, secondary.Message), At: at}
	}

	var accepted *gh.AcceptedError
	if errors.As(err, &accepted) {
		// 202: GitHub is still computing the answer (diffs, statistics).
		return &app.TemporaryError{Err: fmt.Errorf("%s: GitHub is still preparing the answer (202)", what)}
	}

	// A token request that failed; its response body is ours to close.
	var tokenErr *ghinstallation.HTTPError
	if errors.As(err, &tokenErr) {
		return a.mapTokenError(tokenErr, what)
	}

	var resp *gh.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		return a.mapStatus(resp.Response.StatusCode, resp.Response.Header, githubMessage(resp), what)
	}

	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if isTransient(err) {
		return &app.TemporaryError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// mapStatus maps an HTTP error status, with its headers and GitHub's
// message, to the contract.
func (a *App) mapStatus(code int, header http.Header, message, what string) error {
	now := a.now()
	switch {
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w", what, app.ErrNotFound)
	case code == http.StatusTooManyRequests,
		code == http.StatusForbidden && (header.Get("Retry-After") != "" || header.Get("X-RateLimit-Remaining") == "0" ||
			strings.Contains(strings.ToLower(message), "rate limit")):
		at := time.Time{}
		if header.Get("X-RateLimit-Remaining") == "0" {
			at = unixHeader(header.Get("X-RateLimit-Reset"))
		}
		if ra := retryAfter(header, now); !ra.IsZero() {
			at = ra
		}
		if at.IsZero() {
			at = now.Add(secondaryWait)
		}
		return &app.TemporaryError{Err: fmt.Errorf("%s: rate limited (%d): %s", what, code, message), At: at}
	case code >= 500:
		return &app.TemporaryError{Err: fmt.Errorf("%s: GitHub answered %d: %s", what, code, message)}
	default:
		return &app.RejectedError{Status: code, Err: fmt.Errorf("%s: GitHub answered %d: %s", what, code, message)}
	}
}

// mapTokenError handles a failed POST …/access_tokens. A 404 there means the
// installation is gone (or the App's id is wrong), not that the thing asked
// for is missing, so it must not read as app.ErrNotFound.
func (a *App) mapTokenError(e *ghinstallation.HTTPError, what string) error {
	what = fmt.Sprintf("%s: installation %d: get an access token", what, e.InstallationID)
	if e.Response == nil {
		if e.RootCause != nil && errors.Is(e.RootCause, context.Canceled) {
			return fmt.Errorf("%s: %w", what, e.RootCause)
		}
		return &app.TemporaryError{Err: fmt.Errorf("%s: %v", what, e.RootCause)}
	}
	defer e.Response.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(e.Response.Body, 64<<10))
	_ = json.Unmarshal(raw, &body) // GitHub's message if it gave one
	code := e.Response.StatusCode
	err := a.mapStatus(code, e.Response.Header, body.Message, what)
	if _, ok := app.RetryAt(err); ok {
		return err
	}
	hint := "check the App id and private key"
	if code == http.StatusNotFound {
		hint = "is the App still installed?"
	}
	return fmt.Errorf("%s: GitHub answered %d: %s (%s)", what, code, body.Message, hint)
}

// githubMessage is GitHub's explanation of an error response, with the
// field errors of a 422 spelled out.
func githubMessage(r *gh.ErrorResponse) string {
	msg := r.Message
	if msg == "" && r.Response != nil {
		msg = http.StatusText(r.Response.StatusCode)
	}
	var details []string
	for _, e := range r.Errors {
		switch {
		case e.Message != "":
			details = append(details, e.Message)
		case e.Field != "":
			details = append(details, fmt.Sprintf("%s %s: %s", e.Resource, e.Field, e.Code))
		}
	}
	if len(details) > 0 {
		msg += " (" + strings.Join(details, "; ") + ")"
	}
	if r.DocumentationURL != "" {
		msg += " [" + r.DocumentationURL + "]"
	}
	return msg
}

// isTransient reports failures of the connection rather than answers:
// timeouts, refused or reset connections, bodies cut short.
func isTransient(err error) bool {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false // will not pass by itself
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

func headerOf(r *http.Response) http.Header {
	if r == nil {
		return nil
	}
	return r.Header
}

// retryAfter reads Retry-After, in seconds or as an HTTP date; zero when
// absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Time {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

func unixHeader(v string) time.Time {
	s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}
