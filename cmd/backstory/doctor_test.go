package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestDoctorOnAWorkingSetup(t *testing.T) {
	e := newE2E(t)
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"doctor", "--config", e.config}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("doctor exited %d on a working setup:\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"ok    private key: matches App", "ok    installation octo-org (7): 1 repositories", "ok    store:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(e.store); !os.IsNotExist(err) {
		t.Errorf("doctor created the store %s", e.store)
	}
}

func TestDoctorSaysWhatIsMissing(t *testing.T) {
	e := newE2E(t)
	e.editConfig("webhook_secret:", "webhook_secret_unused:")
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"doctor", "--config", e.config, "--json"}, strings.NewReader(""), &out, &errOut)
	if code != 1 {
		t.Fatalf("doctor exited %d without a webhook secret, want 1:\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), `"failed": true`) || !strings.Contains(out.String(), "github.webhook_secret") {
		t.Errorf("the JSON report does not name the missing secret:\n%s", out.String())
	}
	// The rest is still checked: GitHub answers.
	if !strings.Contains(out.String(), `"check": "GitHub",
      "status": "ok"`) {
		t.Errorf("GitHub was not checked when only the secret was missing:\n%s", out.String())
	}
}
