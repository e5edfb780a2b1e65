package bench

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary be an agent worker, as the slipway executable is when `bench
// rollout --agent-procs` re-runs itself with "bench agent-worker".
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "bench" && os.Args[2] == workerCommand {
		if err := runWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRolloutAgentWorkers runs a rollout whose simulated agents are in two worker processes,
// with plaintext and with TLS, and checks that every host ran the deployment, the agents were
// spread over both workers, and the per-host figures were measured. It asserts no timing.
func TestRolloutAgentWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and agent worker processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res := execute(ctx, true, "bench", "rollout", "--hosts", "3,7", "--configs", "AllAtOnce", "--servers", "1",
		"--agent-procs", "2", "--transport", "plain,tls")
	if res.err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", res.err, res.stdout, res.stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, res.stdout)
	}
	if rep.AgentProcs != 2 || len(rep.Runs) != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Runs {
		if r.Status != "succeeded" || r.Dispatch.Hosts != r.Hosts || r.AgentCPUSeconds <= 0 || r.CPUPerHostMs <= 0 || r.StateDeploymentBytes <= 0 {
			t.Errorf("%s to %d: %+v", r.Transport, r.Hosts, r)
		}
	}
}
