package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the tests run this binary's main as a child process: with
// SLIPWAY_AGENT_TEST_MAIN=1 the test binary is slipway-agent.
func TestMain(m *testing.M) {
	if os.Getenv("SLIPWAY_AGENT_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// agent runs slipway-agent with args and returns its exit code and output.
func agent(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SLIPWAY_AGENT_TEST_MAIN=1", "SLIPWAY_AGENT_CONFIG=", "SLIPWAY_AGENT_SERVERS=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("run slipway-agent: %v", err)
		return 0, ""
	}
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(bad, []byte("servers: [https://a]\nserver_url: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "slipway-agent "},
		{[]string{"--version"}, 0, "slipway-agent "},
		{[]string{"run", "--config", bad}, 78, `unknown key "server_url"`},
		{[]string{"run", "--server", "ftp://nowhere"}, 78, "servers (flag --server"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out := agent(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out, tt.code, tt.want)
			}
		})
	}
}
