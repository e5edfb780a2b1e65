package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// clearEnv makes every SLIPWAY_AGENT_* variable empty (which reads as unset) for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, f := range fields {
		t.Setenv(f.Env, "")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parseFlags binds the config flags to a fresh FlagSet and parses args.
func parseFlags(t *testing.T, args ...string) Config {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f := BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	d := Default()
	host, _ := os.Hostname()
	if d.Name != host {
		t.Errorf("Name = %q, want hostname %q", d.Name, host)
	}
	if runtime.GOOS == "linux" && d.DataDir != "/var/lib/slipway-agent" {
		t.Errorf("DataDir = %q", d.DataDir)
	}
	if d.LogLevel != "info" || d.MaxRevisions != 5 || d.Servers != nil || d.RegistrationToken != "" {
		t.Errorf("Default() = %+v", d)
	}
	if got := DefaultDataDir("linux"); got != "/var/lib/slipway-agent" {
		t.Errorf("DefaultDataDir(linux) = %q", got)
	}
	if got := DefaultDataDir("windows"); !strings.HasSuffix(got, filepath.Join("Slipway", "agent")) {
		t.Errorf("DefaultDataDir(windows) = %q", got)
	}
}

func TestLoadPrecedence(t *testing.T) {
	const file = `
servers: [https://file.example:7400]
registration_token: file-token
name: from-file
tags: {env: file, role: web}
data_dir: /srv/file
log_level: warn
max_revisions: 3
`
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		want  func(c *Config)
	}{
		{
			name: "file over defaults",
			want: func(c *Config) {},
		},
		{
			name: "environment over file",
			env: map[string]string{
				"SLIPWAY_AGENT_SERVERS":       "https://env-a:7400, https://env-b:7400",
				"SLIPWAY_AGENT_NAME":          "from-env",
				"SLIPWAY_AGENT_TAGS":          "env=staging",
				"SLIPWAY_AGENT_DATA_DIR":      "/srv/env",
				"SLIPWAY_AGENT_LOG_LEVEL":     "debug",
				"SLIPWAY_AGENT_MAX_REVISIONS": "7",
			},
			want: func(c *Config) {
				c.Servers = []string{"https://env-a:7400", "https://env-b:7400"}
				c.Name, c.DataDir, c.LogLevel, c.MaxRevisions = "from-env", "/srv/env", "debug", 7
				c.Tags = map[string]string{"env": "staging"} // a layer replaces the map whole
			},
		},
		{
			name: "flags over environment",
			env:  map[string]string{"SLIPWAY_AGENT_NAME": "from-env", "SLIPWAY_AGENT_LOG_LEVEL": "debug"},
			flags: []string{"--server", "https://flag-a:7400,https://flag-b:7400", "--server", "http://flag-c",
				"--name", "from-flag", "--tag", "env=prod", "--tag", "team=pay", "--data-dir", "/srv/flag",
				"--max-revisions", "9"},
			want: func(c *Config) {
				c.Servers = []string{"https://flag-a:7400", "https://flag-b:7400", "http://flag-c"}
				c.Name, c.DataDir, c.MaxRevisions = "from-flag", "/srv/flag", 9
				c.LogLevel = "debug" // no flag given: the environment's value stands
				c.Tags = map[string]string{"env": "prod", "team": "pay"}
			},
		},
		{
			name:  "token file flag replaces the file's token",
			flags: []string{"--registration-token-file", "TOKENFILE"},
			want: func(c *Config) {
				c.RegistrationToken = "token-from-file"
				c.RegistrationTokenFile = "TOKENFILE"
			},
		},
		{
			name: "token file from the environment",
			env:  map[string]string{"SLIPWAY_AGENT_REGISTRATION_TOKEN_FILE": "TOKENFILE"},
			want: func(c *Config) {
				c.RegistrationToken = "token-from-file"
				c.RegistrationTokenFile = "TOKENFILE"
			},
		},
		{
			name:  "token flag over token file in the environment",
			env:   map[string]string{"SLIPWAY_AGENT_REGISTRATION_TOKEN_FILE": "TOKENFILE"},
			flags: []string{"--registration-token", "flag-token"},
			want:  func(c *Config) { c.RegistrationToken = "flag-token" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			path := writeFile(t, "agent.yaml", file)
			tokenFile := writeFile(t, "token", "  token-from-file\n")
			for k, v := range tt.env {
				t.Setenv(k, strings.ReplaceAll(v, "TOKENFILE", tokenFile))
			}
			args := make([]string, len(tt.flags))
			for i, a := range tt.flags {
				args[i] = strings.ReplaceAll(a, "TOKENFILE", tokenFile)
			}
			got, err := Load(path, parseFlags(t, args...))
			if err != nil {
				t.Fatal(err)
			}
			want := Config{
				Servers:           []string{"https://file.example:7400"},
				RegistrationToken: "file-token",
				Name:              "from-file",
				Tags:              map[string]string{"env": "file", "role": "web"},
				DataDir:           "/srv/file",
				LogLevel:          "warn",
				MaxRevisions:      3,

				BundleMaxExpansion:    DefaultBundleMaxExpansion,
				BundleMaxUnpackedSize: DefaultBundleMaxUnpackedSize,
			}
			tt.want(&want)
			if want.RegistrationTokenFile == "TOKENFILE" {
				want.RegistrationTokenFile = tokenFile
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadWithoutFileUsesDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("SLIPWAY_AGENT_SERVERS", "http://127.0.0.1:7400")
	got, err := Load("", Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Servers = []string{"http://127.0.0.1:7400"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadFileStrict(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key", "servers: [http://a]\nregistration_tokn: x\n",
			[]string{":2: unknown key \"registration_tokn\"", "known keys: servers, registration_token"}},
		{"unknown nested key type", "servers: [http://a]\nname: web\nmax_revisions: lots\n",
			[]string{":3: cannot unmarshal !!str `lots` into int"}},
		{"syntax", "servers: [http://a\nname: x\n", []string{"agent.yaml:"}},
		{"two documents", "name: a\n---\nname: b\n", []string{"more than one YAML document"}},
		{"tags not a map", "tags: [a, b]\n", []string{":1: cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "agent.yaml", tt.yaml)
			_, err := ReadFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestReadFileMissingAndEmpty(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	c, err := ReadFile(writeFile(t, "agent.yaml", "# nothing yet\n"))
	if err != nil || !reflect.ValueOf(c).IsZero() {
		t.Errorf("empty file: %+v, %v", c, err)
	}
}

func TestValidateMessages(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Name = "web-1"
		c.Servers = []string{"https://slipway.example.com:7400"}
		return c
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // one problem, printed with key, flag and env
	}{
		{"no servers", func(c *Config) { c.Servers = nil },
			"servers (flag --server, env SLIPWAY_AGENT_SERVERS): at least one server URL is required"},
		{"ftp server", func(c *Config) { c.Servers = []string{"ftp://x"} },
			`servers (flag --server, env SLIPWAY_AGENT_SERVERS): "ftp://x" must be an http:// or https:// URL`},
		{"server without scheme", func(c *Config) { c.Servers = []string{"slipway.example.com:7400"} },
			`"slipway.example.com:7400" must be an http:// or https:// URL`},
		{"server without host", func(c *Config) { c.Servers = []string{"http://"} }, `"http://" has no host`},
		{"server with credentials", func(c *Config) { c.Servers = []string{"https://u:p@h"} }, "must not contain credentials"},
		{"duplicate server", func(c *Config) { c.Servers = []string{"http://a", "http://a/"} }, `"http://a/" is listed twice`},
		{"token with space", func(c *Config) { c.RegistrationToken = "a b" },
			"registration_token (flag --registration-token, env SLIPWAY_AGENT_REGISTRATION_TOKEN): must not contain white space"},
		{"empty name", func(c *Config) { c.Name = "" }, "name (flag --name, env SLIPWAY_AGENT_NAME): is required"},
		{"bad name", func(c *Config) { c.Name = "web 1" }, `name (flag --name, env SLIPWAY_AGENT_NAME): "web 1" must be`},
		{"bad tag key", func(c *Config) { c.Tags = map[string]string{"-x": "1"} },
			`tags (flag --tag, env SLIPWAY_AGENT_TAGS): key "-x" must start with a letter or digit`},
		{"tag value control char", func(c *Config) { c.Tags = map[string]string{"env": "a\nb"} }, "contains a control character"},
		{"relative data dir", func(c *Config) { c.DataDir = "data" },
			`data_dir (flag --data-dir, env SLIPWAY_AGENT_DATA_DIR): "data" must be an absolute path`},
		{"log level", func(c *Config) { c.LogLevel = "loud" },
			`log_level (flag --log-level, env SLIPWAY_AGENT_LOG_LEVEL): "loud" must be one of debug, info, warn, error`},
		{"max revisions", func(c *Config) { c.MaxRevisions = 0 },
			"max_revisions (flag --max-revisions, env SLIPWAY_AGENT_MAX_REVISIONS): 0 must be at least 1"},
		{"build network", func(c *Config) { c.BuildNetwork = "--privileged" },
			`build_network (flag --build-network, env SLIPWAY_AGENT_BUILD_NETWORK): "--privileged" is not a Docker network mode`},
		{"build memory", func(c *Config) { c.BuildMemory = 1 << 20 },
			"build_memory (flag --build-memory, env SLIPWAY_AGENT_BUILD_MEMORY): 1048576 bytes is less than Docker's 6 MiB minimum"},
		{"build cpus", func(c *Config) { c.BuildCPUs = -1 },
			"build_cpus (flag --build-cpus, env SLIPWAY_AGENT_BUILD_CPUS): -1 must be from 0 (no limit) to 1024"},
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *ValidationError wrapping ErrInvalid", err)
			}
			if len(ve.Problems) != 1 {
				t.Errorf("%d problems, want 1: %v", len(ve.Problems), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{Servers: []string{"ftp://x"}, Name: "ok", DataDir: "rel", LogLevel: "loud", MaxRevisions: 1,
		BundleMaxExpansion: 1, BundleMaxUnpackedSize: 1 << 20}
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("Validate() = %v, want 3 problems", err)
	}
	if got := ve.Problems[0].Key + "," + ve.Problems[1].Key + "," + ve.Problems[2].Key; got != "servers,data_dir,log_level" {
		t.Errorf("problem order %s", got)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
}

func TestRequireToken(t *testing.T) {
	err := Config{}.RequireToken()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "registration_token (flag --registration-token") {
		t.Errorf("RequireToken() = %v", err)
	}
	if err := (Config{RegistrationToken: "t"}).RequireToken(); err != nil {
		t.Errorf("RequireToken() with token = %v", err)
	}
}

func TestBadEnvironmentAndFlags(t *testing.T) {
	t.Run("max revisions not a number", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("SLIPWAY_AGENT_MAX_REVISIONS", "five")
		_, err := Load("", Config{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `SLIPWAY_AGENT_MAX_REVISIONS): "five" is not a whole number`) {
			t.Errorf("Load() = %v", err)
		}
	})
	t.Run("token and token file in the environment", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("SLIPWAY_AGENT_REGISTRATION_TOKEN", "a")
		t.Setenv("SLIPWAY_AGENT_REGISTRATION_TOKEN_FILE", "/b")
		if _, err := FromEnv(os.LookupEnv); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not both") {
			t.Errorf("FromEnv() = %v", err)
		}
	})
	t.Run("bad tag flag", func(t *testing.T) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := BindFlags(fs)
		if err := fs.Parse([]string{"--tag", "novalue"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Config(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `tags (flag --tag, env SLIPWAY_AGENT_TAGS): "novalue" must be key=value`) {
			t.Errorf("Config() = %v", err)
		}
	})
	t.Run("both token flags", func(t *testing.T) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := BindFlags(fs)
		if err := fs.Parse([]string{"--registration-token", "a", "--registration-token-file", "/b"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Config(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "give --registration-token or --registration-token-file, not both") {
			t.Errorf("Config() = %v", err)
		}
	})
	t.Run("unreadable token file", func(t *testing.T) {
		clearEnv(t)
		_, err := Load("", Config{Servers: []string{"http://a"}, RegistrationTokenFile: filepath.Join(t.TempDir(), "missing")})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "registration_token_file (flag --registration-token-file") {
			t.Errorf("Load() = %v", err)
		}
	})
	t.Run("empty token file", func(t *testing.T) {
		clearEnv(t)
		_, err := Load("", Config{Servers: []string{"http://a"}, RegistrationTokenFile: writeFile(t, "token", "\n")})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("Load() = %v", err)
		}
	})
}

func TestMarshalRoundTrip(t *testing.T) {
	c := Config{
		Servers:           []string{"https://a:7400", "https://b:7400"},
		RegistrationToken: "slwr_abc",
		Tags:              map[string]string{"env": "prod"},
		MaxRevisions:      2,
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "name:") || strings.Contains(string(b), "data_dir:") {
		t.Errorf("unset fields written:\n%s", b)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip: got %+v, want %+v", back, c)
	}
}

func TestMergeCopies(t *testing.T) {
	over := Config{Servers: []string{"http://a"}, Tags: map[string]string{"k": "v"}}
	got := Merge(Config{}, over)
	over.Servers[0], over.Tags["k"] = "changed", "changed"
	if got.Servers[0] != "http://a" || got.Tags["k"] != "v" {
		t.Errorf("Merge shares slices or maps with its input: %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("servers: [https://a:7400]\nregistration_token: t\ntags: {env: prod}\n"))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("unknown: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		_ = c.Validate()
	})
}

// TestPackagingExample keeps packaging/agent.yaml, the documented example, loadable.
func TestPackagingExample(t *testing.T) {
	c, err := ReadFile(filepath.Join("..", "..", "packaging", "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Merge(Default(), c).Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Servers) == 0 || c.RegistrationToken == "" || len(c.Tags) == 0 {
		t.Errorf("example lost its settings: %+v", c)
	}
}

// TestBundleLimits: the two bundle size settings come from every layer, sizes in bytesize's
// forms, and bad values are refused naming the setting.
func TestBundleLimits(t *testing.T) {
	if d := Default(); d.BundleMaxExpansion != 100 || d.BundleMaxUnpackedSize != 8<<30 {
		t.Fatalf("defaults %d, %d", d.BundleMaxExpansion, d.BundleMaxUnpackedSize)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte("servers: [http://a]\nbundle_max_expansion: 20\nbundle_max_unpacked_size: 2GiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, Config{})
	if err != nil || got.BundleMaxExpansion != 20 || got.BundleMaxUnpackedSize != 2<<30 {
		t.Fatalf("file: %d %d %v", got.BundleMaxExpansion, got.BundleMaxUnpackedSize, err)
	}
	t.Setenv("SLIPWAY_AGENT_BUNDLE_MAX_EXPANSION", "30")
	t.Setenv("SLIPWAY_AGENT_BUNDLE_MAX_UNPACKED_SIZE", "3GiB")
	if got, err = Load(path, Config{}); err != nil || got.BundleMaxExpansion != 30 || got.BundleMaxUnpackedSize != 3<<30 {
		t.Fatalf("env: %d %d %v", got.BundleMaxExpansion, got.BundleMaxUnpackedSize, err)
	}
	flags := parseFlags(t, "--bundle-max-expansion", "40", "--bundle-max-unpacked-size", "500MiB")
	if got, err = Load(path, flags); err != nil || got.BundleMaxExpansion != 40 || got.BundleMaxUnpackedSize != 500<<20 {
		t.Fatalf("flags: %d %d %v", got.BundleMaxExpansion, got.BundleMaxUnpackedSize, err)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"bundle_max_unpacked_size: lots\n", "not a size such as 8GiB"},
		{"bundle_max_unpacked_size: 1KiB\n", "bundle_max_unpacked_size (flag --bundle-max-unpacked-size, env SLIPWAY_AGENT_BUNDLE_MAX_UNPACKED_SIZE): 1024 bytes is less than the 1 MiB minimum"},
		{"bundle_max_expansion: -1\n", "bundle_max_expansion (flag --bundle-max-expansion, env SLIPWAY_AGENT_BUNDLE_MAX_EXPANSION): -1 must be at least 1"},
	} {
		t.Setenv("SLIPWAY_AGENT_BUNDLE_MAX_EXPANSION", "")
		t.Setenv("SLIPWAY_AGENT_BUNDLE_MAX_UNPACKED_SIZE", "")
		if err := os.WriteFile(path, []byte("servers: [http://a]\n"+bad.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path, Config{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

func TestCASettings(t *testing.T) {
	clearEnv(t)
	pin := "sha256:" + strings.Repeat("ab", 32)
	c := parseFlags(t, "--ca-pin", pin, "--ca-file", "/etc/slipway/ca.pem")
	if c.CAPin != pin || c.CAFile != "/etc/slipway/ca.pem" {
		t.Fatalf("flags: %+v", c)
	}
	env, err := FromEnv(func(k string) (string, bool) {
		return map[string]string{"SLIPWAY_AGENT_CA_PIN": pin, "SLIPWAY_AGENT_CA_FILE": "/ca.pem"}[k], true
	})
	if err != nil || env.CAPin != pin || env.CAFile != "/ca.pem" {
		t.Fatalf("env: %+v %v", env, err)
	}
	base := Merge(Default(), Config{Servers: []string{"https://a:7400"}, DataDir: "/var/lib/a"})
	for _, tc := range []struct {
		over Config
		want string
	}{
		{Config{CAPin: "sha256:nothex"}, "ca_pin (flag --ca-pin, env SLIPWAY_AGENT_CA_PIN): CA pin \"sha256:nothex\" is not sha256: followed by 64 hex digits"},
		{Config{CAFile: "ca.pem"}, "ca_file (flag --ca-file, env SLIPWAY_AGENT_CA_FILE): \"ca.pem\" must be an absolute path"},
		{Config{CAPin: pin, Servers: []string{"http://a:7400"}}, "is plain HTTP, but ca_pin/ca_file is set"},
	} {
		err := Merge(base, tc.over).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.over, err, tc.want)
		}
	}
	if err := Merge(base, Config{CAPin: strings.ToUpper(pin)}).Validate(); err != nil {
		t.Errorf("upper-case pin refused: %v", err)
	}
}

// TestBuildsSetting: builds are off by default; the file turns them on, the environment off
// again, a flag on again (each layer that sets the key wins, false included); a value that is
// not a boolean names the setting.
func TestBuildsSetting(t *testing.T) {
	clearEnv(t)
	if Default().BuildsEnabled() {
		t.Fatal("builds on by default")
	}
	file, err := Parse([]byte("builds: true\n"))
	if err != nil || !file.BuildsEnabled() {
		t.Fatalf("file: %+v %v", file, err)
	}
	env, err := FromEnv(func(k string) (string, bool) { return map[string]string{"SLIPWAY_AGENT_BUILDS": "false"}[k], true })
	if err != nil || env.Builds == nil || *env.Builds {
		t.Fatalf("env: %+v %v", env, err)
	}
	if c := Merge(Default(), file, env); c.BuildsEnabled() {
		t.Fatal("the environment's false did not win over the file's true")
	}
	if c := Merge(Default(), file, env, parseFlags(t, "--builds")); !c.BuildsEnabled() {
		t.Fatal("--builds did not win")
	}
	if c := Merge(Default(), file, Config{}); !c.BuildsEnabled() {
		t.Fatal("a layer without the key turned builds off")
	}
	if _, err := FromEnv(func(k string) (string, bool) { return map[string]string{"SLIPWAY_AGENT_BUILDS": "yes please"}[k], true }); err == nil ||
		!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "builds (flag --builds, env SLIPWAY_AGENT_BUILDS)") {
		t.Fatalf("bad value: %v", err)
	}
}

// TestBuildContainerSettings: build_network, build_memory and build_cpus are read from YAML, the
// environment and flags, a later layer winning, as every setting is.
func TestBuildContainerSettings(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(file, []byte("servers: [\"http://127.0.0.1:7400\"]\nname: b1\nbuild_network: none\nbuild_memory: 2GiB\nbuild_cpus: 1.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.BuildNetwork != "none" || c.BuildMemory != 2<<30 || c.BuildCPUs != 1.5 {
		t.Fatalf("from the file: %q %d %g", c.BuildNetwork, c.BuildMemory, c.BuildCPUs)
	}
	t.Setenv("SLIPWAY_AGENT_BUILD_MEMORY", "512MiB")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f := BindFlags(fs)
	if err := fs.Parse([]string{"--build-network", "builds", "--build-cpus", "2"}); err != nil {
		t.Fatal(err)
	}
	over, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c, err = Load(file, over); err != nil {
		t.Fatal(err)
	}
	if c.BuildNetwork != "builds" || c.BuildMemory != 512<<20 || c.BuildCPUs != 2 {
		t.Fatalf("file, environment and flags: %q %d %g", c.BuildNetwork, c.BuildMemory, c.BuildCPUs)
	}
	t.Setenv("SLIPWAY_AGENT_BUILD_CPUS", "many")
	if _, err := Load(file, Config{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"many" is not a number of CPUs`) {
		t.Fatalf("a bad SLIPWAY_AGENT_BUILD_CPUS: %v", err)
	}
}
