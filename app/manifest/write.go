package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the part of `backstory serve`'s configuration file that setup
// writes: the keys serve reads, nested as viper reads them.
type Config struct {
	GitHub GitHubConfig `yaml:"github"`
	Server ServerConfig `yaml:"server"`
}

// GitHubConfig is the "github" section: the App's identity and secrets.
type GitHubConfig struct {
	AppID          int64  `yaml:"app_id"`
	AppSlug        string `yaml:"app_slug"`
	APIURL         string `yaml:"api_url"`
	WebURL         string `yaml:"web_url"`
	PrivateKeyPath string `yaml:"private_key_path"`
	WebhookSecret  string `yaml:"webhook_secret"`
	ClientID       string `yaml:"client_id"`
	ClientSecret   string `yaml:"client_secret"`
}

// ServerConfig is the "server" section.
type ServerConfig struct {
	Listen string `yaml:"listen"`
	// PublicURL is where readers reach backstory serve: with the OAuth
	// credentials above, it turns on the sign-in to private sites.
	PublicURL string `yaml:"public_url,omitempty"`
}

// Files are where setup writes: the configuration and, beside it, the App's
// private key. Both paths are absolute.
type Files struct {
	Config string
	Key    string
}

// PlanFiles places the private key beside the configuration file, named
// after the App: <dir>/<slug of name>.private-key.pem.
func PlanFiles(configPath, name string) (Files, error) {
	if configPath == "" {
		return Files{}, errors.New("no configuration file named: give --config FILE")
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return Files{}, fmt.Errorf("configuration file %s: %w", configPath, err)
	}
	return Files{Config: abs, Key: filepath.Join(filepath.Dir(abs), Slug(name)+".private-key.pem")}, nil
}

// Check makes sure Write can succeed before GitHub's one-time code is spent:
// the folder exists and is writable, and, unless force, neither file
// exists.
func (f Files) Check(force bool) error {
	dir := filepath.Dir(f.Config)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("folder %s of the configuration file: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: name a configuration file inside a folder", dir)
	}
	for _, p := range []string{f.Config, f.Key} {
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			return fmt.Errorf("%s is a folder: name a file", p)
		case err == nil && !force:
			return fmt.Errorf("%s already exists: move it away, name another file with --config, or replace it with --force", p)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("check %s: %w", p, err)
		}
	}
	probe, err := os.CreateTemp(dir, ".backstory-setup-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// ConfigFor is the configuration that makes `backstory serve` act as app.
func ConfigFor(app App, host Host, keyPath, listen string) Config {
	return Config{
		GitHub: GitHubConfig{
			AppID:          app.ID,
			AppSlug:        app.Slug,
			APIURL:         host.API,
			WebURL:         host.Web,
			PrivateKeyPath: keyPath,
			WebhookSecret:  app.WebhookSecret,
			ClientID:       app.ClientID,
			ClientSecret:   app.ClientSecret,
		},
		Server: ServerConfig{Listen: listen, PublicURL: app.PublicURL()},
	}
}

// Write writes the private key and then the configuration, each readable by
// its owner only (0600) and atomically (a temporary file renamed into
// place), so that a crash never leaves half a secret. Unless force, an
// existing file is never replaced, even one created since Check. If the
// configuration cannot be written, the key just written is removed again, so
// that trying again starts from the same place.
func (f Files) Write(cfg Config, pemKey string, now time.Time, force bool) error {
	var doc bytes.Buffer
	fmt.Fprintf(&doc, "# Written by backstory setup on %s for the GitHub App %q.\n", now.UTC().Format("2006-01-02"), cfg.GitHub.AppSlug)
	fmt.Fprintf(&doc, "# It holds the App's secrets: keep it, and %s, private.\n", filepath.Base(f.Key))
	fmt.Fprintf(&doc, "# Start the App with:  backstory serve --config %s\n", f.Config)
	enc := yaml.NewEncoder(&doc)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("encode the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode the configuration: %w", err)
	}
	if err := writePrivate(f.Key, []byte(pemKey), force); err != nil {
		return fmt.Errorf("write the private key: %w", err)
	}
	if err := writePrivate(f.Config, doc.Bytes(), force); err != nil {
		os.Remove(f.Key)
		return fmt.Errorf("write the configuration: %w", err)
	}
	return nil
}

// writePrivate writes data to path with mode 0600 through a temporary file
// in the same folder. Without force it links the temporary file into place,
// which fails when path exists, instead of renaming over it.
func writePrivate(path string, data []byte, force bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	// Once linked or renamed into place, removing the temporary name is
	// harmless: the data lives on under path.
	defer os.Remove(name)
	// CreateTemp already makes the file 0600; Chmod says so on purpose, in
	// case a future Go or a strange umask changes that.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if force {
		if err := os.Rename(name, path); err != nil {
			return err
		}
	} else if err := os.Link(name, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: replace it with --force", path)
		}
		// Some file systems cannot link: check, then rename.
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%s already exists: replace it with --force", path)
		}
		if err := os.Rename(name, path); err != nil {
			return err
		}
	}
	if d, err := os.Open(dir); err == nil {
		// Make the new name durable too; not every system can sync a folder.
		_ = d.Sync()
		d.Close()
	}
	return nil
}
