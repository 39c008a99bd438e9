package status

import (
	"fmt"
	"strings"
	"time"

	"github.com/backstory-dev/backstory/app"
)

// problems lists what in rep needs the operator, each with what to do.
func problems(rep Report) []Problem {
	out := []Problem{}
	add := func(section, what, do string) {
		out = append(out, Problem{Section: section, What: what, Do: do})
	}

	ir := rep.Inbox
	if ir.Error != "" {
		add("inbox", "The inbox could not be read: "+oneLine(ir.Error)+".",
			"Check that the store answers (store.url; /readyz says the same) and look at serve's log.")
	}
	if o := ir.Oldest; ir.Late && o != nil {
		what := fmt.Sprintf("The oldest waiting delivery (%s) has waited %s, more than %s.", describe(*o), age(o.AgeSeconds), age(int64(LateAfter/time.Second)))
		var do string
		switch {
		case o.State == app.StateClaimed:
			do = "A worker holds it: a long site build, or a worker that stopped (another takes it when its lease, server.lease, ends). " +
				"If it stays, look at serve's log; see the delivery with `backstory deliveries show " + o.ID + "`."
		case o.Attempts > 0:
			do = fmt.Sprintf("It failed %s and is retried by itself%s; its last error says why. See it with `backstory deliveries show %s`.",
				times(o.Attempts), nextAt(o.NextAttempt), o.ID)
		default:
			do = "The workers are not keeping up, or none runs: check that backstory serve runs with server.workers above 0 and look at its log. " +
				"More workers (server.workers) or more replicas clear a backlog faster."
		}
		add("inbox", what, do)
	}

	f := rep.Failures
	if f.Error != "" && ir.Error == "" {
		add("failures", "The failing deliveries could not be listed: "+oneLine(f.Error)+".", "Check that the store answers (store.url) and look at serve's log.")
	}
	if n := len(f.Deliveries); n > 0 {
		what := fmt.Sprintf("%s failed and %s to be retried.", count(n, "delivery", "deliveries"), plural(n, "waits", "wait"))
		if n == Newest {
			what = fmt.Sprintf("At least %d deliveries failed and wait to be retried.", n)
		}
		add("failures", what, "backstory retries them by itself, waiting longer each time; one that keeps failing becomes a dead letter. "+
			"The last error says why; see one with `backstory deliveries show ID`.")
	}

	dl := rep.DeadLetters
	if dl.Error != "" && ir.Error == "" {
		add("dead_letters", "The dead letters could not be listed: "+oneLine(dl.Error)+".", "Check that the store answers (store.url) and look at serve's log.")
	}
	if dl.Total > 0 {
		add("dead_letters", fmt.Sprintf("%s: %s backstory gave up on.", count(dl.Total, "dead letter", "dead letters"), plural(dl.Total, "a delivery", "deliveries")),
			"Fix what the last error says, then retry: `backstory deliveries retry ID`, or all of them with `backstory deliveries retry --all`. "+
				"See one with `backstory deliveries show ID`.")
	}

	ss := rep.Sites
	if ss.Error != "" {
		add("sites", "The sites could not all be read: "+oneLine(ss.Error)+".",
			"Check that serve can read site.dir and reach GitHub (github.api_url), and look at serve's log.")
	}
	for _, s := range ss.Sites {
		if s.Error != "" {
			add("sites", fmt.Sprintf("What the site of %s holds cannot be read: %s.", s.Account, oneLine(s.Error)),
				fmt.Sprintf("It is written again at the next build: `backstory resync %s`. Until then the site is shown as private.", s.Account))
		}
		if d := s.BuildFailure; d != nil {
			what := fmt.Sprintf("The site of %s failed to build (%s): %s.", s.Account, times(d.Attempts), oneLine(d.LastError))
			do := fmt.Sprintf("It is retried by itself%s. See it with `backstory deliveries show %s`.", nextAt(d.NextAttempt), d.ID)
			if d.State == app.StateDead {
				what = fmt.Sprintf("backstory gave up building the site of %s (%s): %s.", s.Account, times(d.Attempts), oneLine(d.LastError))
				do = fmt.Sprintf("Fix what the error says, then `backstory deliveries retry %s` (or `backstory resync %s`).", d.ID, s.Account)
			}
			add("sites", what, do)
		}
		if p := s.Pages; p != nil && p.Error != "" {
			add("sites", fmt.Sprintf("The site of %s was not published to %s (branch %s): %s.", s.Account, p.Repository, p.Branch, oneLine(p.Error)),
				fmt.Sprintf("Fix what the error says (site.pages in %s's .github/backstory.yml, or the App's access to %s), then publish again with `backstory resync %s`.",
					s.Account, p.Repository, s.Account))
		}
		if n := len(s.Reviews.Failed); n > 0 {
			add("sites", fmt.Sprintf("%s for %s could not be opened: %s.", count(n, "review issue", "review issues"), s.Account, oneLine(s.Reviews.Failed[0])),
				"They are tried again at the next build. The App needs the issues: write permission on those repositories "+
					"(an owner accepts it in the installation's settings on GitHub), and the repositories need issues turned on.")
		}
	}

	for _, r := range rep.RateLimits {
		if !r.Low {
			continue
		}
		reset := ""
		if !r.Reset.IsZero() {
			reset = " until " + when(r.Reset)
		}
		add("rate_limits", fmt.Sprintf("Installation %s has %d of %d %s requests left%s.", installation(r.Installation, r.Account), r.Remaining, r.Limit, r.Resource, reset),
			"Nothing to do now: backstory waits for the reset and catches up. If this happens often, the metric "+
				"backstory_github_requests_total shows which operations use the most requests.")
	}
	return out
}

// describe names a delivery in a sentence: "pull_request.opened of
// octo-org/hello, received 12:03 UTC".
func describe(d Delivery) string {
	s := d.Event
	if d.Action != "" {
		s += "." + d.Action
	}
	if d.Repository != "" {
		s += " of " + d.Repository
	}
	return s + ", received " + when(d.ReceivedAt)
}

func installation(id int64, account string) string {
	if account == "" {
		return fmt.Sprint(id)
	}
	return fmt.Sprintf("%d (%s)", id, account)
}

func nextAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " (next at " + when(t) + ")"
}

func times(n int) string { return count(n, "time", "times") }

func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// when is how the page shows a time: UTC, to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// age is how the page shows a duration in seconds: its largest unit and,
// when not zero, the next ("3d 4h", "12m 5s", "2h").
func age(seconds int64) string {
	seconds = max(seconds, 0)
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}
	i := 0
	for i < len(units)-1 && seconds < units[i].n {
		i++
	}
	s := fmt.Sprintf("%d%s", seconds/units[i].n, units[i].name)
	if rest := seconds % units[i].n; i+1 < len(units) && rest/units[i+1].n > 0 {
		s += fmt.Sprintf(" %d%s", rest/units[i+1].n, units[i+1].name)
	}
	return s
}

// maxErrorLine bounds an error shown on one line; the whole of it is in
// `backstory deliveries show` and /status.json.
const maxErrorLine = 300

// oneLine puts an error on one line: its runs of white space (newlines
// included) become single spaces, and it is cut at maxErrorLine
// characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, ".")
	if r := []rune(s); len(r) > maxErrorLine {
		s = string(r[:maxErrorLine]) + "…"
	}
	return s
}
