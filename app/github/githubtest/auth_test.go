package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAppJWT(t *testing.T) {
	s := fixture(t)
	now := time.Now()
	other, err := rsa.GenerateKey(rand.Reader, 1024) // small: only its signature has to be wrong
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(s.AppID, 10)
	claims := func(iat, exp time.Time, iss any) map[string]any {
		return map[string]any{"iat": iat.Unix(), "exp": exp.Unix(), "iss": iss}
	}
	tests := []struct {
		name string
		auth string
		want string // "" for 200
	}{
		{"as ghinstallation signs", "Bearer " + SignJWT(s.key, claims(now.Add(-30*time.Second), now.Add(90*time.Second), id)), ""},
		{"numeric iss", "Bearer " + SignJWT(s.key, claims(now, now.Add(5*time.Minute), s.AppID)), ""},
		{"ten minutes exactly", "Bearer " + SignJWT(s.key, claims(now, now.Add(10*time.Minute), id)), ""},
		{"clock skew tolerated", "Bearer " + SignJWT(s.key, claims(now.Add(-9*time.Minute), now.Add(-30*time.Second), id)), ""},
		{"no credentials", "", jwtUndecodable},
		{"garbage", "Bearer not.a.jwt", jwtUndecodable},
		{"installation token", "token " + s.InstallationToken(42), jwtUndecodable},
		{"another key", "Bearer " + SignJWT(other, claims(now, now.Add(5*time.Minute), id)), jwtUndecodable},
		{"expired", "Bearer " + SignJWT(s.key, claims(now.Add(-10*time.Minute), now.Add(-2*time.Minute), id)), "'Expiration time' claim ('exp') must be a numeric value"},
		{"issued in the future", "Bearer " + SignJWT(s.key, claims(now.Add(3*time.Minute), now.Add(8*time.Minute), id)), "'Issued at' claim ('iat')"},
		{"lives too long", "Bearer " + SignJWT(s.key, claims(now, now.Add(11*time.Minute), id)), "is too far in the future"},
		{"fractional iat", "Bearer " + SignJWT(s.key, map[string]any{"iat": float64(now.Unix()) + 0.5, "exp": now.Add(time.Minute).Unix(), "iss": id}), "'Issued at' claim ('iat')"},
		{"another app", "Bearer " + SignJWT(s.key, claims(now, now.Add(5*time.Minute), "999")), "Integration not found"},
		{"no iss", "Bearer " + SignJWT(s.key, map[string]any{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), "'Issuer' claim ('iss')"},
		{"alg none", "Bearer " + unsignedJWT(claims(now, now.Add(time.Minute), id)), jwtUndecodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := (&apiClient{t: t, s: s, auth: tt.auth}).get("app")
			if tt.want == "" {
				want(t, r, http.StatusOK)
				if fieldInt(t, r.object(t), "id") != s.AppID {
					t.Errorf("app id %v", field(t, r.object(t), "id"))
				}
				return
			}
			want(t, r, http.StatusUnauthorized)
			if msg := r.message(t); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
		})
	}
}

func unsignedJWT(claims map[string]any) string {
	full := SignJWT(sharedKeyForTest(), claims)
	parts := strings.Split(full, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}

func sharedKeyForTest() *rsa.PrivateKey {
	k, err := generateKey()
	if err != nil {
		panic(err)
	}
	return k
}

func TestInstallationToken(t *testing.T) {
	start := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	s := fixture(t, WithNow(func() time.Time { return start }))
	app := s.asApp(t)
	r := app.do("POST", "app/installations/42/access_tokens", nil)
	want(t, r, http.StatusCreated)
	tok := r.object(t)
	value := fieldString(t, tok, "token")
	if !strings.HasPrefix(value, "ghs_") || len(value) < 500 {
		t.Errorf("token %q: want ghs_ and about 520 characters", value[:10])
	}
	if got := fieldString(t, tok, "expires_at"); got != "2024-03-01T11:00:00Z" {
		t.Errorf("expires_at %s, want an hour after the fake's now", got)
	}
	if fieldString(t, tok, "permissions/checks") != "write" {
		t.Errorf("permissions %s", show(field(t, tok, "permissions")))
	}

	c := &apiClient{t: t, s: s, auth: "Bearer " + value}
	want(t, c.get("repos/acme/secret"), http.StatusOK)
	want(t, (&apiClient{t: t, s: s, auth: "token " + value}).get("repos/acme/secret"), http.StatusOK)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+value))
	want(t, (&apiClient{t: t, s: s, auth: basic}).get("repos/acme/secret"), http.StatusOK)

	// The token lives an hour on the fake's clock.
	s.Advance(59 * time.Minute)
	want(t, c.get("repos/acme/secret"), http.StatusOK)
	s.Advance(time.Minute)
	r = c.get("repos/acme/secret")
	want(t, r, http.StatusUnauthorized)
	if r.message(t) != "Bad credentials" {
		t.Errorf("expired token: %q", r.message(t))
	}
	want(t, (&apiClient{t: t, s: s, auth: "token ghs_nonsense"}).get("repos/acme/widgets"), http.StatusUnauthorized)

	// ExpireTokens ends every token at once.
	fresh := s.asInstallation(t, 42)
	want(t, fresh.get("repos/acme/secret"), http.StatusOK)
	s.ExpireTokens()
	want(t, fresh.get("repos/acme/secret"), http.StatusUnauthorized)

	want(t, app.do("POST", "app/installations/999/access_tokens", nil), http.StatusNotFound)
}

func TestRepositoryAccess(t *testing.T) {
	s := fixture(t)
	s.AddRepo("acme/hidden", RepoOptions{Private: true})
	s.Commit("acme/hidden", "main", map[string][]byte{"x": []byte("x")})
	s.AddRepo("other/public", RepoOptions{})
	s.Commit("other/public", "main", map[string][]byte{"x": []byte("x")})
	c := s.asInstallation(t, 42)

	// A private repository the installation does not have is hidden: 404.
	want(t, c.get("repos/acme/hidden"), http.StatusNotFound)
	want(t, c.get("repos/acme/hidden/contents/x"), http.StatusNotFound)
	// A public one reads as anyone reads it, but is not the App's to write.
	want(t, c.get("repos/other/public/contents/x"), http.StatusOK)
	want(t, c.do("POST", "repos/other/public/check-runs", map[string]any{"name": "x", "head_sha": s.Branch("other/public", "main")}), http.StatusNotFound)
	// Names are not case sensitive.
	want(t, c.get("repos/ACME/Secret"), http.StatusOK)
	// Without credentials: public reads work, private ones 404, writes 401.
	anon := s.anonymous(t)
	want(t, anon.get("repos/acme/widgets"), http.StatusOK)
	want(t, anon.get("repos/acme/secret"), http.StatusNotFound)
	want(t, anon.do("POST", "repos/acme/widgets/check-runs", map[string]any{"name": "x", "head_sha": s.Branch("acme/widgets", "main")}), http.StatusUnauthorized)
	want(t, anon.get("installation/repositories"), http.StatusUnauthorized)
	// The App's JWT is no installation token.
	want(t, s.asApp(t).get("repos/acme/widgets/pulls"), http.StatusUnauthorized)

	calls := s.Calls()
	if calls[0].Installation != 42 || calls[0].App {
		t.Errorf("first call recorded as %+v", calls[0])
	}
}

func TestInstallationPermissions(t *testing.T) {
	s := fixture(t)
	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "contents": "read", "checks": "read"})
	c := s.asInstallation(t, 42)
	head := s.Branch("acme/secret", "main")
	r := c.do("POST", "repos/acme/secret/check-runs", map[string]any{"name": "backstory", "head_sha": head})
	want(t, r, http.StatusForbidden)
	if r.message(t) != "Resource not accessible by integration" {
		t.Errorf("message %q", r.message(t))
	}
	want(t, c.get("repos/acme/secret/commits/main/check-runs"), http.StatusOK)
	want(t, c.get("repos/acme/secret/pulls"), http.StatusForbidden) // no pull_requests permission
	// A comment on a PR needs issues or pull_requests write.
	s.AddPullRequest("acme/secret", PullRequest{HeadSHA: head})
	want(t, c.do("POST", "repos/acme/secret/issues/1/comments", map[string]any{"body": "hi"}), http.StatusForbidden)
	s.SetInstallationPermissions(42, map[string]string{"metadata": "read", "pull_requests": "write"})
	c = s.asInstallation(t, 42)
	want(t, c.do("POST", "repos/acme/secret/issues/1/comments", map[string]any{"body": "hi"}), http.StatusCreated)
}

func TestRestrictedToken(t *testing.T) {
	s := fixture(t)
	app := s.asApp(t)
	r := app.do("POST", "app/installations/42/access_tokens", map[string]any{
		"repositories": []string{"secret"},
		"permissions":  map[string]string{"contents": "read", "metadata": "read"},
	})
	want(t, r, http.StatusCreated)
	tok := r.object(t)
	if repos := field(t, tok, "repositories").([]any); len(repos) != 1 || fieldString(t, repos[0], "full_name") != "acme/secret" {
		t.Errorf("repositories %s", show(field(t, tok, "repositories")))
	}
	c := &apiClient{t: t, s: s, auth: "token " + fieldString(t, tok, "token")}
	want(t, c.get("repos/acme/secret/contents/secret.txt"), http.StatusOK)
	want(t, c.do("POST", "repos/acme/secret/check-runs", map[string]any{"name": "x", "head_sha": s.Branch("acme/secret", "main")}), http.StatusForbidden)
	list := c.get("installation/repositories")
	want(t, list, http.StatusOK)
	if fieldInt(t, list.object(t), "total_count") != 1 {
		t.Errorf("a token for one repository lists %d", fieldInt(t, list.object(t), "total_count"))
	}

	s.ExpectViolation("not granted to this installation")
	want(t, app.do("POST", "app/installations/42/access_tokens", map[string]any{"permissions": map[string]string{"administration": "write"}}), http.StatusUnprocessableEntity)
	s.ExpectViolation("not accessible to the parent installation")
	want(t, app.do("POST", "app/installations/42/access_tokens", map[string]any{"repositories": []string{"nope"}}), http.StatusUnprocessableEntity)
	s.ExpectViolation(`For 'permissions/checks', "delete" is not a member of ["read", "write"]`)
	want(t, app.do("POST", "app/installations/42/access_tokens", map[string]any{"permissions": map[string]string{"checks": "delete"}}), http.StatusUnprocessableEntity)
}

func TestInstallationsAsTheApp(t *testing.T) {
	s := fixture(t)
	s.AddInstallation(43, "octo-user")
	app := s.asApp(t)
	r := app.get("app/installations")
	want(t, r, http.StatusOK)
	if n := len(r.array(t)); n != 2 {
		t.Errorf("%d installations", n)
	}
	r = app.get("repos/acme/widgets/installation")
	want(t, r, http.StatusOK)
	if fieldInt(t, r.object(t), "id") != 42 || fieldString(t, r.object(t), "repository_selection") != "selected" {
		t.Errorf("installation %s", r.body)
	}
	r = app.get("app/installations/43")
	want(t, r, http.StatusOK)
	if fieldString(t, r.object(t), "repository_selection") != "all" {
		t.Errorf("an installation without repositories named: %s", fieldString(t, r.object(t), "repository_selection"))
	}
	// An "all" installation reaches every repository of its account.
	s.AddRepo("octo-user/dots", RepoOptions{Private: true, OwnerType: "User"})
	s.Commit("octo-user/dots", "main", map[string][]byte{"x": []byte("x")})
	want(t, s.asInstallation(t, 43).get("repos/octo-user/dots"), http.StatusOK)
	want(t, s.asInstallation(t, 43).get("repos/acme/secret"), http.StatusNotFound)
	want(t, app.get("app/installations/7"), http.StatusNotFound)
}
