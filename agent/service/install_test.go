package service

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/agent/config"
)

// systemdLayout skips tests of the file-only systemd install where POSIX modes and symlinks do
// not hold.
func systemdLayout(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the --root systemd layout is checked on POSIX systems")
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestInstallUninstallUnderRoot(t *testing.T) {
	systemdLayout(t)
	isolate(t)
	root := t.TempDir()
	configFile := filepath.Join(root, "etc/slipway/agent.yaml")
	unitPath := filepath.Join(root, "etc/systemd/system/slipway-agent.service")
	link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/slipway-agent.service")
	dataDir := filepath.Join(root, "srv/agent")

	r := runMain(t, nil, Options{}, "install", "--root", root,
		"--server", "https://a.example:7400,https://b.example:7400", "--registration-token", "slwr_secret",
		"--tag", "env=prod", "--tag", "role=web", "--name", "web-1", "--data-dir", "/srv/agent")
	if r.code != ExitOK {
		t.Fatalf("install exited %d: %s", r.code, r.stderr)
	}

	// The config: only what was given, mode 0600 because it holds the token.
	if m := mode(t, configFile); m.Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", m)
	}
	got, err := config.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		Servers:           []string{"https://a.example:7400", "https://b.example:7400"},
		RegistrationToken: "slwr_secret",
		Name:              "web-1",
		Tags:              map[string]string{"env": "prod", "role": "web"},
		DataDir:           "/srv/agent",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config:\n got %+v\nwant %+v", got, want)
	}

	// The unit, rendered from systemd/slipway-agent.service, pointing at the target's paths.
	if m := mode(t, unitPath); m.Perm() != 0o644 {
		t.Errorf("unit mode %v, want 0644", m)
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	wantUnit, err := renderAgentUnit(testParams(testExecutable))
	if err != nil {
		t.Fatal(err)
	}
	if string(unit) != wantUnit {
		t.Errorf("unit:\n%s\nwant:\n%s", unit, wantUnit)
	}
	s := unitSettings(t, string(unit))
	if got := one(t, s, "Service", "ExecStart"); got != testExecutable+` "run" "--config" "/etc/slipway/agent.yaml"` {
		t.Errorf("ExecStart = %s", got)
	}

	// Enabled the way systemctl enables: an absolute symlink in the target's wants folder.
	if m := mode(t, link); m&os.ModeSymlink == 0 {
		t.Fatalf("%s is not a symlink", link)
	}
	if target, _ := os.Readlink(link); target != "/etc/systemd/system/slipway-agent.service" {
		t.Errorf("enable link → %q", target)
	}

	r = runMain(t, nil, Options{}, "status", "--root", root)
	if r.code != ExitFailure || strings.TrimSpace(r.stdout) != "slipway-agent: stopped" {
		t.Errorf("status after install: %d %q", r.code, r.stdout)
	}

	// A second install refuses; --force replaces.
	r = runMain(t, nil, Options{}, "install", "--root", root, "--server", "https://c.example", "--registration-token", "t2")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "already installed") {
		t.Errorf("second install: %d %s", r.code, r.stderr)
	}
	if got, _ := config.ReadFile(configFile); got.RegistrationToken != "slwr_secret" {
		t.Errorf("a refused install changed the config: %+v", got)
	}
	r = runMain(t, nil, Options{}, "install", "--root", root, "--force", "--server", "https://c.example", "--registration-token", "t2", "--data-dir", "/srv/agent")
	if r.code != ExitOK {
		t.Fatalf("install --force: %d %s", r.code, r.stderr)
	}
	if got, _ := config.ReadFile(configFile); got.RegistrationToken != "t2" || !reflect.DeepEqual(got.Servers, []string{"https://c.example"}) {
		t.Errorf("install --force did not replace the config: %+v", got)
	}

	// Uninstall keeps the config and data; --purge removes them.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "identity.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runMain(t, nil, Options{}, "uninstall", "--root", root)
	if r.code != ExitOK {
		t.Fatalf("uninstall: %d %s", r.code, r.stderr)
	}
	if exists(unitPath) || exists(link) {
		t.Error("uninstall left the unit or its enable link")
	}
	if !exists(configFile) || !exists(dataDir) {
		t.Error("uninstall without --purge removed the config or the data")
	}
	r = runMain(t, nil, Options{}, "status", "--root", root)
	if r.code != ExitFailure || strings.TrimSpace(r.stdout) != "slipway-agent: not installed" {
		t.Errorf("status after uninstall: %d %q", r.code, r.stdout)
	}
	r = runMain(t, nil, Options{}, "uninstall", "--root", root)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "not installed") {
		t.Errorf("second uninstall: %d %s", r.code, r.stderr)
	}
	r = runMain(t, nil, Options{}, "uninstall", "--root", root, "--purge")
	if r.code != ExitOK {
		t.Fatalf("uninstall --purge: %d %s", r.code, r.stderr)
	}
	if exists(configFile) || exists(dataDir) {
		t.Error("--purge left the config or the data folder")
	}
	if !exists(filepath.Join(root, "srv")) {
		t.Error("--purge removed more than the data folder")
	}
}

func TestInstallOptions(t *testing.T) {
	systemdLayout(t)
	t.Run("custom config path reaches the unit", func(t *testing.T) {
		isolate(t)
		root := t.TempDir()
		r := runMain(t, nil, Options{}, "install", "--root", root, "--config", "/opt/slipway/agent.yaml",
			"--executable", "/opt/slipway/bin/slipway-agent", "--server", "http://10.0.0.1:7400", "--registration-token", "t")
		if r.code != ExitOK {
			t.Fatalf("install: %d %s", r.code, r.stderr)
		}
		if m := mode(t, filepath.Join(root, "opt/slipway/agent.yaml")); m.Perm() != 0o600 {
			t.Errorf("config mode %v", m)
		}
		unit, _ := os.ReadFile(filepath.Join(root, "etc/systemd/system/slipway-agent.service"))
		s := unitSettings(t, string(unit))
		if got := one(t, s, "Service", "ExecStart"); got != `/opt/slipway/bin/slipway-agent "run" "--config" "/opt/slipway/agent.yaml"` {
			t.Errorf("ExecStart = %s", got)
		}
	})
	t.Run("token from a file is written into the config", func(t *testing.T) {
		isolate(t)
		root := t.TempDir()
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte("slwr_fromfile\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("SLIPWAY_AGENT_REGISTRATION_TOKEN_FILE", tokenFile)
		r := runMain(t, nil, Options{}, "install", "--root", root, "--server", "http://10.0.0.1:7400")
		if r.code != ExitOK {
			t.Fatalf("install: %d %s", r.code, r.stderr)
		}
		b, _ := os.ReadFile(filepath.Join(root, "etc/slipway/agent.yaml"))
		if !strings.Contains(string(b), "registration_token: slwr_fromfile") || strings.Contains(string(b), "registration_token_file") {
			t.Errorf("config:\n%s", b)
		}
	})
	t.Run("an existing config is kept when no setting is given", func(t *testing.T) {
		isolate(t)
		root := t.TempDir()
		path := filepath.Join(root, "etc/slipway/agent.yaml")
		content := "servers: [https://slipway.example.com]\nregistration_token: t\n# written by config management\n"
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runMain(t, nil, Options{}, "install", "--root", root)
		if r.code != ExitOK {
			t.Fatalf("install: %d %s", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("config rewritten:\n%s", b)
		}
	})
}

func TestInstallRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"--server", "https://a.example"},
			"registration_token (flag --registration-token, env SLIPWAY_AGENT_REGISTRATION_TOKEN): is required"},
		{"no server", []string{"--registration-token", "t"}, "servers (flag --server, env SLIPWAY_AGENT_SERVERS): at least one"},
		{"bad server", []string{"--server", "a.example:7400", "--registration-token", "t"}, "must be an http:// or https:// URL"},
		{"bad tag", []string{"--server", "https://a", "--registration-token", "t", "--tag", "env"}, `"env" must be key=value`},
		{"missing token file", []string{"--server", "https://a", "--registration-token-file", "/nonexistent/token"}, "registration_token_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			root := t.TempDir()
			r := runMain(t, nil, Options{}, append([]string{"install", "--root", root}, tt.args...)...)
			if r.code != ExitConfig {
				t.Errorf("exit %d, want %d", r.code, ExitConfig)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", r.stderr, tt.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a refused install wrote %v", entries)
			}
		})
	}
}

func TestRemoveDataDirRefusesShortPaths(t *testing.T) {
	for _, p := range []string{"/", "/var", "relative/dir"} {
		if err := removeDataDir(p); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("removeDataDir(%q) = %v", p, err)
		}
	}
}

func TestFailedInstallLeavesNoConfig(t *testing.T) {
	systemdLayout(t)
	isolate(t)
	root := t.TempDir()
	// A file where the unit folder should be makes the service install fail.
	if err := os.MkdirAll(filepath.Join(root, "etc/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, nil, Options{}, "install", "--root", root, "--server", "https://a.example", "--registration-token", "t")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "install service") {
		t.Errorf("install: %d %s", r.code, r.stderr)
	}
	if exists(filepath.Join(root, "etc/slipway/agent.yaml")) {
		t.Error("a failed install left its config behind")
	}
}
