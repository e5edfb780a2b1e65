package service

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/agent/config"
)

// testExecutable is the binary path the tests install; it need not exist.
const testExecutable = "/usr/local/bin/slipway-agent"

// isolate clears every SLIPWAY_AGENT_* variable (empty reads as unset) for the test.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range []string{"SERVERS", "REGISTRATION_TOKEN", "REGISTRATION_TOKEN_FILE", "NAME", "TAGS",
		"DATA_DIR", "LOG_LEVEL", "MAX_REVISIONS", "CONFIG"} {
		t.Setenv(config.EnvPrefix+k, "")
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// runMain runs the command line in-process. An agent that is started fails the test unless
// opts.RunAgent is set.
func runMain(t *testing.T, ctx context.Context, opts Options, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &errOut
	if opts.Executable == "" {
		opts.Executable = testExecutable
	}
	if opts.RunAgent == nil {
		opts.RunAgent = func(context.Context, config.Config, *slog.Logger) error {
			t.Error("the agent was started")
			return nil
		}
	}
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
	}
	code := Main(ctx, args, opts)
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	t.Logf("slipway-agent %s → %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}
