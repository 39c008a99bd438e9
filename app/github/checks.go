package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/backstory-dev/backstory/app"
)

// GitHub's limits on a check run (checks/create, checks/update).
const (
	maxOutputChars     = 65535
	maxAnnotationBatch = 50
	maxActions         = 3
	maxActionLabel     = 20
	maxActionDesc      = 40
	maxActionID        = 20
)

// FindCheckRun returns the id of the newest check run named name on sha
// that this App created (checks/list-for-ref, filter=latest), or
// app.ErrNotFound.
func (c *installation) FindCheckRun(ctx context.Context, repo, sha, name string) (app.FoundCheckRun, error) {
	owner, repoName, err := splitRepo(repo)
	if err != nil {
		return app.FoundCheckRun{}, err
	}
	if sha == "" || name == "" {
		return app.FoundCheckRun{}, fmt.Errorf("find check run on %s: want a head sha and a name (got %q, %q)", repo, sha, name)
	}
	ctx = withOperation(ctx, "checks/list-for-ref")
	what := fmt.Sprintf("find check run %q on %s@%s", name, repo, sha)
	opts := &gh.ListCheckRunsOptions{
		CheckName:   gh.String(name),
		Filter:      gh.String("latest"),
		AppID:       gh.Int64(c.app.appID),
		ListOptions: gh.ListOptions{PerPage: perPage, Page: 1},
	}
	var newest app.FoundCheckRun
	for {
		res, resp, err := c.api.Checks.ListCheckRunsForRef(ctx, owner, repoName, sha, opts)
		if err != nil {
			return app.FoundCheckRun{}, c.mapError(err, what)
		}
		for _, r := range res.CheckRuns {
			// GitHub filters by app_id already; the check keeps a run of
			// another App with the same name from being taken over if a
			// server ignores the filter.
			if r.GetApp().GetID() != 0 && r.GetApp().GetID() != c.app.appID {
				continue
			}
			if r.GetName() == name && r.GetID() > newest.ID {
				newest = app.FoundCheckRun{ID: r.GetID(), Annotations: r.GetOutput().GetAnnotationsCount()}
			}
		}
		if resp.NextPage == 0 || len(res.CheckRuns) == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if newest.ID == 0 {
		return app.FoundCheckRun{}, fmt.Errorf("%s: %w", what, app.ErrNotFound)
	}
	return newest, nil
}

// checkRunBody is the body of checks/create and checks/update. It is ours
// rather than go-github's so that an update without a name leaves the name
// alone instead of sending "".
type checkRunBody struct {
	Name        string               `json:"name,omitempty"`
	HeadSHA     string               `json:"head_sha,omitempty"`
	DetailsURL  string               `json:"details_url,omitempty"`
	ExternalID  string               `json:"external_id,omitempty"`
	Status      string               `json:"status,omitempty"`
	Conclusion  string               `json:"conclusion,omitempty"`
	CompletedAt *gh.Timestamp        `json:"completed_at,omitempty"`
	Output      *checkRunOutput      `json:"output,omitempty"`
	Actions     []*gh.CheckRunAction `json:"actions,omitempty"`
}

type checkRunOutput struct {
	Title       string                   `json:"title"`
	Summary     string                   `json:"summary"`
	Text        string                   `json:"text,omitempty"`
	Annotations []*gh.CheckRunAnnotation `json:"annotations,omitempty"`
}

// CreateCheckRun creates a check run with the first 50 annotations
// (checks/create), then sends the rest 50 at a time (checks/update), which
// GitHub appends.
func (c *installation) CreateCheckRun(ctx context.Context, repo string, run app.CheckRunWrite) (int64, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, err
	}
	what := fmt.Sprintf("create check run %q on %s@%s", run.Name, repo, run.HeadSHA)
	if run.Name == "" || run.HeadSHA == "" {
		return 0, fmt.Errorf("%s: a check run needs a name and a head sha", what)
	}
	if err := validateCheckRun(run); err != nil {
		return 0, &app.RejectedError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	body, rest := c.checkRunBody(run)
	body.Name, body.HeadSHA = run.Name, run.HeadSHA
	req, err := c.api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/check-runs", owner, name), body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	var created gh.CheckRun
	if _, err := c.api.Do(withOperation(ctx, "checks/create"), req, &created); err != nil {
		return 0, c.mapError(err, what)
	}
	id := created.GetID()
	if id == 0 {
		return 0, fmt.Errorf("%s: GitHub answered without a check run id", what)
	}
	if err := c.appendAnnotations(ctx, owner, name, id, run, rest); err != nil {
		return id, fmt.Errorf("%s: created check run %d, but: %w", what, id, err)
	}
	return id, nil
}

// UpdateCheckRun rewrites check run id (checks/update), the first 50
// annotations with it and the rest in further requests.
func (c *installation) UpdateCheckRun(ctx context.Context, repo string, id int64, run app.CheckRunWrite) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("update check run %d on %s", id, repo)
	if id <= 0 {
		return fmt.Errorf("%s: no such id", what)
	}
	if err := validateCheckRun(run); err != nil {
		return &app.RejectedError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	body, rest := c.checkRunBody(run)
	body.Name = run.Name
	if err := c.patchCheckRun(ctx, owner, name, id, body); err != nil {
		return c.mapError(err, what)
	}
	if err := c.appendAnnotations(ctx, owner, name, id, run, rest); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkRunBody is everything but name and head sha, with at most the first
// 50 annotations; rest are the annotations left for further requests.
func (c *installation) checkRunBody(run app.CheckRunWrite) (body checkRunBody, rest []app.Annotation) {
	body = checkRunBody{
		DetailsURL: run.DetailsURL,
		ExternalID: run.ExternalID,
		Status:     run.Status,
		Conclusion: run.Conclusion,
	}
	switch {
	case !run.CompletedAt.IsZero():
		body.CompletedAt = &gh.Timestamp{Time: run.CompletedAt}
	case run.Status == "completed" || run.Conclusion != "":
		body.CompletedAt = &gh.Timestamp{Time: c.app.now().UTC().Truncate(time.Second)}
	}
	first := run.Annotations
	if len(first) > maxAnnotationBatch {
		first, rest = first[:maxAnnotationBatch], first[maxAnnotationBatch:]
	}
	if run.Title != "" || run.Summary != "" || run.Text != "" || len(first) > 0 {
		body.Output = &checkRunOutput{Title: run.Title, Summary: run.Summary, Text: run.Text, Annotations: annotations(first)}
	}
	for _, a := range run.Actions {
		body.Actions = append(body.Actions, &gh.CheckRunAction{Label: a.Label, Description: a.Description, Identifier: a.Identifier})
	}
	return body, rest
}

// appendAnnotations sends annotations beyond the first 50, 50 a request,
// each with the output's title, summary and text, which GitHub requires
// with every output.
func (c *installation) appendAnnotations(ctx context.Context, owner, name string, id int64, run app.CheckRunWrite, rest []app.Annotation) error {
	sent := len(run.Annotations) - len(rest)
	for len(rest) > 0 {
		batch := rest
		if len(batch) > maxAnnotationBatch {
			batch = batch[:maxAnnotationBatch]
		}
		body := checkRunBody{Output: &checkRunOutput{Title: run.Title, Summary: run.Summary, Text: run.Text, Annotations: annotations(batch)}}
		if err := c.patchCheckRun(ctx, owner, name, id, body); err != nil {
			return c.mapError(err, fmt.Sprintf("send annotations %d to %d of %d", sent+1, sent+len(batch), len(run.Annotations)))
		}
		sent += len(batch)
		rest = rest[len(batch):]
	}
	return nil
}

func (c *installation) patchCheckRun(ctx context.Context, owner, name string, id int64, body checkRunBody) error {
	req, err := c.api.NewRequest(http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), body)
	if err != nil {
		return err
	}
	_, err = c.api.Do(withOperation(ctx, "checks/update"), req, nil)
	return err
}

func annotations(as []app.Annotation) []*gh.CheckRunAnnotation {
	out := make([]*gh.CheckRunAnnotation, 0, len(as))
	for _, a := range as {
		ga := &gh.CheckRunAnnotation{
			Path:            gh.String(a.Path),
			StartLine:       gh.Int(a.StartLine),
			EndLine:         gh.Int(a.EndLine),
			AnnotationLevel: gh.String(a.Level),
			Message:         gh.String(a.Message),
		}
		if a.Title != "" {
			ga.Title = gh.String(a.Title)
		}
		out = append(out, ga)
	}
	return out
}

// validateCheckRun refuses what GitHub would refuse with a bare 422, and
// says which field and why. Nothing is cut short here: what to leave out of
// an overlong summary is the engine's choice.
func validateCheckRun(run app.CheckRunWrite) error {
	var errs []error
	if n := utf8.RuneCountInString(run.Summary); n > maxOutputChars {
		errs = append(errs, fmt.Errorf("summary is %d characters, over GitHub's %d", n, maxOutputChars))
	}
	if n := utf8.RuneCountInString(run.Text); n > maxOutputChars {
		errs = append(errs, fmt.Errorf("text is %d characters, over GitHub's %d", n, maxOutputChars))
	}
	if (run.Text != "" || len(run.Annotations) > 0) && (run.Title == "" || run.Summary == "") {
		errs = append(errs, errors.New("an output with text or annotations needs a title and a summary"))
	}
	switch run.Status {
	case "", "queued", "in_progress", "completed":
	default:
		errs = append(errs, fmt.Errorf("status %q: want queued, in_progress or completed", run.Status))
	}
	if run.Status == "completed" && run.Conclusion == "" {
		errs = append(errs, errors.New("status completed needs a conclusion"))
	}
	if len(run.Actions) > maxActions {
		errs = append(errs, fmt.Errorf("%d actions, over GitHub's %d", len(run.Actions), maxActions))
	}
	for i, a := range run.Actions {
		for _, f := range []struct {
			field, v string
			max      int
		}{{"label", a.Label, maxActionLabel}, {"description", a.Description, maxActionDesc}, {"identifier", a.Identifier, maxActionID}} {
			n := utf8.RuneCountInString(f.v)
			if n == 0 {
				errs = append(errs, fmt.Errorf("action %d: empty %s", i+1, f.field))
			} else if n > f.max {
				errs = append(errs, fmt.Errorf("action %d: %s %q is %d characters, over GitHub's %d", i+1, f.field, f.v, n, f.max))
			}
		}
	}
	for i, a := range run.Annotations {
		switch {
		case a.Path == "":
			errs = append(errs, fmt.Errorf("annotation %d: empty path", i+1))
		case a.StartLine < 1 || a.EndLine < a.StartLine:
			errs = append(errs, fmt.Errorf("annotation %d on %s: lines %d to %d: want 1 <= start <= end", i+1, a.Path, a.StartLine, a.EndLine))
		case a.Level != "notice" && a.Level != "warning" && a.Level != "failure":
			errs = append(errs, fmt.Errorf("annotation %d on %s: level %q: want notice, warning or failure", i+1, a.Path, a.Level))
		case a.Message == "":
			errs = append(errs, fmt.Errorf("annotation %d on %s: empty message", i+1, a.Path))
		}
	}
	return joinProblems(errs)
}

// joinProblems makes one line of at most ten problems, so that a log line
// stays a line.
func joinProblems(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	var msgs []string
	for i, e := range errs {
		if i == 10 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(errs)-10))
			break
		}
		msgs = append(msgs, e.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}
