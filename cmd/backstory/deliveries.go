package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/backstory-dev/backstory/app"
)

// requeueBatch is how many ids one Inbox.Requeue call gets, so that a
// large replay does not hold the store's writer for long.
const requeueBatch = 500

// deliverySelection is the flags that narrow a set of deliveries.
type deliverySelection struct {
	repo, event, since, until string
}

// add defines the selection's flags on cmd.
func (s *deliverySelection) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.repo, "repo", "", "only deliveries of this repository (OWNER/REPO)")
	cmd.Flags().StringVar(&s.event, "event", "", "only deliveries of this event (pull_request, push, check_run, backstory.build, …)")
	cmd.Flags().StringVar(&s.since, "since", "", "only deliveries received at or after this time: RFC 3339, a date (2026-11-21) or a duration ago (2h, 3d)")
	cmd.Flags().StringVar(&s.until, "until", "", "only deliveries received before this time (a date includes that day)")
}

// filter checks the flags and turns them into a filter.
func (s *deliverySelection) filter(now time.Time) (app.DeliveryFilter, error) {
	var f app.DeliveryFilter
	if err := checkRepoFlag("--repo", s.repo); err != nil {
		return f, err
	}
	f.Repository, f.Event = s.repo, strings.TrimSpace(s.event)
	var err error
	if s.since != "" {
		if f.Since, err = parseOpsTime("--since", s.since, now, false); err != nil {
			return f, err
		}
	}
	if s.until != "" {
		if f.Until, err = parseOpsTime("--until", s.until, now, true); err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, fmt.Errorf("--until (%s) must be after --since (%s)", formatTime(f.Until), formatTime(f.Since))
	}
	return f, nil
}

var allStates = []app.DeliveryState{app.StatePending, app.StateClaimed, app.StateDone, app.StateDead}

// parseStates reads a --state value: one state, several separated by
// commas, or "all" (every state in allowed).
func parseStates(value string, allowed []app.DeliveryState, example string) ([]app.DeliveryState, error) {
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	var out []app.DeliveryState
	for _, part := range strings.Split(value, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		switch {
		case part == "all":
			return slices.Clone(allowed), nil
		case slices.Contains(names, part):
			if !slices.Contains(out, app.DeliveryState(part)) {
				out = append(out, app.DeliveryState(part))
			}
		default:
			return nil, fmt.Errorf("--state: %q is not one of %s or all, such as --state %s", part, strings.Join(names, ", "), example)
		}
	}
	return out, nil
}

func (c *cli) deliveriesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "List, inspect and retry the webhook deliveries in backstory serve's inbox",
		Long: `Every webhook delivery backstory serve accepts is kept in its inbox until it is
processed. One that fails again and again is given up on: it becomes dead, with
its last error, and waits for an operator. These commands list the deliveries,
show one, and retry dead ones.

` + opsSettingsHelp,
		Example: `  backstory deliveries list                 (the dead ones)
  backstory deliveries list --state all --since 2h
  backstory deliveries show 72d3162e-cc78-11e3-81ab-4c9367dc0958
  backstory deliveries retry --all`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.deliveriesListCommand(), c.deliveriesShowCommand(), c.deliveriesRetryCommand())
	return cmd
}

func (c *cli) deliveriesListCommand() *cobra.Command {
	var (
		sel    deliverySelection
		state  string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List deliveries (by default the dead ones), oldest first",
		Long: `List the deliveries in the inbox, oldest first: by default the dead ones, which
backstory gave up on after their last error. --json prints one JSON object a
line, for scripts.

` + opsSettingsHelp,
		Example: "  backstory deliveries list\n  backstory deliveries list --state pending,claimed\n" +
			"  backstory deliveries list --state all --repo octo-org/hello --since 3d --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			states, err := parseStates(state, allStates, "dead")
			if err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("--limit: %d is not a number of deliveries: give 0 for all, or say --limit 20", limit)
			}
			now := time.Now()
			f, err := sel.filter(now)
			if err != nil {
				return err
			}
			if len(states) < len(allStates) {
				f.States = states
			}
			if limit > 0 {
				f.Limit = limit + 1 // one more tells whether there are more
			}
			ctx := cmd.Context()
			st, _, err := c.opsStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Deliveries(ctx, f)
			if err != nil {
				return fmt.Errorf("list the deliveries: %w", err)
			}
			more := limit > 0 && len(list) > limit
			if more {
				list = list[:limit]
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				for _, d := range list {
					if err := enc.Encode(deliveryJSONOf(d)); err != nil {
						return err
					}
				}
				return nil
			}
			counts, err := st.Counts(ctx)
			if err != nil {
				return fmt.Errorf("count the deliveries: %w", err)
			}
			c.printDeliveries(list, now)
			what := stateWords(states)
			switch {
			case len(list) == 0:
				fmt.Fprintf(c.stdout, "No %s match.\n", strings.TrimSpace(what+" deliveries"))
			case more:
				fmt.Fprintf(c.stdout, "%s shown: the oldest that match; there are more (narrow with --since, or raise --limit).\n", plural(len(list), what+" delivery", what+" deliveries"))
			default:
				fmt.Fprintf(c.stdout, "%s.\n", plural(len(list), what+" delivery", what+" deliveries"))
			}
			fmt.Fprintf(c.stdout, "The inbox holds %d pending, %d claimed (being processed), %d done and %d dead.\n",
				counts[app.StatePending], counts[app.StateClaimed], counts[app.StateDone], counts[app.StateDead])
			if dead := countState(list, app.StateDead); dead > 0 {
				fmt.Fprintln(c.stdout, "Next: see why one failed with `backstory deliveries show ID`; once the cause is fixed, retry with "+
					"`backstory deliveries retry ID…` (or --repo, --since, --all).")
			} else if len(list) > 0 {
				fmt.Fprintln(c.stdout, "Next: see one with `backstory deliveries show ID`.")
			}
			return nil
		},
	}
	sel.add(cmd)
	cmd.Flags().StringVar(&state, "state", "dead", "dead, pending, claimed, done or all (several: pending,claimed)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many deliveries (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines, one delivery a line")
	addOpsFlags(cmd)
	return cmd
}

// deliveryJSON is a delivery as `deliveries list --json` prints it.
type deliveryJSON struct {
	ID             string    `json:"id"`
	Event          string    `json:"event"`
	Action         string    `json:"action,omitempty"`
	Repository     string    `json:"repository,omitempty"`
	InstallationID int64     `json:"installation_id,omitempty"`
	Key            string    `json:"key,omitempty"`
	ReceivedAt     time.Time `json:"received_at"`
	State          string    `json:"state"`
	Attempts       int       `json:"attempts"`
	NextAttempt    time.Time `json:"next_attempt,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	DoneAt         time.Time `json:"done_at,omitzero"`
	PayloadBytes   int       `json:"payload_bytes"`
}

// deliveryJSONOf is d as `deliveries list --json` prints it: its payload
// only counted (`deliveries show --raw` prints it).
func deliveryJSONOf(d app.Delivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, Event: d.Event, Action: d.Action, Repository: d.Repository, InstallationID: d.InstallationID,
		Key: d.Key, ReceivedAt: d.ReceivedAt.UTC(), State: string(d.State), Attempts: d.Attempts, LastError: d.LastError,
		DoneAt: d.DoneAt.UTC(), PayloadBytes: len(d.Payload)}
	if d.State == app.StatePending {
		j.NextAttempt = d.NextAttempt.UTC()
	}
	return j
}

// printDeliveries writes the deliveries as a table.
func (c *cli) printDeliveries(list []app.Delivery, now time.Time) {
	if len(list) == 0 {
		return
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEVENT\tREPOSITORY\tRECEIVED\tATTEMPTS\tSTATE\tLAST ERROR")
	for _, d := range list {
		repo := d.Repository
		if repo == "" {
			repo = "-"
		}
		lastError := oneLine(d.LastError, 72)
		if lastError == "" {
			lastError = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s (%s)\t%d\t%s\t%s\n", d.ID, eventName(d), repo, formatTime(d.ReceivedAt), ago(d.ReceivedAt, now),
			d.Attempts, d.State, lastError)
	}
	w.Flush()
}

// eventName is "event.action", or the event alone.
func eventName(d app.Delivery) string {
	if d.Action == "" {
		return d.Event
	}
	return d.Event + "." + d.Action
}

// oneLine is the first line of s, cut to at most n characters.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	first, _, cut := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if utf8.RuneCountInString(first) > n {
		first, cut = string([]rune(first)[:n-1]), true
	}
	if cut {
		first += "…"
	}
	return first
}

// stateWords names states in a sentence ("dead", "pending or claimed");
// "" for all of them.
func stateWords(states []app.DeliveryState) string {
	if len(states) == len(allStates) || len(states) == 0 {
		return ""
	}
	words := make([]string, len(states))
	for i, s := range states {
		words[i] = string(s)
	}
	return strings.Join(words, " or ")
}

// plural writes n with the singular or plural noun, without a doubled
// space when the noun starts empty.
func plural(n int, one, many string) string {
	noun := many
	if n == 1 {
		noun = one
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", n, strings.TrimSpace(noun)))
}

// countState counts the deliveries of list in state s.
func countState(list []app.Delivery, s app.DeliveryState) int {
	n := 0
	for _, d := range list {
		if d.State == s {
			n++
		}
	}
	return n
}

func (c *cli) deliveriesShowCommand() *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show everything about one delivery, its payload included",
		Long: `Show one delivery: its event, repository, state, attempts and last error, its
payload as pretty-printed JSON, and what to do next. --raw prints only the
payload, byte for byte as GitHub sent it (to save or pipe it).

` + opsSettingsHelp,
		Example: "  backstory deliveries show 72d3162e-cc78-11e3-81ab-4c9367dc0958\n" +
			"  backstory deliveries show 72d3162e-cc78-11e3-81ab-4c9367dc0958 --raw > payload.json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, v, err := c.opsStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			d, err := st.Delivery(ctx, args[0])
			if errors.Is(err, app.ErrNotFound) {
				return fmt.Errorf("no delivery %q in the store: list them with `backstory deliveries list --state all` "+
					"(done deliveries older than store.retention, %s, are pruned)", args[0], v.GetString("store.retention"))
			}
			if err != nil {
				return fmt.Errorf("read delivery %s: %w", args[0], err)
			}
			if raw {
				_, err := c.stdout.Write(d.Payload)
				return err
			}
			c.printDelivery(d, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "print only the payload, exactly as received")
	addOpsFlags(cmd)
	return cmd
}

// printDelivery writes everything about d, and what to do next.
func (c *cli) printDelivery(d app.Delivery, now time.Time) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "%s:\t%s\n", name, value)
		}
	}
	row("Delivery", d.ID)
	row("Event", eventName(d))
	row("Repository", d.Repository)
	if d.InstallationID != 0 {
		row("Installation", fmt.Sprint(d.InstallationID))
	}
	row("Key", d.Key)
	row("Received", fmt.Sprintf("%s (%s)", formatTime(d.ReceivedAt), ago(d.ReceivedAt, now)))
	row("State", string(d.State))
	row("Attempts", fmt.Sprintf("%d failed", d.Attempts))
	switch d.State {
	case app.StatePending:
		row("Due", formatTime(d.NextAttempt))
	case app.StateDone:
		row("Done", fmt.Sprintf("%s (%s)", formatTime(d.DoneAt), ago(d.DoneAt, now)))
	}
	w.Flush()
	if d.LastError != "" {
		fmt.Fprintf(c.stdout, "Last error:\n  %s\n", strings.ReplaceAll(strings.TrimSpace(d.LastError), "\n", "\n  "))
	}
	fmt.Fprintf(c.stdout, "\nPayload (%d bytes):\n", len(d.Payload))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, d.Payload, "", "  "); err == nil {
		pretty.WriteByte('\n')
		c.stdout.Write(pretty.Bytes())
	} else {
		fmt.Fprintf(c.stdout, "(not JSON: %v; `--raw` prints its bytes)\n", err)
	}
	fmt.Fprintln(c.stdout)
	switch d.State {
	case app.StateDead:
		fmt.Fprintf(c.stdout, "Next: backstory gave up on it. Once the cause of the last error is fixed, retry it with:\n  backstory deliveries retry %s\n", d.ID)
	case app.StateDone:
		fmt.Fprintf(c.stdout, "Next: nothing to do, it was processed. To process it again: backstory deliveries retry --state done %s\n", d.ID)
	case app.StatePending:
		if d.Attempts > 0 {
			fmt.Fprintln(c.stdout, "Next: nothing to do; it failed before and backstory serve tries again when it is due.")
		} else {
			fmt.Fprintln(c.stdout, "Next: nothing to do; backstory serve's workers process it when it is due.")
		}
	case app.StateClaimed:
		fmt.Fprintln(c.stdout, "Next: nothing to do; a worker is processing it now (if that worker died, another takes it over when its lease ends).")
	}
}

// requeue requeues ids in batches and returns those requeued.
func requeue(ctx context.Context, st app.Inbox, ids []string) ([]string, error) {
	var done []string
	for start := 0; start < len(ids); start += requeueBatch {
		got, err := st.Requeue(ctx, ids[start:min(start+requeueBatch, len(ids))], time.Now())
		done = append(done, got...)
		if err != nil {
			return done, fmt.Errorf("requeue the deliveries: %w (%d requeued before that)", err, len(done))
		}
	}
	return done, nil
}

// isWaiverPress is a "Not needed" press: replaying it would apply the
// waiver again, maybe long after it was withdrawn.
func isWaiverPress(d app.Delivery) bool {
	return d.Event == "check_run" && d.Action == "requested_action"
}

func (c *cli) deliveriesRetryCommand() *cobra.Command {
	var (
		sel   deliverySelection
		all   bool
		state string
	)
	cmd := &cobra.Command{
		Use:   "retry (ID... | --repo OWNER/REPO | --since TIME [--until TIME] | --all)",
		Short: "Put dead deliveries back in the inbox, to be processed again",
		Long: `Put dead deliveries back in the inbox, pending and due now, with their
attempts counted from zero: backstory serve's workers process them again within
a second or so. Fix what made them fail first (the last error says what).

Say which: their IDs, or --repo, --since or --all (--until and --event narrow
these).
Only dead deliveries are retried unless --state says otherwise (--state done
processes done ones again; to replay events over a time range, backstory
replay is made for it). Deliveries being processed (claimed) are left alone.

` + opsSettingsHelp,
		Example: "  backstory deliveries retry 72d3162e-cc78-11e3-81ab-4c9367dc0958\n" +
			"  backstory deliveries retry --repo octo-org/hello\n  backstory deliveries retry --since 2026-11-21 --until 2026-11-22\n" +
			"  backstory deliveries retry --all",
		RunE: func(cmd *cobra.Command, args []string) error {
			states, err := parseStates(state, []app.DeliveryState{app.StateDead, app.StateDone}, "dead")
			if err != nil {
				return err
			}
			byFilter := all || sel.repo != "" || sel.since != ""
			switch {
			case len(args) > 0 && (byFilter || sel.until != "" || sel.event != ""):
				return errors.New("retry: give either IDs or a selection (--repo, --since, --until, --event, --all), not both")
			case len(args) == 0 && !byFilter:
				return errors.New("retry: say which deliveries to retry: their IDs, --repo OWNER/REPO, --since TIME or --all " +
					"(such as: backstory deliveries retry --all); see them with: backstory deliveries list")
			}
			now := time.Now()
			f, err := sel.filter(now)
			if err != nil {
				return err
			}
			f.States = states
			ctx := cmd.Context()
			st, _, err := c.opsStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()

			var (
				candidates []app.Delivery
				leftAlone  []string // "id (why)"
				unknown    []string
				waivers    int
			)
			if len(args) > 0 {
				for _, id := range args {
					d, err := st.Delivery(ctx, id)
					switch {
					case errors.Is(err, app.ErrNotFound):
						unknown = append(unknown, id)
					case err != nil:
						return fmt.Errorf("read delivery %s: %w", id, err)
					case !slices.Contains(states, d.State):
						leftAlone = append(leftAlone, fmt.Sprintf("%s (%s)", id, whyLeftAlone(d.State)))
					default:
						candidates = append(candidates, d)
					}
				}
			} else {
				list, err := st.Deliveries(ctx, f)
				if err != nil {
					return fmt.Errorf("list the deliveries: %w", err)
				}
				for _, d := range list {
					// A waiver press that was processed is not pressed again
					// by a bulk retry; one that failed never took effect.
					if d.State == app.StateDone && isWaiverPress(d) {
						waivers++
						continue
					}
					candidates = append(candidates, d)
				}
			}
			ids := make([]string, len(candidates))
			for i, d := range candidates {
				ids[i] = d.ID
			}
			requeued, err := requeue(ctx, st, ids)
			if err != nil {
				return err
			}
			got := map[string]bool{}
			for _, id := range requeued {
				got[id] = true
			}
			for _, id := range ids {
				if !got[id] {
					leftAlone = append(leftAlone, fmt.Sprintf("%s (it changed state meanwhile: a worker has it, or it was retried already)", id))
				}
			}

			out := c.stdout
			what := stateWords(states)
			if len(requeued) == 0 {
				fmt.Fprintf(out, "Requeued nothing: no %s matched.\n", strings.TrimSpace(what+" delivery"))
			} else {
				fmt.Fprintf(out, "Requeued %s: %s.\n", plural(len(requeued), what+" delivery", what+" deliveries"), listIDs(requeued, 10))
			}
			if len(leftAlone) > 0 {
				fmt.Fprintf(out, "Left alone: %s.\n", strings.Join(leftAlone, "; "))
			}
			if waivers > 0 {
				fmt.Fprintf(out, "Skipped %s: a \"Not needed\" press that was applied is not applied again.\n",
					plural(waivers, "done check_run.requested_action delivery", "done check_run.requested_action deliveries"))
			}
			if len(requeued) > 0 {
				fmt.Fprintln(out, "backstory serve's workers process them within a second or so, oldest first; follow them with: "+
					"backstory deliveries list --state all --since 10m")
			}
			if len(unknown) > 0 {
				fmt.Fprintf(c.stderr, "backstory: no such delivery in the store: %s (see them with: backstory deliveries list --state all)\n",
					strings.Join(unknown, ", "))
				return exitError{code: 1}
			}
			return nil
		},
	}
	sel.add(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "every delivery in --state (dead by default)")
	cmd.Flags().StringVar(&state, "state", "dead", "which deliveries may be retried: dead, done or all")
	addOpsFlags(cmd)
	return cmd
}

// whyLeftAlone says why a delivery in state s is not retried.
func whyLeftAlone(s app.DeliveryState) string {
	switch s {
	case app.StatePending:
		return "pending: it is queued already"
	case app.StateClaimed:
		return "claimed: a worker is processing it"
	case app.StateDone:
		return "done: to process it again, add --state done"
	default:
		return string(s)
	}
}

// listIDs lists ids, at most n of them and how many more.
func listIDs(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}

func (c *cli) replayCommand() *cobra.Command {
	var (
		sel    deliverySelection
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "replay --since TIME [--until TIME] [--repo OWNER/REPO] [--event EVENT]",
		Short: "Process stored GitHub deliveries again: re-evaluate open PRs, re-capture merged intents",
		Long: `Put the stored GitHub deliveries received in a time range back in the inbox,
done and dead alike, in the order they were received: backstory serve's workers
process them again. Every event reads the pull request as it is now; a check
run is written only when its verdict changed, and a merged PR's intent is
replaced by the same: replaying twice changes nothing more.

Left out: backstory's own work (site builds, rechecks), "Not needed" presses
(check_run.requested_action: a waiver must not be applied again), and
installation events unless --event names them (they only rebuild the site, for
which there is backstory resync, or forget repositories the App lost).
Done deliveries older than store.retention (default 720h) have been pruned and
cannot be replayed. --dry-run lists what would be replayed.

` + opsSettingsHelp,
		Example: "  backstory replay --since 2h\n  backstory replay --since 2026-11-21 --until 2026-11-22 --repo octo-org/hello --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sel.since == "" {
				return errors.New("replay: --since is required: how far back to replay, such as --since 2h or --since 2026-11-21")
			}
			now := time.Now()
			f, err := sel.filter(now)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, v, err := c.opsStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			retention, err := retentionOf(v)
			if err != nil {
				return err
			}
			list, err := st.Deliveries(ctx, f)
			if err != nil {
				return fmt.Errorf("list the deliveries: %w", err)
			}
			var (
				replay                       []app.Delivery
				own, waivers, installs, busy int
			)
			for _, d := range list {
				switch {
				case strings.HasPrefix(d.Event, "backstory."):
					own++
				case isWaiverPress(d):
					waivers++
				case (d.Event == "installation" || d.Event == "installation_repositories") && f.Event == "":
					installs++
				case d.State == app.StatePending || d.State == app.StateClaimed:
					busy++
				default:
					replay = append(replay, d)
				}
			}

			out := c.stdout
			span := "since " + formatTime(f.Since)
			if !f.Until.IsZero() {
				span = fmt.Sprintf("from %s to %s", formatTime(f.Since), formatTime(f.Until))
			}
			if retention > 0 && f.Since.Before(now.Add(-retention)) {
				fmt.Fprintf(out, "Note: done deliveries are kept for %s (store.retention): those done before %s were pruned and cannot be replayed.\n",
					v.GetString("store.retention"), formatTime(now.Add(-retention)))
			}
			var ids []string
			for _, d := range replay {
				ids = append(ids, d.ID)
			}
			var requeued []string
			if dryRun {
				c.printDeliveries(replay, now)
				fmt.Fprintf(out, "Dry run: nothing was requeued. %s received %s would be replayed%s.\n",
					plural(len(replay), "delivery", "deliveries"), span, byEvent(replay))
			} else {
				requeued, err = requeue(ctx, st, ids)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "Replaying %s received %s, in the order received%s.\n",
					plural(len(requeued), "delivery", "deliveries"), span, byEvent(replay))
				if missed := len(ids) - len(requeued); missed > 0 {
					fmt.Fprintf(out, "%s changed state meanwhile (a worker has them) and were left alone.\n", plural(missed, "delivery", "deliveries"))
				}
			}
			if waivers > 0 {
				fmt.Fprintf(out, "Skipped %s: a \"Not needed\" press is never applied again by a replay.\n",
					plural(waivers, "check_run.requested_action delivery", "check_run.requested_action deliveries"))
			}
			if installs > 0 {
				fmt.Fprintf(out, "Skipped %s: to rebuild a site use backstory resync OWNER (or name them with --event).\n",
					plural(installs, "installation event", "installation events"))
			}
			if own > 0 {
				fmt.Fprintf(out, "Skipped %s of backstory's own (site builds, rechecks): see backstory resync and backstory recheck.\n",
					plural(own, "delivery", "deliveries"))
			}
			if busy > 0 {
				fmt.Fprintf(out, "Left alone %s already queued or being processed.\n", plural(busy, "delivery", "deliveries"))
			}
			switch {
			case dryRun && len(replay) > 0:
				fmt.Fprintln(out, "Next: run the same command without --dry-run.")
			case len(requeued) > 0:
				fmt.Fprintln(out, "backstory serve's workers process them now; a check run changes only if its verdict did. "+
					"Follow them with: backstory deliveries list --state pending,claimed,dead")
			}
			return nil
		},
	}
	sel.add(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be replayed, and change nothing")
	addOpsFlags(cmd)
	return cmd
}

// retentionOf reads store.retention.
func retentionOf(v *viper.Viper) (time.Duration, error) {
	raw := v.GetString("store.retention")
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("store.retention: %q is not a duration such as 720h (0 keeps deliveries forever)", raw)
	}
	return d, nil
}

// byEvent counts deliveries by event: " (3 pull_request, 1 push)".
func byEvent(list []app.Delivery) string {
	if len(list) == 0 {
		return ""
	}
	counts := map[string]int{}
	var order []string
	for _, d := range list {
		if counts[d.Event] == 0 {
			order = append(order, d.Event)
		}
		counts[d.Event]++
	}
	slices.Sort(order)
	parts := make([]string, len(order))
	for i, e := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[e], e)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
