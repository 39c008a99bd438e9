package localpr

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// git runs git in one repository, without a shell, with the user's
// configuration kept from changing what backstory parses.
type git struct {
	dir string
}

// gitError is git failing, with what it said.
type gitError struct {
	args   []string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.code)
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.args, " "), msg)
}

// baseArgs pin what the output looks like whatever the user's gitconfig
// says: paths unquoted, no colour, no external diff or textconv.
var baseArgs = []string{"-c", "core.quotePath=false", "-c", "color.ui=never", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false"}

func (g git) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append(append([]string{"-C", g.dir}, baseArgs...), args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	return cmd
}

// run returns git's standard output.
func (g git) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := g.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return stdout.Bytes(), &gitError{args: args, code: exit.ExitCode(), stderr: stderr.String()}
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, errors.New("git is not installed (or not on PATH): backstory check reads the pull request with git")
		}
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// line runs git and returns its output's first line.
func (g git) line(ctx context.Context, args ...string) (string, error) {
	out, err := g.run(ctx, args...)
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

// commit resolves rev to a commit id, or reports false when it names no
// commit in this clone.
func (g git) commit(ctx context.Context, rev string) (string, bool, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", false, nil
	}
	out, err := g.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	var ge *gitError
	if errors.As(err, &ge) && ge.code == 1 {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(string(out)), true, nil
}

// shallow reports whether the clone has cut-off history.
func (g git) shallow(ctx context.Context) bool {
	out, err := g.line(ctx, "rev-parse", "--is-shallow-repository")
	return err == nil && out == "true"
}

// treeEntry is one blob of a commit's tree.
type treeEntry struct {
	mode string
	sha  string
	size int64
	path string
}

// tree lists the blobs of rev, recursively (submodules and symbolic links
// are left out: neither holds a record).
func (g git) tree(ctx context.Context, rev string) ([]treeEntry, error) {
	out, err := g.run(ctx, "ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options", rev)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := bytes.Cut(rec, []byte{'\t'})
		fields := strings.Fields(string(meta))
		if !ok || len(fields) != 4 {
			return nil, fmt.Errorf("git ls-tree %s: unexpected line %q", rev, rec)
		}
		if fields[1] != "blob" || fields[0] == "120000" {
			continue
		}
		size, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("git ls-tree %s: unexpected size in %q", rev, rec)
		}
		entries = append(entries, treeEntry{mode: fields[0], sha: fields[2], size: size, path: string(path)})
	}
	return entries, nil
}

// blobs reads objects by id through one `git cat-file --batch`, calling fn
// with each one's bytes in order. An object git cannot find is an error.
func (g git) blobs(ctx context.Context, ids []string, fn func(i int, data []byte) error) error {
	if len(ids) == 0 {
		return nil
	}
	cmd := g.command(ctx, "cat-file", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, id := range ids {
			w.WriteString(id)
			w.WriteByte('\n')
		}
		w.Flush()
		stdin.Close()
	}()
	r := bufio.NewReaderSize(stdout, 64<<10)
	readErr := func() error {
		for i, id := range ids {
			header, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: reading %s: %w", id, err)
			}
			fields := strings.Fields(header)
			if len(fields) == 2 && fields[1] == "missing" {
				return fmt.Errorf("git cat-file: object %s is not in this clone", id)
			}
			if len(fields) != 3 {
				return fmt.Errorf("git cat-file: unexpected header %q", header)
			}
			size, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil || size < 0 {
				return fmt.Errorf("git cat-file: unexpected size in %q", header)
			}
			data := make([]byte, size)
			if _, err := io.ReadFull(r, data); err != nil {
				return fmt.Errorf("git cat-file: reading %s: %w", id, err)
			}
			if _, err := r.Discard(1); err != nil {
				return fmt.Errorf("git cat-file: reading %s: %w", id, err)
			}
			if err := fn(i, data); err != nil {
				return err
			}
		}
		return nil
	}()
	if readErr != nil {
		cmd.Process.Kill()
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		return readErr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
