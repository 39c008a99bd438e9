package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func testApp() App {
	app := App{ID: 42, Slug: "backstory-acme", Name: "backstory-acme", HTMLURL: "https://github.com/apps/backstory-acme",
		PEM: testPEM(), WebhookSecret: "whsec", ClientID: "Iv1.abc", ClientSecret: "csec"}
	app.Owner.Login = "acme"
	return app
}

func TestWriteCredentials(t *testing.T) {
	dir := t.TempDir()
	files, err := PlanFiles(filepath.Join(dir, "backstory.yml"), "Backstory (Acme)")
	if err != nil {
		t.Fatal(err)
	}
	if files.Key != filepath.Join(dir, "backstory-acme.private-key.pem") {
		t.Errorf("key path = %s", files.Key)
	}
	if err := files.Check(false); err != nil {
		t.Fatalf("Check on an empty folder: %v", err)
	}
	host, _ := ParseHost("https://github.example.com", "")
	cfg := ConfigFor(testApp(), host, files.Key, ":8080")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := files.Write(cfg, testPEM(), now, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{files.Config, files.Key} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	key, _ := os.ReadFile(files.Key)
	if string(key) != testPEM() {
		t.Error("the key file does not hold the PEM GitHub gave")
	}
	data, _ := os.ReadFile(files.Config)
	var back Config
	if err := yaml.Unmarshal(data, &back); err != nil {
		t.Fatalf("the configuration is not YAML: %v\n%s", err, data)
	}
	want := Config{
		GitHub: GitHubConfig{AppID: 42, AppSlug: "backstory-acme", APIURL: "https://github.example.com/api/v3/", WebURL: "https://github.example.com",
			PrivateKeyPath: files.Key, WebhookSecret: "whsec", ClientID: "Iv1.abc", ClientSecret: "csec"},
		Server: ServerConfig{Listen: ":8080"},
	}
	if back != want {
		t.Errorf("configuration read back = %+v, want %+v", back, want)
	}
	if !strings.HasPrefix(string(data), "# Written by backstory setup on 2026-03-01") || !strings.Contains(string(data), "backstory serve --config "+files.Config) {
		t.Errorf("configuration header:\n%s", data)
	}
	// Viper reads nested keys: github.app_id must be under github:.
	if !strings.Contains(string(data), "github:\n  app_id: 42\n") {
		t.Errorf("configuration is not nested as viper reads it:\n%s", data)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// Without force nothing is replaced, and Check says so first.
	if err := files.Check(false); err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Check over existing files = %v", err)
	}
	other := cfg
	other.GitHub.AppID = 7
	if err := files.Write(other, "other key", now, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Write over existing files = %v", err)
	}
	if got, _ := os.ReadFile(files.Key); string(got) != testPEM() {
		t.Error("Write without force replaced the key")
	}

	// With force both are replaced.
	if err := files.Check(true); err != nil {
		t.Errorf("Check with force: %v", err)
	}
	if err := files.Write(other, testPEM(), now, true); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(files.Config)
	if !strings.Contains(string(data), "app_id: 7") {
		t.Errorf("Write with force did not replace the configuration:\n%s", data)
	}
}

func TestWriteRemovesTheKeyWhenTheConfigFails(t *testing.T) {
	dir := t.TempDir()
	files, _ := PlanFiles(filepath.Join(dir, "backstory.yml"), "backstory")
	// A configuration appearing between Check and Write (another setup)
	// must not be replaced, and must not leave a stray key behind.
	if err := os.WriteFile(files.Config, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, _ := ParseHost("https://github.com", "")
	err := files.Write(ConfigFor(testApp(), host, files.Key, ":8080"), testPEM(), time.Now(), false)
	if err == nil || !strings.Contains(err.Error(), "write the configuration") {
		t.Fatalf("Write = %v", err)
	}
	if _, err := os.Stat(files.Key); !os.IsNotExist(err) {
		t.Errorf("the key was left behind: %v", err)
	}
	if got, _ := os.ReadFile(files.Config); string(got) != "mine" {
		t.Errorf("the existing configuration was replaced: %q", got)
	}
}

func TestCheckRefusesWhatCannotBeWritten(t *testing.T) {
	dir := t.TempDir()
	missing, _ := PlanFiles(filepath.Join(dir, "nope", "backstory.yml"), "backstory")
	if err := missing.Check(false); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Check in a missing folder = %v", err)
	}
	asDir, _ := PlanFiles(dir, "backstory")
	if err := asDir.Check(true); err == nil {
		t.Error("Check accepted a folder as the configuration file")
	}
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		readOnly, _ := PlanFiles(filepath.Join(ro, "backstory.yml"), "backstory")
		if err := readOnly.Check(false); err == nil || !strings.Contains(err.Error(), "cannot write") {
			t.Errorf("Check in a read-only folder = %v", err)
		}
	}
	if _, err := PlanFiles("", "x"); err == nil {
		t.Error("PlanFiles accepted no file")
	}
}
