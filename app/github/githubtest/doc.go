// Package githubtest is a fake GitHub for tests: the REST API as one
// GitHub App and its installations see it, with state (repositories,
// commits, pull requests, check runs, comments, webhook deliveries),
// served by an httptest server.
//
// It answers like GitHub and rejects what GitHub rejects. Every request is
// matched to an operation of GitHub's own API description (the full 2022
// OpenAPI description of the shared corpus, corpus/openapi/), and its path
// and query parameters and JSON body are validated against that
// operation's schemas. A request the description forbids is answered as
// GitHub answers it (422 "Invalid request." with what is wrong, 400
// "Problems parsing JSON", 404 for a path no operation has) and is
// recorded as a Violation; New fails the test at its end for every
// violation the test did not declare with ExpectViolation, and for every
// declaration no violation matched. The fake's own responses are validated
// against the response schemas too, and a mismatch fails the test as a bug
// in the fake.
//
// A test sets the scene, points the code under test at URL, and checks
// what GitHub was asked:
//
//	gh := githubtest.New(t)
//	gh.AddInstallation(42, "acme", "acme/widgets")
//	head := gh.Commit("acme/widgets", "feature", map[string][]byte{"docs/adr/0002-x.md": adr})
//	gh.AddPullRequest("acme/widgets", githubtest.PullRequest{HeadRef: "feature", Body: &body})
//	// … run the App with base URL gh.URL(), App id gh.AppID, key gh.PrivateKeyPEM() …
//	runs := gh.CheckRuns("acme/widgets")
//
// The Git Data API writes as GitHub's does (blobs, trees, commits, and
// branch refs created and fast-forwarded), with installation permission
// contents: write, which the manifest's defaults lack: a test that writes
// grants it with SetInstallationPermissions. Files, FileMode and Commits
// show what a branch then holds; the contents, trees and tarball
// endpoints serve it too. See gitdata.go for the rules kept.
//
// Payload and Payloads give GitHub's example webhook payloads (those of
// the shared corpus, corpus/webhooks/), for tests that deliver real bodies
// to the App.
//
// The description and the payloads are embedded: byte-for-byte copies of
// the shared corpus's, with their licences, under testdata/openapi/ and
// testdata/webhooks/. The fake, the fakegithub command and the tests that
// use them therefore run from any working directory, on a machine without
// the shared folder beside the checkout. The embedded copies are always
// the ones used, never the shared folder's even when it is there, so that
// a test behaves the same on every machine; TestVendoredCorpusMatchesShared
// fails when they differ from the shared folder's ($BACKSTORY_SHARED, else
// ../shared beside the module root; CI has it), and skips without one. To
// refresh them, copy the shared files over them. WithDescription reads
// another description instead.
//
// Authentication is GitHub's: /app endpoints take a JWT signed with the
// App's key (PrivateKeyPEM), RS256, whose iss is the App id and whose
// lifetime is at most ten minutes; an installation token (POST
// /app/installations/{id}/access_tokens, about 520 characters, "ghs_…",
// valid an hour) reaches the repositories of its installation, within the
// installation's permissions. A repository the token cannot reach is a 404,
// a missing permission a 403 "Resource not accessible by integration".
// Every answer carries GitHub's rate-limit headers; GET answers carry a
// weak ETag, and a matching If-None-Match is a 304 that does not count
// against the limit.
//
// The same server is GitHub's web host for the OAuth web flow of the App's
// user tokens (GET /login/oauth/authorize, POST /login/oauth/access_token;
// SetOAuthApp, SetSignedInUser), whose tokens answer GET /user; see
// oauth.go. Issues and organisation membership are modelled as issues.go
// says (AddIssue, Issues, DisableIssues, AddMember).
//
// Choices where GitHub's behaviour is not fully described, or where the
// 2022 description has aged:
//
//   - Check-run status values added since 2022 (waiting, requested,
//     pending) are refused as the 2022 enum refuses them: GitHub lets only
//     GitHub Actions set them, so for an App the old enum is still the
//     rule.
//   - Beyond the schemas, the fake refuses what GitHub refuses: a check
//     run on a commit the repository does not have ("No commit found for
//     SHA"), the conclusion stale, annotation columns across lines. These
//     are recorded as violations too.
//   - Git Data refusals that answer a race between writers (a ref that
//     exists, an update that is not a fast forward, a ref that is gone)
//     are 422s as on GitHub but not violations: a correct client meets
//     them. Objects that do not exist are violations. A repository with no
//     commit answers 409 "Git Repository is empty." to the Git Data API.
//     Tags, merge commits, symlinks and submodules are not modelled (501).
//   - A path parameter of the wrong type (/pulls/abc) is answered 404, as
//     GitHub's router answers it, and recorded as a violation.
//   - per_page above 100 is clamped to 100, as GitHub does, not refused.
//     A pull request lists at most 3,000 files; the contents API inlines
//     files up to 1 MB (larger ones come with encoding "none").
//   - A JSON null body where the body is optional is taken as no body:
//     ghinstallation sends one for token requests, and GitHub accepts it.
//   - A collaborator permission asked for a user given no role is "read"
//     on a public repository and "none" on a private one (200 either way;
//     GitHub 404s only for logins that are no user at all).
//   - JWTs are checked against the wall clock, not the fake's clock: a
//     client mints them with its own. Installation tokens, rate-limit
//     windows and timestamps follow the fake's clock (SetNow, Advance).
//   - Codeload (tarball) and raw links point at the fake itself, under
//     /_codeload/ and /_raw/, with a token in the URL for private
//     repositories, as GitHub's links to other hosts carry one. They are
//     recorded in Calls with the operations "codeload" and "raw".
//   - The API also answers under /api/v3/, as GitHub Enterprise Server
//     does, for clients configured with enterprise URLs; HEAD is answered
//     as GET without the body.
package githubtest
