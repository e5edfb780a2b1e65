package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// TestStopCancelsTheRunningHookAtOnce: `deploy stop` reaches a host running a hook without
// waiting for the agent's next heartbeat (here minutes away, far beyond what the test awaits):
// the hook's process ends, the agent records the deployment failed as cancelled in the event that
// ran, and no later lifecycle event starts.
func TestStopCancelsTheRunningHookAtOnce(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(i int, cfg *config.Config) {
		fastAgents(i, cfg)
		cfg.Agents.Heartbeat = 5 * time.Minute // the old path (cancel on a heartbeat) cannot pass
		cfg.Agents.HostTimeout = 15 * time.Minute
	}})
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	pidFile, later := filepath.Join(dir, "pid"), filepath.Join(dir, "validate-ran")
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), map[string]string{
		"ApplicationStart": fmt.Sprintf("#!/bin/sh\necho $$ > %s.tmp && mv %s.tmp %s\nexec sleep 300\n", pidFile, pidFile, pidFile),
		"ValidateService":  "#!/bin/sh\ntouch " + later + "\n",
	}), "host-1")
	var pid int
	testutil.Eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }) // the hook leads its process group
	if _, err := cl.DeploymentStop(context.Background(), d.ID, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		if processAlive(pid) {
			return fmt.Errorf("the hook's process %d still runs after the stop", pid)
		}
		return nil
	})
	res := agentResult(t, a, d.ID)
	if res.Status != "failed" || res.Event != "ApplicationStart" || res.Result != "cancelled" || !strings.Contains(res.Message, "by the server") {
		t.Fatalf("the agent recorded %+v; want ApplicationStart failed, cancelled by the server", res)
	}
	if _, err := os.Stat(later); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ValidateService ran after the stop (%v)", err)
	}
	if got := waitDeployment(t, cl, d.ID); got.Status != api.DeploymentStopped {
		t.Fatalf("deployment %s: %s", got.ID, got.Status)
	}
}

// agentRecord is what an agent keeps of a finished deployment (agent/lifecycle's result file).
type agentRecord struct {
	Status, Event, Result, Message string
}

// agentResult awaits the agent's record of deployment id's end.
func agentResult(t *testing.T, a *testutil.Agent, id string) agentRecord {
	t.Helper()
	var res agentRecord
	testutil.Eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(a.DataDir, "deployment-root", "deployment-results", id))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &res)
	})
	return res
}

// processAlive reports whether process pid runs (a zombie, which runs nothing, counts as gone).
func processAlive(pid int) bool {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// pid (comm) STATE ...: the state follows the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] != 'Z'
		}
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
