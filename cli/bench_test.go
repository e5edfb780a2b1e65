package cli

import (
	"context"
	"testing"
)

// TestBenchRolloutRejectsBadFlags: `slipway bench` comes from internal/bench, but its flag errors
// are usage errors of this CLI (exit code 2) like every other command's.
func TestBenchRolloutRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench", "rollout", "--hosts", "0"},
		{"bench", "rollout", "--servers", "0"},
		{"bench", "rollout", "--output", "yaml"},
		{"bench", "rollout", "extra"},
		{"bench", "rollout", "--log-level", "loud"},
		{"bench", "rollout", "--transport", "quic"},
	} {
		if res := runWith(t, context.Background(), nil, args...); res.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, res.code, ExitUsage, res.stderr)
		}
	}
}
