package github

import (
	"context"

	"github.com/backstory-dev/backstory/app"
)

// App describes the App the key signs for (GET /app, with the App's JWT).
// The answer is decoded here rather than by go-github, whose v60 types
// drop permissions it does not know (merge_queues).
func (a *App) App(ctx context.Context) (app.AppInfo, error) {
	ctx = withOperation(ctx, "apps/get-authenticated")
	req, err := a.jwtClient.NewRequest("GET", "app", nil)
	if err != nil {
		return app.AppInfo{}, err
	}
	var got struct {
		ID    int64  `json:"id"`
		Slug  string `json:"slug"`
		Name  string `json:"name"`
		Owner struct {
			Login string `json:"login"`
		} `json:"owner"`
		HTMLURL     string            `json:"html_url"`
		Permissions map[string]string `json:"permissions"`
		Events      []string          `json:"events"`
	}
	if _, err := a.jwtClient.Do(ctx, req, &got); err != nil {
		return app.AppInfo{}, a.mapError(err, "describe the App (GET /app)")
	}
	return app.AppInfo{ID: got.ID, Slug: got.Slug, Name: got.Name, Owner: got.Owner.Login, HTMLURL: got.HTMLURL,
		Permissions: got.Permissions, Events: got.Events}, nil
}
