package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type authKind int

const (
	authNone authKind = iota
	authApp
	authInstallation
	authUser // a user token of the OAuth web flow (oauth.go)
)

// appInfo is the fake's one GitHub App.
type appInfo struct {
	slug      string
	name      string
	owner     string
	perms     map[string]string
	events    []string
	createdAt time.Time
}

// installation is the App installed on one account.
type installation struct {
	id          int64
	account     string
	accountType string
	// repos are the lower-case full names of the selected repositories;
	// nil means every repository of the account ("all").
	repos     map[string]bool
	perms     map[string]string
	createdAt time.Time
}

func (in *installation) hasRepo(r *repo) bool {
	if in.repos == nil {
		return strings.EqualFold(r.owner, in.account)
	}
	return in.repos[strings.ToLower(r.fullName())]
}

// token is an installation access token.
type token struct {
	value   string
	inst    *installation
	expires time.Time
	perms   map[string]string
	repos   map[string]bool // nil: every repository of the installation
}

func (t *token) hasRepo(r *repo) bool {
	if !t.inst.hasRepo(r) {
		return false
	}
	return t.repos == nil || t.repos[strings.ToLower(r.fullName())]
}

// tokenLength is about the length of GitHub's installation tokens today;
// clients must treat them as opaque strings of any length.
const tokenLength = 520

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	limit := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(fmt.Sprintf("githubtest: crypto/rand: %v", err))
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// issueToken makes an installation token, valid for an hour as GitHub's.
func (s *Server) issueToken(in *installation, perms map[string]string, repos map[string]bool) *token {
	t := &token{
		value:   "ghs_" + randomString(base62, tokenLength-4),
		inst:    in,
		expires: s.now().Add(time.Hour).Truncate(time.Second),
		perms:   perms,
		repos:   repos,
	}
	s.tokens[t.value] = t
	return t
}

// InstallationToken issues a token for an installation directly, for tests
// that do not exercise the JWT exchange. It panics for an unknown
// installation.
func (s *Server) InstallationToken(installationID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[installationID]
	if !ok {
		panic(fmt.Sprintf("githubtest: InstallationToken(%d): no such installation; AddInstallation first", installationID))
	}
	return s.issueToken(in, in.perms, nil).value
}

// ExpireTokens makes every installation token issued so far expired, as
// if their hour had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
}

// AppJWT returns a JWT for the App, signed with its key and valid for nine
// minutes, as a client would make one.
func (s *Server) AppJWT() string {
	now := time.Now()
	return SignJWT(s.key, map[string]any{
		"iat": now.Add(-30 * time.Second).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(s.AppID, 10),
	})
}

// SignJWT signs claims with key as RS256, for tests that need a JWT with
// particular claims (an expired one, a wrong issuer).
func SignJWT(key *rsa.PrivateKey, claims map[string]any) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("githubtest: SignJWT: %v", err))
	}
	signed := header + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("githubtest: SignJWT: %v", err))
	}
	return signed + "." + enc.EncodeToString(sig)
}

// PrivateKey is the App's private key, for SignJWT.
func (s *Server) PrivateKey() *rsa.PrivateKey { return s.key }

// jwtSkew is the clock drift GitHub tolerates between an App and itself.
const jwtSkew = 60 * time.Second

const jwtUndecodable = "A JSON web token could not be decoded"

// verifyJWT checks an App JWT as GitHub does, against the wall clock (the
// client minted it with its own). It returns GitHub's message on failure.
func (s *Server) verifyJWT(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return jwtUndecodable
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return jwtUndecodable
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &header) != nil || header.Alg != "RS256" {
		return jwtUndecodable
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return jwtUndecodable
	}
	v, err := decodeJSON(cb)
	claims, ok := v.(map[string]any)
	if err != nil || !ok {
		return jwtUndecodable
	}
	switch iss := claims["iss"].(type) {
	case string:
		if iss != strconv.FormatInt(s.AppID, 10) {
			return "Integration not found"
		}
	case json.Number:
		if iss.String() != strconv.FormatInt(s.AppID, 10) {
			return "Integration not found"
		}
	default:
		return "'Issuer' claim ('iss') must be an Integer"
	}
	iat, ok := intClaim(claims["iat"])
	if !ok {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	}
	exp, ok := intClaim(claims["exp"])
	if !ok {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	now := time.Now()
	switch {
	case time.Unix(iat, 0).After(now.Add(jwtSkew)):
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case !time.Unix(exp, 0).After(now.Add(-jwtSkew)):
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case exp-iat > int64((10 * time.Minute).Seconds()):
		return "'Expiration time' claim ('exp') is too far in the future"
	case exp <= iat:
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	return ""
}

// intClaim reads an integer claim; GitHub refuses fractional timestamps.
func intClaim(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// credential reads the Authorization header: "token X", "Bearer X", or
// Basic with the token as password.
func credential(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		return rest
	case "basic":
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return ""
		}
		_, pass, _ := strings.Cut(string(b), ":")
		return pass
	}
	return ""
}

// jwtOperations are authenticated as the App, not an installation,
// though their paths are not under /app.
var jwtOperations = map[string]bool{
	"apps/get-repo-installation": true,
	"apps/get-org-installation":  true,
	"apps/get-user-installation": true,
}

func authFor(op *operation) authKind {
	switch {
	case op.Template == "/app" || strings.HasPrefix(op.Template, "/app/") || jwtOperations[op.ID]:
		return authApp
	case strings.HasPrefix(op.Template, "/app-manifests/"):
		return authNone
	}
	return authInstallation
}

// installationFromAuth is the installation a request's token names,
// without checking it (for messages).
func (s *Server) installationFromAuth(req *request) int64 {
	if t, ok := s.tokens[credential(req.r)]; ok {
		return t.inst.id
	}
	return 0
}

// authenticate establishes who is calling; GitHub answers 401 before
// anything else.
func (s *Server) authenticate(req *request) (reply, bool) {
	cred := credential(req.r)
	doc := "https://docs.github.com/rest"
	switch authFor(req.op) {
	case authNone:
		req.auth = authNone
		return reply{}, true
	case authApp:
		if cred == "" {
			return errorReply(http.StatusUnauthorized, jwtUndecodable, doc), false
		}
		if msg := s.verifyJWT(cred); msg != "" {
			return errorReply(http.StatusUnauthorized, msg, doc), false
		}
		req.auth = authApp
		return reply{}, true
	}
	if cred == "" {
		req.auth = authNone
		return reply{}, true
	}
	if rep, ok, isUser := s.authenticateUser(req, cred); isUser {
		return rep, ok
	}
	t, ok := s.tokens[cred]
	if !ok || !s.now().Before(t.expires) {
		return errorReply(http.StatusUnauthorized, "Bad credentials", doc), false
	}
	req.auth, req.tok, req.inst = authInstallation, t, t.inst
	return reply{}, true
}

// opPermissions are what an installation needs for each operation; any one
// alternative suffices (a PR comment needs issues or pull_requests write).
var opPermissions = map[string][][2]string{
	"checks/create":                  {{"checks", "write"}},
	"checks/update":                  {{"checks", "write"}},
	"checks/get":                     {{"checks", "read"}},
	"checks/list-for-ref":            {{"checks", "read"}},
	"checks/list-annotations":        {{"checks", "read"}},
	"pulls/get":                      {{"pull_requests", "read"}},
	"pulls/list":                     {{"pull_requests", "read"}},
	"pulls/list-files":               {{"pull_requests", "read"}},
	"repos/get-content":              {{"contents", "read"}},
	"git/get-tree":                   {{"contents", "read"}},
	"git/get-blob":                   {{"contents", "read"}},
	"git/get-commit":                 {{"contents", "read"}},
	"git/get-ref":                    {{"contents", "read"}},
	"git/create-blob":                {{"contents", "write"}},
	"git/create-tree":                {{"contents", "write"}},
	"git/create-commit":              {{"contents", "write"}},
	"git/create-ref":                 {{"contents", "write"}},
	"git/update-ref":                 {{"contents", "write"}},
	"repos/download-tarball-archive": {{"contents", "read"}},
	"issues/create-comment":          {{"issues", "write"}, {"pull_requests", "write"}},
	"repos/get":                      {{"metadata", "read"}},
	"repos/get-collaborator-permission-level":         {{"metadata", "read"}},
	"repos/list-pull-requests-associated-with-commit": {{"pull_requests", "read"}, {"contents", "read"}},
}

var levels = map[string]int{"read": 1, "write": 2, "admin": 3}

func hasPermission(perms map[string]string, need [][2]string) bool {
	if len(need) == 0 {
		return true
	}
	for _, alt := range need {
		if levels[perms[alt[0]]] >= levels[alt[1]] {
			return true
		}
	}
	return false
}

// authorize resolves the repository of /repos/{owner}/{repo} operations and
// checks that the caller may use it: GitHub hides a repository the caller
// cannot see (404) and refuses a missing permission (403).
func (s *Server) authorize(req *request) (reply, bool) {
	if req.op.ID == "apps/list-repos-accessible-to-installation" && req.auth != authInstallation {
		return errorReply(http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest"), false
	}
	if !strings.HasPrefix(req.op.Template, "/repos/{owner}/{repo}") {
		return reply{}, true
	}
	r := s.repos[strings.ToLower(req.params["owner"]+"/"+req.params["repo"])]
	if r == nil {
		return notFound(), false
	}
	req.repo = r
	read := req.r.Method == http.MethodGet || req.r.Method == http.MethodHead
	switch req.auth {
	case authApp:
		return reply{}, true
	case authNone:
		if r.private {
			return notFound(), false
		}
		if !read {
			return errorReply(http.StatusUnauthorized, "Requires authentication", req.op.DocURL), false
		}
		return reply{}, true
	}
	if !req.tok.hasRepo(r) {
		if !r.private && read {
			return reply{}, true // an installation token reads public repositories as anyone does
		}
		return notFound(), false
	}
	if read && !r.private {
		return reply{}, true
	}
	if !hasPermission(req.tok.perms, opPermissions[req.op.ID]) {
		return errorReply(http.StatusForbidden, "Resource not accessible by integration", req.op.DocURL), false
	}
	return reply{}, true
}
