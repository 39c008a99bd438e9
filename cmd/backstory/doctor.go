package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/backstory-dev/backstory/app/doctor"
	"github.com/backstory-dev/backstory/app/github"
)

func (c *cli) doctorCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that everything backstory serve needs is in place, and say what to fix",
		Long: `Check, in plain words, everything backstory serve needs: the settings, the
App's private key (it must sign for github.app_id: doctor asks GitHub, GET
/app), the webhook secret, GitHub's API, the App's permissions and
subscribed events against what backstory needs, each installation's
repository access and accepted permissions, the store (reachable, and its
schema version: doctor never creates or migrates it) and the sites' folder.

Each failure says what to do. It works before the first webhook arrives, and
reads the same settings as backstory serve (--config, BACKSTORY_*, flags).
The exit status is 1 when a check fails; warnings do not fail.`,
		Example: "  backstory doctor --config /etc/backstory/backstory.yml\n  backstory doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.serveConfig(cmd)
			var missing *missingSettings
			switch {
			case errors.As(err, &missing):
			case err != nil:
				return err
			}
			dc := doctor.Config{AppID: cfg.AppID, PrivateKeyPath: cfg.PrivateKeyPath, PrivateKey: cfg.PrivateKey,
				WebhookSecret: string(cfg.WebhookSecret), APIURL: cfg.APIURL, StoreURL: cfg.StoreURL, SiteDir: cfg.SiteDir,
				ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, PublicURL: cfg.PublicURL}
			if missing != nil {
				dc.Missing = missing.items
			}
			results := doctor.Run(cmd.Context(), dc, doctor.Deps{NewGitHub: func(cfg doctor.Config) (doctor.GitHub, error) {
				return github.New(github.Options{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, UserAgent: "backstory/" + version})
			}})
			if json, _ := cmd.Flags().GetBool("json"); json {
				printDoctorJSON(c, results)
			} else {
				printDoctor(c, results)
			}
			if doctor.Failed(results) {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().String("config", "", "config file (YAML) of backstory serve; default backstory.yml here if it exists")
	cmd.Flags().String("store", "", "store URL (store.url) to check instead of the configured one")
	cmd.Flags().Bool("json", false, "print the results as JSON")
	return cmd
}

var doctorMarks = map[doctor.Status]string{doctor.OK: "ok  ", doctor.Warn: "WARN", doctor.Fail: "FAIL", doctor.Skip: "skip"}

func printDoctor(c *cli, results []doctor.Result) {
	fails, warns := 0, 0
	for _, r := range results {
		fmt.Fprintf(c.stdout, "%s  %s: %s\n", doctorMarks[r.Status], r.Check, r.Detail)
		if r.Fix != "" && (r.Status == doctor.Fail || r.Status == doctor.Warn) {
			fmt.Fprintf(c.stdout, "        → %s\n", r.Fix)
		}
		switch r.Status {
		case doctor.Fail:
			fails++
		case doctor.Warn:
			warns++
		}
	}
	switch {
	case fails > 0:
		fmt.Fprintf(c.stdout, "\n%d checks failed, %d warnings: backstory serve will not work until the failures are fixed.\n", fails, warns)
	case warns > 0:
		fmt.Fprintf(c.stdout, "\nNo failure; %d warnings.\n", warns)
	default:
		fmt.Fprintln(c.stdout, "\nEverything backstory serve needs is in place.")
	}
}

func printDoctorJSON(c *cli, results []doctor.Result) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"failed": doctor.Failed(results), "checks": results})
}
