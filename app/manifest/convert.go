package manifest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// App is what GitHub returns for a manifest code: the new App's identity and
// credentials.
type App struct {
	ID      int64  `json:"id"`
	Slug    string `json:"slug"`
	Name    string `json:"name"`
	HTMLURL string `json:"html_url"`
	Owner   struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"owner"`
	// PEM is the App's private key.
	PEM string `json:"pem"`
	// WebhookSecret is "" when GitHub made none (null in the response).
	WebhookSecret string `json:"webhook_secret"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	// ExternalURL is the App's homepage: the public address of backstory
	// serve when setup was given one (the manifest's url).
	ExternalURL string `json:"external_url"`
}

// PublicURL is the root address of backstory serve as the App records it,
// "" when the App's homepage is not one (setup was given a relay, or none).
func (a App) PublicURL() string {
	u, err := url.Parse(a.ExternalURL)
	if err != nil || a.ExternalURL == Homepage || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// InstallURL is the page where the App is installed on an account.
func (a App) InstallURL() string {
	return strings.TrimRight(a.HTMLURL, "/") + "/installations/new"
}

// ConversionError is GitHub refusing a manifest code.
type ConversionError struct {
	Status  int
	Message string // GitHub's message, when it gave one
}

func (e *ConversionError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	switch e.Status {
	case http.StatusNotFound:
		return fmt.Sprintf("GitHub does not know this code (%d %s): a code works once and expires after an hour", e.Status, msg)
	case http.StatusUnprocessableEntity:
		return fmt.Sprintf("GitHub refused the code (%d): %s", e.Status, msg)
	default:
		return fmt.Sprintf("GitHub answered %d: %s", e.Status, msg)
	}
}

// Final reports whether trying the same code again cannot help: GitHub
// refused it, rather than failing to answer.
func (e *ConversionError) Final() bool { return e.Status < 500 }

// maxResponse bounds what is read of GitHub's answer; the real one is a few
// kilobytes.
const maxResponse = 1 << 20

// Convert trades a manifest code for the App's credentials:
// POST <api>/app-manifests/{code}/conversions, without authentication. A
// refusal is a *ConversionError.
func Convert(ctx context.Context, client *http.Client, api, code string) (App, error) {
	if client == nil {
		client = http.DefaultClient
	}
	endpoint := strings.TrimRight(api, "/") + "/app-manifests/" + url.PathEscape(code) + "/conversions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return App{}, fmt.Errorf("convert the manifest code: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "backstory-setup")
	resp, err := client.Do(req)
	if err != nil {
		return App{}, fmt.Errorf("convert the manifest code: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return App{}, fmt.Errorf("convert the manifest code: read GitHub's answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var e struct {
			Message string   `json:"message"`
			Errors  []string `json:"errors"`
		}
		_ = json.Unmarshal(body, &e)
		msg := e.Message
		if len(e.Errors) > 0 {
			msg = strings.TrimSpace(msg + " (" + strings.Join(e.Errors, "; ") + ")")
		}
		return App{}, &ConversionError{Status: resp.StatusCode, Message: msg}
	}
	var app App
	if err := json.Unmarshal(body, &app); err != nil {
		return App{}, fmt.Errorf("convert the manifest code: GitHub's answer is not the expected JSON: %w", err)
	}
	if err := app.validate(); err != nil {
		return App{}, fmt.Errorf("convert the manifest code: %w", err)
	}
	return app, nil
}

func (a App) validate() error {
	var missing []string
	if a.ID <= 0 {
		missing = append(missing, "id")
	}
	if a.Slug == "" {
		missing = append(missing, "slug")
	}
	if a.HTMLURL == "" {
		missing = append(missing, "html_url")
	}
	if a.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if a.ClientSecret == "" {
		missing = append(missing, "client_secret")
	}
	if a.PEM == "" {
		missing = append(missing, "pem")
	}
	if len(missing) > 0 {
		return fmt.Errorf("GitHub's answer lacks %s", strings.Join(missing, ", "))
	}
	if block, _ := pem.Decode([]byte(a.PEM)); block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
		return errors.New("GitHub's answer holds no PEM private key in pem")
	}
	if strings.ContainsAny(a.Slug, "/\\\x00") || strings.HasPrefix(a.Slug, ".") {
		return fmt.Errorf("GitHub's answer has an unusable slug %q", a.Slug)
	}
	return nil
}
