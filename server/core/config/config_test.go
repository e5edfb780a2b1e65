package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, func(k string) string { return env[k] })
}

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "server.yaml")
	if err := os.WriteFile(file, []byte("node_id: from-file\ndata_dir: /file\nhttp_addr: 127.0.0.1:1000\nlog_level: debug\nraft:\n  heartbeat_timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--config", file, "--node-id", "from-flag"}, map[string]string{"SLIPWAY_DATA_DIR": "/env", "SLIPWAY_NODE_ID": "from-env"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeID != "from-flag" || c.DataDir != "/env" || c.HTTPAddr != "127.0.0.1:1000" || c.LogLevel != "debug" ||
		c.RaftAddr != "127.0.0.1:7401" || c.Raft.HeartbeatTimeout.String() != "2s" {
		t.Fatalf("config %+v", c)
	}
}

func TestValidateNamesTheFlagAndKey(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--bootstrap-expect", "3"}, nil, "--join (join): is empty"},
		{[]string{"--bootstrap-expect", "12", "--join", "a:1"}, nil, "--bootstrap-expect (bootstrap_expect)"},
		{[]string{"--http-addr", "nope"}, nil, "--http-addr (http_addr)"},
		{[]string{"--ssh-addr", "2222"}, nil, "--ssh-addr (ssh_addr): \"2222\" is not host:port (or off"},
		{[]string{"--raft-addr", "0.0.0.0:7401"}, nil, "--advertise (advertise): is needed"},
		{[]string{"--data-dir", ""}, nil, "--data-dir (data_dir)"},
		{[]string{"--node-id", "bad id"}, nil, "--node-id (node_id)"},
		{[]string{"--log-level", "loud"}, nil, "--log-level (log_level)"},
		{[]string{"--join", "x"}, nil, "--join (join)"},
		{[]string{"--initial-management-token-file", "/does/not/exist"}, nil, "--initial-management-token-file"},
		{nil, map[string]string{"SLIPWAY_BOOTSTRAP_EXPECT": "three"}, "SLIPWAY_BOOTSTRAP_EXPECT"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error naming %q, got %v", tc.want, err)
			}
		})
	}
}

func TestFileUnknownKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(file, []byte("data_dir: /x\nbootstrap_expekt: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, []string{"--config", file}, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bootstrap_expekt") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want unknown key error with its line, got %v", err)
	}
}

func TestEmptyFileIsValid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, []string{"--config", file}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAdvertised(t *testing.T) {
	c := Default()
	c.HTTPAddr, c.RaftAddr, c.Advertise = "0.0.0.0:7400", "0.0.0.0:7401", "10.0.0.5"
	r, h := c.Advertised(7401, 7400)
	if r != "10.0.0.5:7401" || h != "http://10.0.0.5:7400" {
		t.Fatalf("advertised %s %s", r, h)
	}
}

// TestSizeFlags: --blob-reserve takes 0 (its documented "no check"), --max-bundle-size does not.
func TestSizeFlags(t *testing.T) {
	c := Default()
	if err := c.set("blobs.reserve", "0"); err != nil || c.Blobs.Reserve != 0 {
		t.Fatalf("blob-reserve 0: %v, reserve %d", err, c.Blobs.Reserve)
	}
	if err := c.set("blobs.reserve", "64MiB"); err != nil || c.Blobs.Reserve != 64<<20 {
		t.Fatalf("blob-reserve 64MiB: %v, reserve %d", err, c.Blobs.Reserve)
	}
	if err := c.set("blobs.max_size", "0"); err == nil {
		t.Fatal("max-bundle-size 0 was accepted")
	}
}

func TestMaxHosts(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.Agents.MaxHosts != DefaultMaxHosts {
		t.Fatalf("default max hosts = %d, %v; want %d", c.Agents.MaxHosts, err, DefaultMaxHosts)
	}
	file := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(file, []byte("agents:\n  max_hosts: 50\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = load(t, []string{"--config", file}, nil); err != nil || c.Agents.MaxHosts != 50 {
		t.Fatalf("file: %d, %v", c.Agents.MaxHosts, err)
	}
	if c, err = load(t, []string{"--config", file}, map[string]string{"SLIPWAY_MAX_HOSTS": "60"}); err != nil || c.Agents.MaxHosts != 60 {
		t.Fatalf("env: %d, %v", c.Agents.MaxHosts, err)
	}
	if c, err = load(t, []string{"--max-hosts", "70"}, map[string]string{"SLIPWAY_MAX_HOSTS": "60"}); err != nil || c.Agents.MaxHosts != 70 {
		t.Fatalf("flag: %d, %v", c.Agents.MaxHosts, err)
	}
	for _, v := range []string{"-1", "many"} {
		if _, err := load(t, []string{"--max-hosts", v}, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--max-hosts") {
			t.Fatalf("--max-hosts %s: want an error naming the flag, got %v", v, err)
		}
	}
}

func TestLimits(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits != (Limits{MaxUnauthenticated: 64, MaxStreamsPerToken: 32, AuthFailures: 20, AuthFailureWindow: 10 * time.Second,
		BodyReadTimeout: 30 * time.Second, BodyIdleTimeout: 30 * time.Second}) {
		t.Fatalf("default limits %+v", c.Limits)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "server.yaml")
	if err := os.WriteFile(file, []byte("limits:\n  max_streams_per_token: 8\n  body_idle_timeout: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = load(t, []string{"--config", file, "--max-unauthenticated-requests", "16", "--auth-failure-window", "1m"},
		map[string]string{"SLIPWAY_AUTH_FAILURES_PER_ADDRESS": "5", "SLIPWAY_BODY_READ_TIMEOUT": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits != (Limits{MaxUnauthenticated: 16, MaxStreamsPerToken: 8, AuthFailures: 5, AuthFailureWindow: time.Minute,
		BodyReadTimeout: 5 * time.Second, BodyIdleTimeout: time.Minute}) {
		t.Fatalf("limits %+v", c.Limits)
	}
	for args, want := range map[string]string{
		"--max-unauthenticated-requests=0": "--max-unauthenticated-requests (limits.max_unauthenticated): 0 is out of range",
		"--max-streams-per-token=-1":       "--max-streams-per-token (limits.max_streams_per_token)",
		"--auth-failures-per-address=x":    `--auth-failures-per-address: "x" is not a whole number`,
		"--auth-failure-window=10":         `--auth-failure-window: "10" is not a duration`,
		"--body-read-timeout=1ms":          "--body-read-timeout (limits.body_read_timeout): 1ms is out of range",
		"--body-idle-timeout=48h":          "--body-idle-timeout (limits.body_idle_timeout)",
	} {
		t.Run(args, func(t *testing.T) {
			_, err := load(t, []string{args}, nil)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
				t.Fatalf("want an error saying %q, got %v", want, err)
			}
		})
	}
}

func TestSSHAddr(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.SSHAddr != "127.0.0.1:2222" {
		t.Fatalf("default ssh_addr %q, %v; want 127.0.0.1:2222", c.SSHAddr, err)
	}
	for _, v := range []string{"off", "0.0.0.0:2022"} {
		c, err := load(t, nil, map[string]string{"SLIPWAY_SSH_ADDR": v})
		if err != nil || c.SSHAddr != v {
			t.Errorf("SLIPWAY_SSH_ADDR=%s: ssh_addr %q, %v", v, c.SSHAddr, err)
		}
	}
}
