// Package acceptance drives the backstory binary the way a user does, over
// real public records (../shared/corpus) and in a real browser (Debian's
// chromium). It is heavy, so it runs only with BACKSTORY_ACCEPTANCE=1
// (make acceptance, .ci/run); there a missing corpus or browser is a failure,
// not a skip.
package acceptance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var (
	// binary is the backstory binary built once for the whole suite.
	binary string
	// shared is the shared/ folder beside the checkout.
	shared string
)

func TestMain(m *testing.M) {
	if os.Getenv("BACKSTORY_ACCEPTANCE") != "1" {
		fmt.Println("acceptance: skipped (set BACKSTORY_ACCEPTANCE=1, or run make acceptance)")
		os.Exit(0)
	}
	shared = os.Getenv("BACKSTORY_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(shared, "corpus", "adrs")); err != nil {
		fmt.Fprintf(os.Stderr, "acceptance: the shared corpus is missing (%v): set BACKSTORY_SHARED\n", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "backstory-acceptance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "backstory")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, "../cmd/backstory")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "acceptance: building backstory: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one backstory run printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

// backstory runs the binary with args in dir ("" for the package folder).
func backstory(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running backstory %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// corpusArgs names every collection of the shared corpus as owner/repo=PATH.
func corpusArgs(t *testing.T) []string {
	t.Helper()
	root := filepath.Join(shared, "corpus", "adrs")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		name := strings.Replace(e.Name(), "__", "/", 1)
		abs, err := filepath.Abs(filepath.Join(root, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, name+"="+abs)
	}
	if len(args) != 10 {
		t.Fatalf("the shared corpus has %d collections, want 10", len(args))
	}
	return args
}
