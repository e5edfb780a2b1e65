package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/agent/config"
)

func TestRunBadConfigExits78(t *testing.T) {
	tests := []struct {
		name string
		file string // agent.yaml content; "" for no file
		args []string
		want string
	}{
		{"unknown key", "servers: [https://a]\nregistraton_token: t\n", nil, `:2: unknown key "registraton_token"`},
		{"bad value", "servers: [ftp://a]\n", nil, "servers (flag --server, env SLIPWAY_AGENT_SERVERS)"},
		{"bad flag value", "servers: [https://a]\n", []string{"--log-level", "loud"}, "log_level (flag --log-level"},
		{"missing named file", "", []string{"--config", "/nonexistent/agent.yaml"}, "/nonexistent/agent.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := []string{"run"}
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "agent.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			r := runMain(t, nil, Options{}, append(args, tt.args...)...)
			if r.code != ExitConfig {
				t.Errorf("exit %d, want %d", r.code, ExitConfig)
			}
			if !strings.HasPrefix(r.stderr, "Error: invalid agent configuration: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q, want it to name %q", r.stderr, tt.want)
			}
		})
	}
}

func TestRunStartsAgentAndStopsOnCancel(t *testing.T) {
	isolate(t)
	t.Setenv("SLIPWAY_AGENT_LOG_LEVEL", "debug")
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte("servers: [https://file.example]\nname: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started := make(chan config.Config, 1)
	opts := Options{RunAgent: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		started <- cfg
		<-ctx.Done()
		return ctx.Err()
	}}
	go func() {
		cfg := <-started
		want := config.Default()
		want.Servers, want.Name, want.LogLevel, want.DataDir = []string{"https://file.example"}, "from-file", "debug", dir
		want.RegistrationToken = "flag-token"
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("agent got %+v\nwant %+v", cfg, want)
		}
		cancel() // SIGTERM
	}()
	r := runMain(t, ctx, opts, "run", "--config", path, "--data-dir", dir, "--registration-token", "flag-token")
	if r.code != ExitOK {
		t.Errorf("exit %d, want 0 after a requested stop", r.code)
	}
	if !strings.Contains(r.stderr, "msg=starting") || !strings.Contains(r.stderr, "component=service") {
		t.Errorf("no start log line: %s", r.stderr)
	}
}

func TestRunWithoutDefaultConfigFile(t *testing.T) {
	if _, err := os.Stat(DefaultConfigPath(goos)); err == nil {
		t.Skip("this host has a config at the default path")
	}
	isolate(t)
	t.Setenv("SLIPWAY_AGENT_SERVERS", "http://127.0.0.1:7400")
	var got config.Config
	opts := Options{RunAgent: func(_ context.Context, cfg config.Config, _ *slog.Logger) error {
		got = cfg
		return nil
	}}
	r := runMain(t, nil, opts, "run", "--data-dir", t.TempDir())
	if r.code != ExitOK || len(got.Servers) != 1 {
		t.Errorf("exit %d, agent config %+v", r.code, got)
	}
}

func TestRunAgentErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		want string
	}{
		{"failure", errors.New("all servers unreachable"), ExitFailure, "Error: agent: all servers unreachable"},
		{"configuration", fmt.Errorf("%w: this host is not registered and has no registration token", config.ErrInvalid),
			ExitConfig, "Error: agent: invalid agent configuration: this host is not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			opts := Options{RunAgent: func(context.Context, config.Config, *slog.Logger) error { return tt.err }}
			r := runMain(t, nil, opts, "run", "--server", "http://127.0.0.1:7400", "--data-dir", t.TempDir())
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q, want %q", r.stderr, tt.want)
			}
		})
	}
}

func TestUsageAndVersion(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"version"}, ExitOK, "slipway-agent dev (", ""},
		{[]string{"--version"}, ExitOK, "slipway-agent dev (", ""},
		{[]string{"nope"}, ExitUsage, "", `Error: unknown command "nope" for "slipway-agent"`},
		{[]string{"run", "--bogus"}, ExitUsage, "", "Error: unknown flag: --bogus (see 'slipway-agent run --help')"},
		{[]string{"run", "extra"}, ExitUsage, "", `"slipway-agent run" takes no arguments`},
		{[]string{"install", "--max-revisions", "many"}, ExitUsage, "", "invalid argument"},
		{[]string{"--help"}, ExitOK, "slipway-agent install", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			isolate(t)
			r := runMain(t, nil, Options{}, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("got %d\nstdout %q\nstderr %q\nwant %d, %q, %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
