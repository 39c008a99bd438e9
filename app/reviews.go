package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backstory-dev/backstory/content"
)

// reviewsConfig is the "reviews" part of .github/backstory.yml, the
// repository's keys over the org's:
//
//	reviews:
//	  open_issues: true            # one issue per decision due for review
//	  labels: [decision-review]    # labels for those issues
type reviewsConfig struct {
	OpenIssues bool
	Labels     []string
}

func parseReviewsConfig(files ...[]byte) (reviewsConfig, error) {
	var cfg reviewsConfig
	for _, data := range files {
		if len(data) == 0 {
			continue
		}
		var doc struct {
			Reviews struct {
				OpenIssues *bool     `yaml:"open_issues"`
				Labels     *[]string `yaml:"labels"`
			} `yaml:"reviews"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return reviewsConfig{}, fmt.Errorf("reviews: %w", err)
		}
		if doc.Reviews.OpenIssues != nil {
			cfg.OpenIssues = *doc.Reviews.OpenIssues
		}
		if doc.Reviews.Labels != nil {
			cfg.Labels = *doc.Reviews.Labels
		}
	}
	return cfg, nil
}

// reviewDue reports whether a decision's review date has passed without a
// review that answers it.
func reviewDue(r *content.Record, now time.Time) bool {
	return r.Kind == content.KindDecision && r.Status == content.StatusAccepted &&
		!r.ReviewBy.IsZero() && r.ReviewBy.Before(now) && !r.Reviewed()
}

// ReviewsOutcome is what a build did about decisions due for review.
type ReviewsOutcome struct {
	// Due counts the decisions past their review date, in every
	// repository.
	Due int `json:"due"`
	// Opened are the issues opened by this build ("owner/repo#12").
	Opened []string `json:"opened,omitempty"`
	// Failed says, per decision, why its issue could not be opened; it is
	// tried again at the next build.
	Failed []string `json:"failed,omitempty"`
}

// reviewMarker is the hidden line by which an issue backstory opened is
// found again, should it crash between opening it and storing its number.
func reviewMarker(r ReviewIssue) string {
	return fmt.Sprintf("<!-- backstory:review %s:%s %s -->", strings.ToLower(r.Repository), r.Record, r.ReviewBy)
}

// openReviewIssues opens, in every repository whose configuration asks for
// it (reviews.open_issues), one issue per decision due for review, never
// two for the same decision and review date. A failure is logged and
// reported, never fails the build: the next build tries again.
func (a *App) openReviewIssues(ctx context.Context, log *slog.Logger, c Client, states []*repoState, orgData []byte) ReviewsOutcome {
	var out ReviewsOutcome
	now := a.now()
	for _, st := range states {
		var due []*content.Record
		for _, r := range st.Corpus.Records {
			if reviewDue(r, now) {
				due = append(due, r)
			}
		}
		out.Due += len(due)
		if len(due) == 0 {
			continue
		}
		cfg, err := parseReviewsConfig(orgData, st.ConfigData)
		if err != nil {
			out.Failed = append(out.Failed, fmt.Sprintf("%s: .github/backstory.yml: %v", st.Repo, err))
			continue
		}
		if !cfg.OpenIssues {
			continue
		}
		var issues *[]Issue // listed once per repository, when needed
		for _, r := range due {
			number, opened, err := a.openReviewIssue(ctx, c, st, r, cfg, &issues)
			switch {
			case IsRejected(err):
				// GitHub will refuse the others too (no permission, issues
				// turned off): say so once, and try again at the next
				// build.
				log.Warn("could not open issues for decisions due for review; the next build tries again",
					"repository", st.Repo, "due", len(due), "err", err)
				out.Failed = append(out.Failed, fmt.Sprintf("%s: %d decisions due for review: %v", st.Repo, len(due), err))
			case err != nil:
				log.Warn("could not open the issue for a decision due for review; the next build tries again",
					"repository", st.Repo, "record", r.ID, "err", err)
				out.Failed = append(out.Failed, fmt.Sprintf("%s:%s: %v", st.Repo, r.ID, err))
			case opened:
				log.Info("issue opened for a decision due for review", "repository", st.Repo, "record", r.ID, "issue", number)
				out.Opened = append(out.Opened, fmt.Sprintf("%s#%d", st.Repo, number))
			}
			if IsRejected(err) {
				break
			}
		}
	}
	return out
}

// reviewSearchMargin is how long before its reservation an issue opened
// for it may be dated: the replicas' clocks and GitHub's may disagree.
const reviewSearchMargin = 24 * time.Hour

// openReviewIssue opens the review issue of r unless it was opened before;
// it reports the issue's number and whether this call opened it.
func (a *App) openReviewIssue(ctx context.Context, c Client, st *repoState, r *content.Record, cfg reviewsConfig, listed **[]Issue) (int, bool, error) {
	want := ReviewIssue{Repository: st.Repo, Record: r.ID, ReviewBy: r.ReviewBy.String(), ReservedAt: a.now().UTC()}
	got, reserved, err := a.store.ReserveReview(ctx, want)
	if err != nil {
		return 0, false, err
	}
	if !reserved {
		if got.Number != 0 {
			return got.Number, false, nil // opened before
		}
		// Reserved by an attempt that did not record a number: it may
		// have opened the issue before it stopped. Look for it.
		if *listed == nil {
			issues, err := c.Issues(ctx, st.Repo, got.ReservedAt.Add(-reviewSearchMargin))
			if err != nil {
				return 0, false, fmt.Errorf("look for an issue opened before: %w", err)
			}
			*listed = &issues
		}
		marker := reviewMarker(got)
		for _, is := range **listed {
			if strings.Contains(is.Body, marker) {
				got.Number = is.Number
				if err := a.store.SaveReview(ctx, got); err != nil {
					return 0, false, err
				}
				return is.Number, false, nil
			}
		}
		want = got
	}
	number, err := c.CreateIssue(ctx, st.Repo, reviewIssue(want, r, st, cfg))
	if err != nil {
		if IsRejected(err) {
			return 0, false, fmt.Errorf("GitHub refused to open it (does the App have the issues: write permission, and does %s have issues turned on?): %w", st.Repo, err)
		}
		return 0, false, err
	}
	want.Number = number
	if err := a.store.SaveReview(ctx, want); err != nil {
		return number, true, err
	}
	return number, true, nil
}

// reviewIssue writes the issue that asks a team to review a decision.
func reviewIssue(ri ReviewIssue, r *content.Record, st *repoState, cfg reviewsConfig) IssueWrite {
	title := fmt.Sprintf("Review due: %s %s", r.ID, r.Title)
	if len(title) > 250 {
		title = title[:250] + "…"
	}
	link := r.ID + " " + r.Title
	if st.Records != nil && st.Records.SourceURL != "" {
		link = fmt.Sprintf("[%s %s](%s%s)", r.ID, r.Title, st.Records.SourceURL, r.Path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The decision **%s** asked to be reviewed by **%s**.\n\n", link, ri.ReviewBy)
	if s := r.Section("How we will know"); s != nil && strings.TrimSpace(s.Body) != "" {
		b.WriteString("It said this is how we would know whether it was right:\n\n")
		for _, line := range strings.Split(strings.TrimSpace(s.Body), "\n") {
			b.WriteString(strings.TrimRight("> "+line, " ") + "\n")
		}
		b.WriteString("\n")
	} else {
		b.WriteString("It did not say how we would know whether it was right: say what you found anyway, and what would have told you sooner.\n\n")
	}
	fmt.Fprintf(&b, "**To close this review**, record the outcome in `%s`, then close this issue:\n\n", r.Path)
	b.WriteString("```markdown\n## Review\n\nOutcome: right | wrong | mixed\nDate: YYYY-MM-DD\n\nWhat we found, measured against the section above, and what we would do differently.\n```\n\n")
	b.WriteString("If the decision no longer holds, supersede it with a new decision record instead. backstory opens one issue per decision and review date; a new `review_by` date asks again.\n\n")
	b.WriteString(reviewMarker(ri) + "\n")
	return IssueWrite{Title: title, Body: b.String(), Labels: cfg.Labels}
}
