// Command fakegithub runs the githubtest fake GitHub on its own, for manual
// runs of `backstory serve` against it:
//
//	fakegithub -addr 127.0.0.1:8765 -key /tmp/app.pem \
//	    -installation 42=acme -repo acme/widgets=./testdata/widgets -private acme/secret
//
// It serves until interrupted, then prints every request that violated
// GitHub's API description and exits 1 if there was one.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/backstory-dev/backstory/app/github/githubtest"
)

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	log.SetFlags(log.Ltime)
	if err := run(); err != nil {
		log.Fatalf("fakegithub: %v", err)
	}
}

func run() error {
	var (
		addr          = flag.String("addr", "127.0.0.1:0", "address to listen on")
		appID         = flag.Int64("app-id", 1001, "the App's id")
		keyPath       = flag.String("key", "", "the App's private key (PEM): read when the file exists, else the generated key is written there")
		description   = flag.String("description", "", "GitHub's API description, gzipped when it ends in .gz (default: the copy of shared/corpus/openapi built into githubtest)")
		quiet         = flag.Bool("quiet", false, "do not log every request")
		installations list
		repos         list
		private       list
		codes         list
	)
	flag.Var(&installations, "installation", "ID=ACCOUNT: install the App on ACCOUNT (all its repositories); repeatable")
	flag.Var(&repos, "repo", "OWNER/NAME[=DIR]: add a repository, committing DIR's files to its default branch; repeatable")
	flag.Var(&private, "private", "OWNER/NAME: add a private repository (combine with -repo for files); repeatable")
	flag.Var(&codes, "manifest-code", "CODE: a code that POST /app-manifests/CODE/conversions turns into this App; repeatable")
	flag.Parse()

	opts := []githubtest.Option{githubtest.WithAppID(*appID), githubtest.WithAddr(*addr)}
	if !*quiet {
		opts = append(opts, githubtest.WithLogf(log.Printf))
	}
	if *description != "" {
		opts = append(opts, githubtest.WithDescription(*description))
	}
	if *keyPath != "" {
		pem, err := os.ReadFile(*keyPath)
		switch {
		case err == nil:
			opts = append(opts, githubtest.WithPrivateKey(pem))
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("read the App key: %w", err)
		}
	}
	s, err := githubtest.NewServer(opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	if *keyPath != "" {
		if _, err := os.Stat(*keyPath); errors.Is(err, fs.ErrNotExist) {
			if err := os.WriteFile(*keyPath, s.PrivateKeyPEM(), 0o600); err != nil {
				return fmt.Errorf("write the App key: %w", err)
			}
		}
	}

	for _, name := range private {
		s.AddRepo(name, githubtest.RepoOptions{Private: true})
	}
	for _, spec := range repos {
		name, dir, _ := strings.Cut(spec, "=")
		if !strings.Contains(name, "/") {
			return fmt.Errorf("-repo %q: want OWNER/NAME[=DIR]", spec)
		}
		isPrivate := false
		for _, p := range private {
			isPrivate = isPrivate || strings.EqualFold(p, name)
		}
		s.AddRepo(name, githubtest.RepoOptions{Private: isPrivate})
		if dir == "" {
			continue
		}
		files, err := readTree(dir)
		if err != nil {
			return fmt.Errorf("-repo %s: %w", spec, err)
		}
		sha := s.Commit(name, "", files)
		log.Printf("fakegithub: %s: %d files at %s", name, len(files), sha[:7])
	}
	for _, spec := range installations {
		id, account, ok := strings.Cut(spec, "=")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || account == "" {
			return fmt.Errorf("-installation %q: want ID=ACCOUNT, as 42=acme", spec)
		}
		s.AddInstallation(n, account)
	}
	for _, code := range codes {
		s.AddManifestCode(code, githubtest.ManifestApp{})
	}

	log.Printf("fakegithub: GitHub API at %s (App %d)", s.URL(), s.AppID)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	s.Close()
	vs := s.Violations()
	for _, v := range vs {
		log.Printf("fakegithub: violation: %s", v)
	}
	if len(vs) > 0 {
		return fmt.Errorf("%d requests violated GitHub's API description", len(vs))
	}
	return nil
}

// readTree reads the regular files under dir, by slash-separated path,
// leaving out .git.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return files, nil
}
