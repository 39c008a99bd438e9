package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backstory-dev/backstory/app/storetest"
)

// crashChildEnv makes the test binary a child that enqueues until killed.
const crashChildEnv = "BACKSTORY_SQLITE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild enqueues deliveries from 16 goroutines, as concurrent webhook
// requests would, and prints each id once Enqueue has returned: from then
// on the delivery is acknowledged to GitHub.
func crashChild(path string) {
	s, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	payload := storetest.PullRequestPayload()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				d := storetest.NewDelivery(fmt.Sprintf("p%d-w%d-%d", os.Getpid(), w, i), "", time.Now())
				d.Payload = payload
				ok, err := s.Enqueue(context.Background(), d)
				if err != nil || !ok {
					fmt.Fprintln(os.Stderr, "enqueue:", ok, err)
					os.Exit(2)
				}
				mu.Lock()
				// One write per line: the parent reads whole lines only.
				os.Stdout.WriteString(d.ID + "\n")
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestAcknowledgedEnqueueSurvivesSIGKILL kills a process that is enqueuing
// at a random moment, several times over the same file, and checks that
// every delivery whose Enqueue had returned is in the file afterwards.
func TestAcknowledgedEnqueueSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "backstory.db")
	var acked []string
	for round := range 4 {
		ids, stderr := crashRound(t, path, time.Duration(rand.IntN(400))*time.Millisecond)
		if len(ids) == 0 {
			t.Fatalf("round %d: the child acknowledged nothing before it was killed; stderr: %s", round, stderr)
		}
		t.Logf("round %d: %d enqueues acknowledged before SIGKILL", round, len(ids))
		acked = append(acked, ids...)

		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		known, err := s.Known(context.Background(), acked)
		if err != nil {
			t.Fatal(err)
		}
		var lost []string
		for _, id := range acked {
			if !known[id] {
				lost = append(lost, id)
			}
		}
		if len(lost) > 0 {
			t.Errorf("round %d: %d of %d acknowledged deliveries lost, e.g. %q", round, len(lost), len(acked), lost[:min(5, len(lost))])
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashRound runs a child enqueuing into path, SIGKILLs it after after has
// passed since its first acknowledgement, and returns the ids it
// acknowledged.
func crashRound(t *testing.T, path string, after time.Duration) ([]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan []string)
	first := make(chan struct{})
	go func() {
		var ids []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ids = append(ids, sc.Text()); len(ids) == 1 {
				close(first)
			}
		}
		if len(ids) == 0 {
			close(first)
		}
		lines <- ids
	}()
	// Count from the first acknowledgement, not from the start: on a busy
	// machine opening the database can take longer than the delay.
	select {
	case <-first:
	case <-time.After(time.Minute):
		t.Errorf("no acknowledgement from the child after a minute")
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the child: %v; its stderr: %s", err, stderr.String())
	}
	ids := <-lines
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v; stderr: %s", err, stderr.String())
	}
	return ids, stderr.String()
}
