package localpr

import (
	"encoding/json"
	"fmt"
	"os"
)

// event is the part of a pull_request or pull_request_target payload (the
// file at GITHUB_EVENT_PATH) that the check reads.
type event struct {
	Number      int `json:"number"`
	PullRequest *struct {
		Number int `json:"number"`
		Title  string
		// Body is null when the author wrote none.
		Body  *string `json:"body"`
		Draft bool    `json:"draft"`
		User  struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"user"`
		Labels []struct {
			Name string `json:"name"`
		} `json:"labels"`
		Head struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
			Repo struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// readEvent reads a pull request event file.
func readEvent(path string) (*event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the GitHub Actions event (GITHUB_EVENT_PATH): %w", err)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("read the GitHub Actions event %s: not JSON: %w", path, err)
	}
	if ev.PullRequest == nil {
		return nil, fmt.Errorf("the GitHub Actions event %s has no pull_request: run backstory check on pull_request or pull_request_target events", path)
	}
	pr := ev.PullRequest
	if pr.Head.SHA == "" || pr.Base.SHA == "" {
		return nil, fmt.Errorf("the GitHub Actions event %s lacks pull_request.head.sha or pull_request.base.sha", path)
	}
	if pr.Number == 0 {
		pr.Number = ev.Number
	}
	if ev.Repository.FullName == "" {
		ev.Repository.FullName = pr.Base.Repo.FullName
	}
	return &ev, nil
}
