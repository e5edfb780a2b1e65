//go:build unix

package lifecycle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/proctest"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestCrashChild is the agent that TestRecoverAfterKill kills with SIGKILL mid-hook.
func TestCrashChild(t *testing.T) {
	root := os.Getenv("LIFECYCLE_CRASH_ROOT")
	if root == "" {
		t.Skip("helper process of TestRecoverAfterKill")
	}
	data, err := os.ReadFile(os.Getenv("LIFECYCLE_CRASH_BUNDLE"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	f := &fetcher{}
	rev := agentproto.Revision{ID: "r1", SHA256: sha256Hex(data)}
	f.add(rev, data)
	r.Run(context.Background(), agentproto.Run{DeploymentID: "d1", GroupID: "g1", Revision: rev}, f, &recorder{})
	t.Fatal("the deployment finished; the parent test should have killed this process")
}

// TestRecoverAfterKill: a deployment whose agent was killed mid-hook is failed by Recover
// (event and end reported agent_restarted, result recorded) once, and the Run the server sends
// again is not run a second time.
func TestRecoverAfterKill(t *testing.T) {
	if os.Getenv("LIFECYCLE_CRASH_ROOT") != "" {
		t.Skip("inside the helper")
	}
	e := newEnv(t, Config{})
	dir := t.TempDir()
	data, _ := makeBundle(t, map[string]string{
		"appspec.yml":      "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n",
		"scripts/start.sh": "#!/bin/sh\necho $$ > " + dir + "/script.pid\nexec sleep 300\n",
	})
	bundlePath := filepath.Join(dir, "bundle.tgz")
	if err := os.WriteFile(bundlePath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	child.Env = append(os.Environ(), "LIFECYCLE_CRASH_ROOT="+e.root, "LIFECYCLE_CRASH_BUNDLE="+bundlePath)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	script := readPID(t, filepath.Join(dir, "script.pid"))
	_ = child.Process.Kill() // kill -9 of the agent mid-hook
	_ = child.Wait()
	_ = syscall.Kill(-script, syscall.SIGKILL) // the hook itself outlives the agent (KillMode=process)

	r, err := New(Config{Root: e.root})
	if err != nil {
		t.Fatal(err)
	}
	if _, done := r.Done("d1"); done {
		t.Fatal("d1 is done before Recover")
	}
	if ids := r.Recover(e.rec); !slices.Equal(ids, []string{"d1"}) {
		t.Fatalf("Recover = %q", ids)
	}
	evs := e.rec.all()
	if len(evs) != 2 {
		t.Fatalf("events = %+v", evs)
	}
	if ev := evs[0]; ev.Event != "ApplicationStart" || ev.Script != "scripts/start.sh" || ev.Status != agentproto.StatusFailed || ev.Result != agentproto.ResultAgentRestarted {
		t.Fatalf("event = %+v", ev)
	}
	if ev := evs[1]; ev.Event != agentproto.DeploymentEnd || ev.Status != agentproto.StatusFailed || ev.Result != agentproto.ResultAgentRestarted {
		t.Fatalf("end = %+v", ev)
	}
	if st, done := r.Done("d1"); !done || st != agentproto.StatusFailed {
		t.Fatalf("Done = %s, %v", st, done)
	}
	if ids := r.Recover(e.rec); len(ids) != 0 {
		t.Fatalf("second Recover = %q", ids)
	}
	// The server sends the Run again, whole, with the revision the fetcher serves: it is not
	// run twice. Were it run, the fetch cancels it, so that it ends at its next event instead
	// of waiting on the script's sleep.
	if err := os.Remove(filepath.Join(dir, "script.pid")); err != nil {
		t.Fatal(err)
	}
	rev := agentproto.Revision{ID: "r1", SHA256: sha256Hex(data), Size: int64(len(data)), Format: "tar.gz"}
	e.fetcher.add(rev, data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.fetcher.onFetch = cancel
	proctest.KillGroupOnFailure(t, filepath.Join(dir, "script.pid"))
	var st agentproto.Status
	proctest.Within(t, 30*time.Second, "the re-sent Run did not return", func() {
		st = r.Run(ctx, agentproto.Run{DeploymentID: "d1", GroupID: "g1", Revision: rev}, e.fetcher, e.rec)
	})
	if st != agentproto.StatusFailed {
		t.Errorf("re-sent Run = %s, want failed as recovered", st)
	}
	if n := e.fetcher.asked(); n != 0 {
		t.Errorf("the re-sent Run asked the fetcher %d times", n)
	}
	if exists(filepath.Join(dir, "script.pid")) {
		t.Error("the re-sent Run ran the deployment's script again")
	}
	// It only reports the recorded end again.
	if again := e.rec.all()[len(evs):]; len(again) != 1 || again[0].Event != agentproto.DeploymentEnd ||
		again[0].Status != agentproto.StatusFailed || again[0].Result != agentproto.ResultAgentRestarted {
		t.Errorf("the re-sent Run reported %+v; want only its recorded end again (failed, %s)", again, agentproto.ResultAgentRestarted)
	}
}
