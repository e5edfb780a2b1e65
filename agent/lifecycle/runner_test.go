//go:build unix

package lifecycle

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/internal/proctest"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// The first deployment runs every script event but ApplicationStop in order, with the spec's
// environment, from the deployment archive; the second runs ApplicationStop from the first's
// revision and removes what the first installed.
func TestRunOrderEnvironmentAndSecondDeployment(t *testing.T) {
	e := newEnv(t, Config{})
	rev1 := e.revision("r1", map[string]string{
		"appspec.yml":     specYAML(e.dest, allHooks()),
		"scripts/hook.sh": traceScript(e.trace, "rev1"),
		"app/a.txt":       "one",
		"app/sub/c.txt":   "c",
		"app/link":        "->a.txt",
	})
	if st := e.run(context.Background(), "d1", "g1", rev1); st != agentproto.StatusSucceeded {
		t.Fatalf("d1 = %s: %+v", st, e.rec.end(t, "d1"))
	}
	archive := filepath.Join(e.root, "g1", "d1", "deployment-archive")
	want := []string{"BeforeInstall/rev1", "AfterInstall/rev1", "ApplicationStart/rev1", "ValidateService/rev1"}
	if got := e.traceEvents(); !slices.Equal(got, want) {
		t.Fatalf("trace = %q, want %q", got, want)
	}
	for _, f := range e.traceLines() {
		wantFields := []string{f[0], "rev1", "d1", "shop", "web-g1", "g1", rev1.SHA256, "r1", archive}
		if !slices.Equal(f, wantFields) {
			t.Fatalf("trace line %q, want %q", f, wantFields)
		}
	}
	// Events: every lifecycle event reported, in order, traffic ones skipped.
	var seq []string
	for _, ev := range e.rec.all() {
		if ev.Script == "" {
			seq = append(seq, ev.Event+":"+string(ev.Status))
		}
	}
	wantSeq := []string{"BeforeBlockTraffic:skipped", "BlockTraffic:skipped", "AfterBlockTraffic:skipped"}
	for _, ev := range []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"} {
		wantSeq = append(wantSeq, ev+":started", ev+":succeeded")
	}
	wantSeq = append(wantSeq, "BeforeAllowTraffic:skipped", "AllowTraffic:skipped", "AfterAllowTraffic:skipped", "DeploymentEnd:succeeded")
	if !slices.Equal(seq, wantSeq) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(seq, "\n"), strings.Join(wantSeq, "\n"))
	}
	if n := len(e.rec.scriptResults("d1")); n != 4 {
		t.Fatalf("%d script results, want 4", n)
	}
	// Output streamed and kept in scripts.log.
	if !slices.Contains(e.rec.logTexts(), "ApplicationStart stdout hello from ApplicationStart") ||
		!slices.Contains(e.rec.logTexts(), "ApplicationStart stderr warn from ApplicationStart") {
		t.Fatalf("logs = %q", e.rec.logTexts())
	}
	slog, err := os.ReadFile(filepath.Join(e.root, "g1", "d1", "logs", "scripts.log"))
	if err != nil || !strings.Contains(string(slog), "[ValidateService] [scripts/hook.sh] [stdout] hello from ValidateService") {
		t.Fatalf("scripts.log (%v):\n%s", err, slog)
	}
	// Installed files and records.
	if b, _ := os.ReadFile(filepath.Join(e.dest, "a.txt")); string(b) != "one" {
		t.Fatalf("a.txt = %q", b)
	}
	if target, err := os.Readlink(filepath.Join(e.dest, "link")); err != nil || target != "a.txt" {
		t.Fatalf("link = %q, %v", target, err)
	}
	cleanup, err := os.ReadFile(filepath.Join(e.root, "deployment-instructions", "g1-cleanup"))
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := appspec.ParseCleanup(cleanup)
	if !slices.Contains(paths, filepath.Join(e.dest, "a.txt")) || !slices.Contains(paths, e.dest) {
		t.Fatalf("cleanup = %q", paths)
	}
	var plan appspec.InstallPlan
	if b, err := os.ReadFile(filepath.Join(e.root, "deployment-instructions", "g1-install.json")); err != nil || json.Unmarshal(b, &plan) != nil || len(plan.Copies) != 3 {
		t.Fatalf("install record: %v, %+v", err, plan)
	}
	if b, _ := os.ReadFile(filepath.Join(e.root, "deployment-instructions", "g1_last_successful_install")); strings.TrimSpace(string(b)) != filepath.Join(e.root, "g1", "d1") {
		t.Fatalf("last successful = %q", b)
	}
	if st, ok := e.runner.Done("d1"); !ok || st != agentproto.StatusSucceeded {
		t.Fatalf("Done(d1) = %s, %v", st, ok)
	}

	// Second deployment: ApplicationStop of rev1 (run from d1's archive), rev2 installed,
	// rev1's files cleaned.
	rev2 := e.revision("r2", map[string]string{
		"appspec.yml":     specYAML(e.dest, allHooks()),
		"scripts/hook.sh": traceScript(e.trace, "rev2"),
		"app/b.txt":       "two",
	})
	if err := os.Remove(e.trace); err != nil {
		t.Fatal(err)
	}
	if st := e.run(context.Background(), "d2", "g1", rev2); st != agentproto.StatusSucceeded {
		t.Fatalf("d2 = %s: %+v", st, e.rec.end(t, "d2"))
	}
	want = []string{"ApplicationStop/rev1", "BeforeInstall/rev2", "AfterInstall/rev2", "ApplicationStart/rev2", "ValidateService/rev2"}
	if got := e.traceEvents(); !slices.Equal(got, want) {
		t.Fatalf("trace = %q, want %q", got, want)
	}
	if stop := e.traceLines()[0]; stop[2] != "d2" || stop[8] != archive {
		t.Fatalf("ApplicationStop ran as %q; want deployment d2 from %s", stop, archive)
	}
	for _, p := range []string{"a.txt", "link", "sub/c.txt", "sub"} {
		if exists(filepath.Join(e.dest, p)) {
			t.Fatalf("%s of the first install was not removed", p)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(e.dest, "b.txt")); string(b) != "two" {
		t.Fatalf("b.txt = %q", b)
	}
}

// TestResentRunIsNotRunAgain: the server sending the Run of a deployment that already ended
// here again, whole and with the revision the fetcher serves, gets the recorded end reported
// again and nothing else: no fetch, no script, no other event.
func TestResentRunIsNotRunAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exit   string // exit code of the ApplicationStart script
		status agentproto.Status
	}{
		{"succeeded", "0", agentproto.StatusSucceeded},
		{"failed", "4", agentproto.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			hooks := allHooks()
			hooks["ApplicationStart"] = "scripts/start.sh"
			rev := e.revision("r1", map[string]string{
				"appspec.yml":      specYAML(e.dest, hooks),
				"scripts/hook.sh":  traceScript(e.trace, "rev1"),
				"scripts/start.sh": traceScript(e.trace, "start") + "exit " + tc.exit + "\n",
				"app/a.txt":        "a",
			})
			if st := e.run(context.Background(), "d1", "g1", rev); st != tc.status {
				t.Fatalf("d1 = %s, want %s: %+v", st, tc.status, e.rec.end(t, "d1"))
			}
			first := e.rec.end(t, "d1")
			events, trace, asked := len(e.rec.all()), e.traceEvents(), e.fetcher.asked()

			if st := e.run(context.Background(), "d1", "g1", rev); st != tc.status {
				t.Errorf("re-sent Run = %s, want %s", st, tc.status)
			}
			if n := e.fetcher.asked() - asked; n != 0 {
				t.Errorf("the re-sent Run asked the fetcher %d times", n)
			}
			if got := e.traceEvents(); !slices.Equal(got, trace) {
				t.Errorf("the re-sent Run ran scripts: trace %q, was %q", got, trace)
			}
			again := e.rec.all()[events:]
			if len(again) != 1 || again[0].Event != agentproto.DeploymentEnd || again[0].Status != first.Status ||
				again[0].Result != first.Result || again[0].Message != first.Message {
				t.Errorf("the re-sent Run reported %+v; want only the recorded end again, %+v", again, first)
			}
		})
	}
}

func TestFailingScriptStopsDeployment(t *testing.T) {
	e := newEnv(t, Config{})
	hooks := allHooks()
	hooks["BeforeInstall"] = "scripts/fail.sh"
	rev := e.revision("r1", map[string]string{
		"appspec.yml":     specYAML(e.dest, hooks),
		"scripts/hook.sh": traceScript(e.trace, "rev1"),
		"scripts/fail.sh": "#!/bin/sh\necho \"BeforeInstall|fail\" >> " + e.trace + "\necho broken >&2\nexit 3\n",
		"app/a.txt":       "one",
	})
	if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusFailed {
		t.Fatalf("status = %s", st)
	}
	if got := e.traceEvents(); !slices.Equal(got, []string{"BeforeInstall/fail"}) {
		t.Fatalf("trace = %q: later events ran", got)
	}
	ev, _ := e.rec.eventResult("d1", "BeforeInstall")
	if ev.Status != agentproto.StatusFailed || ev.Result != agentproto.ResultFailed || ev.ExitCode != 3 {
		t.Fatalf("BeforeInstall = %+v", ev)
	}
	if sr := e.rec.scriptResults("d1"); len(sr) != 1 || sr[0].Script != "scripts/fail.sh" || sr[0].Result != agentproto.ResultFailed {
		t.Fatalf("script results = %+v", sr)
	}
	end := e.rec.end(t, "d1")
	if end.Status != agentproto.StatusFailed || !strings.Contains(end.Message, "BeforeInstall") {
		t.Fatalf("end = %+v", end)
	}
	for _, later := range []string{"Install", "AfterInstall", "ApplicationStart", "ValidateService"} {
		if ev, ok := e.rec.eventResult("d1", later); ok {
			t.Fatalf("%s reported after the failure: %+v", later, ev)
		}
	}
	if exists(e.dest) {
		t.Fatal("Install ran after a failed BeforeInstall")
	}
	if st, ok := e.runner.Done("d1"); !ok || st != agentproto.StatusFailed {
		t.Fatalf("Done = %s, %v", st, ok)
	}
}

// TestTimeoutKillsProcessGroup: a hook script that outlives its timeout is ended with its
// process group, its event reported timed out, and no later event runs.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	e := newEnv(t, Config{})
	dir := t.TempDir()
	rev := e.revision("r1", map[string]string{
		"appspec.yml":     "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/hang.sh\n      timeout: 1\n",
		"scripts/hang.sh": "#!/bin/sh\nsleep 300 &\necho $! > " + dir + "/child.pid\necho $$ > " + dir + "/self.pid\nsleep 300\n",
	})
	proctest.KillGroupOnFailure(t, filepath.Join(dir, "self.pid"))
	var st agentproto.Status
	proctest.Within(t, 30*time.Second, "the 1s timeout did not end the deployment", func() { st = e.run(context.Background(), "d1", "g1", rev) })
	if st != agentproto.StatusFailed {
		t.Fatalf("status = %s", st)
	}
	if ev, _ := e.rec.eventResult("d1", "AfterInstall"); ev.Result != agentproto.ResultTimedOut {
		t.Fatalf("AfterInstall = %+v", ev)
	}
	for _, f := range []string{"self.pid", "child.pid"} {
		pid := readPID(t, filepath.Join(dir, f))
		await(t, f+" gone", func() bool { return gone(pid) })
	}
	if _, ok := e.rec.eventResult("d1", "ApplicationStart"); ok {
		t.Fatal("ApplicationStart ran after a timed out AfterInstall")
	}
}

// The CodeDeploy agent hangs on a script that backgrounds a daemon holding its stdout.
func TestBackgroundedDaemonFinishes(t *testing.T) {
	e := newEnv(t, Config{})
	dir := t.TempDir()
	rev := e.revision("r1", map[string]string{
		"appspec.yml":      "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n      timeout: 3600\n",
		"scripts/start.sh": "#!/bin/sh\nsleep 300 &\necho $! > " + dir + "/daemon.pid\necho started\n",
	})
	st := e.run(context.Background(), "d1", "g1", rev)
	pid := readPID(t, filepath.Join(dir, "daemon.pid"))
	t.Cleanup(func() { _ = killPID(pid) })
	if st != agentproto.StatusSucceeded {
		t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
	}
	sr := e.rec.scriptResults("d1")
	if len(sr) != 1 || sr[0].Result != agentproto.ResultSucceeded || !strings.Contains(sr[0].Message, "open") {
		t.Fatalf("script result = %+v", sr)
	}
	if gone(pid) {
		t.Fatal("the daemon did not survive its start script")
	}
}

// TestCancelFailsRunningEvent: cancelling the Run's context (a server's stop) while a hook
// script of any scriptable event runs ends that script's process, reports the event failed
// with result cancelled and the deployment failed, and runs nothing after it: not the event's
// next script, not a later event. ApplicationStop runs the scripts of the previous install,
// so for it one deployment of the same revision goes first.
func TestCancelFailsRunningEvent(t *testing.T) {
	for i, event := range scriptEvents {
		t.Run(event, func(t *testing.T) {
			e := newEnv(t, Config{})
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "wait.pid")
			hooks := allHooks()
			// wait.sh, then hook.sh as the event's second script.
			hooks[event] = "scripts/wait.sh\n    - location: scripts/hook.sh"
			rev := e.revision("r1", map[string]string{
				"appspec.yml":     specYAML(e.dest, hooks),
				"scripts/hook.sh": traceScript(e.trace, "hook"),
				"scripts/wait.sh": "#!/bin/sh\necho $$ > " + pidFile + "\necho ready\nexec sleep 300\n",
				"app/a.txt":       "a",
			})
			// The events that run before this one in the cancelled deployment.
			want := []string{}
			if event == "ApplicationStop" {
				if st := e.run(context.Background(), "d0", "g1", rev); st != agentproto.StatusSucceeded {
					t.Fatalf("d0 = %s: %+v", st, e.rec.end(t, "d0"))
				}
			} else {
				for _, ev := range scriptEvents[1:i] {
					want = append(want, ev+"/hook")
				}
			}
			if err := os.Remove(e.trace); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			proctest.KillGroupOnFailure(t, pidFile)
			rep := &cancelOn{recorder: e.rec, text: "ready", cancel: cancel}
			var st agentproto.Status
			proctest.Within(t, 30*time.Second, "cancelling the context did not end the deployment", func() {
				st = e.runner.Run(ctx, agentproto.Run{DeploymentID: "d1", App: "shop", Group: "web-g1", GroupID: "g1", Revision: rev}, e.fetcher, rep)
			})
			if st != agentproto.StatusFailed {
				t.Errorf("status = %s, want failed", st)
			}
			if ev, _ := e.rec.eventResult("d1", event); ev.Status != agentproto.StatusFailed || ev.Result != agentproto.ResultCancelled {
				t.Errorf("%s = %+v, want failed, %s", event, ev, agentproto.ResultCancelled)
			}
			if end := e.rec.end(t, "d1"); end.Status != agentproto.StatusFailed || end.Result != agentproto.ResultCancelled ||
				!strings.HasPrefix(end.Message, event+" failed") {
				t.Errorf("end = %+v, want failed at %s, %s", end, event, agentproto.ResultCancelled)
			}
			pid := readPID(t, pidFile)
			await(t, "the cancelled hook's process gone", func() bool { return gone(pid) })
			if got := e.traceEvents(); !slices.Equal(got, want) {
				t.Errorf("scripts run in d1 = %q, want %q: something ran after the cancelled script", got, want)
			}
			later := false
			for _, ev := range appspec.Events {
				if later {
					if r, ok := e.rec.eventResult("d1", ev.Name); ok {
						t.Errorf("%s reported after the cancelled %s: %+v", ev.Name, event, r)
					}
				}
				later = later || ev.Name == event
			}
		})
	}
}

// cancelOn cancels when a log line with text arrives.
type cancelOn struct {
	*recorder
	text   string
	cancel func()
}

func (c *cancelOn) Log(id string, l agentproto.LogLine) {
	c.recorder.Log(id, l)
	if l.Text == c.text {
		c.cancel()
	}
}

func TestIgnoreApplicationStopFailures(t *testing.T) {
	e := newEnv(t, Config{})
	rev1 := e.revision("r1", map[string]string{
		"appspec.yml":     "version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: scripts/stop.sh\n",
		"scripts/stop.sh": "#!/bin/sh\nexit 1\n",
	})
	rev2 := e.revision("r2", map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\n",
	})
	if st := e.run(context.Background(), "d1", "g1", rev1); st != agentproto.StatusSucceeded {
		t.Fatalf("d1 = %s", st)
	}
	if st := e.run(context.Background(), "d2", "g1", rev2); st != agentproto.StatusFailed {
		t.Fatalf("d2 = %s, want failed at ApplicationStop", st)
	}
	if ev, _ := e.rec.eventResult("d2", "ApplicationStop"); ev.Status != agentproto.StatusFailed {
		t.Fatalf("ApplicationStop = %+v", ev)
	}
	st := e.runner.Run(context.Background(), agentproto.Run{DeploymentID: "d3", GroupID: "g1", Revision: rev2, IgnoreApplicationStopFailures: true}, e.fetcher, e.rec)
	if st != agentproto.StatusSucceeded {
		t.Fatalf("d3 = %s: %+v", st, e.rec.end(t, "d3"))
	}
	if ev, _ := e.rec.eventResult("d3", "ApplicationStop"); ev.Status != agentproto.StatusSucceeded || !strings.Contains(ev.Message, "ignored") {
		t.Fatalf("ApplicationStop = %+v", ev)
	}
}

// Two groups on one host never run each other's scripts.
func TestGroupsAreIsolated(t *testing.T) {
	e := newEnv(t, Config{})
	revA := e.revision("ra", map[string]string{
		"appspec.yml":     specYAML(filepath.Join(e.dest, "a"), allHooks()),
		"scripts/hook.sh": traceScript(e.trace, "A"),
		"app/a.txt":       "a",
	})
	revB := e.revision("rb", map[string]string{
		"appspec.yml":     specYAML(filepath.Join(e.dest, "b"), allHooks()),
		"scripts/hook.sh": traceScript(e.trace, "B"),
		"app/b.txt":       "b",
	})
	for _, step := range []struct{ id, group string }{{"d1", "ga"}, {"d2", "gb"}, {"d3", "gb"}, {"d4", "ga"}} {
		rev := revA
		if step.group == "gb" {
			rev = revB
		}
		if st := e.run(context.Background(), step.id, step.group, rev); st != agentproto.StatusSucceeded {
			t.Fatalf("%s = %s: %+v", step.id, st, e.rec.end(t, step.id))
		}
	}
	for _, f := range e.traceLines() {
		if f[0] == "ApplicationStop" {
			if (f[2] == "d3" && f[1] != "B") || (f[2] == "d4" && f[1] != "A") || f[2] == "d1" || f[2] == "d2" {
				t.Fatalf("ApplicationStop crossed groups: %q", f)
			}
		}
	}
	if !exists(filepath.Join(e.dest, "a", "a.txt")) || !exists(filepath.Join(e.dest, "b", "b.txt")) {
		t.Fatal("one group's install removed the other's files")
	}
}

func TestTraversalBundleRefused(t *testing.T) {
	e := newEnv(t, Config{})
	data := tarGz(t, map[string]string{"appspec.yml": "version: 0.0\nos: linux\n", "../escape.txt": "x"})
	rev := agentproto.Revision{ID: "evil", SHA256: sha256Hex(data), Size: int64(len(data)), Format: "tar.gz"}
	e.fetcher.add(rev, data)
	if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusFailed {
		t.Fatalf("status = %s", st)
	}
	ev, _ := e.rec.eventResult("d1", "DownloadBundle")
	if ev.Status != agentproto.StatusFailed || !strings.Contains(ev.Message, "bundle refused") || !strings.Contains(ev.Message, "../escape.txt") {
		t.Fatalf("DownloadBundle = %+v", ev)
	}
	if exists(filepath.Join(e.root, "g1", "d1", "escape.txt")) {
		t.Fatal("the traversal entry was written")
	}
}

func TestRetentionKeepsLastSuccessful(t *testing.T) {
	e := newEnv(t, Config{MaxRevisions: 2})
	good := e.revision("good", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	bad := e.revision("bad", map[string]string{
		"appspec.yml":     "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: scripts/fail.sh\n",
		"scripts/fail.sh": "#!/bin/sh\nexit 1\n",
	})
	deployments := func() []string {
		entries, err := os.ReadDir(filepath.Join(e.root, "g1"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		return names
	}
	e.run(context.Background(), "d1", "g1", good)
	for _, id := range []string{"d2", "d3", "d4"} {
		if st := e.run(context.Background(), id, "g1", bad); st != agentproto.StatusFailed {
			t.Fatalf("%s = %s", id, st)
		}
	}
	if got := deployments(); !slices.Equal(got, []string{"d1", "d4"}) {
		t.Fatalf("kept %q, want the last successful d1 and the newest d4", got)
	}
	e.run(context.Background(), "d5", "g1", good)
	if got := deployments(); !slices.Equal(got, []string{"d4", "d5"}) {
		t.Fatalf("kept %q, want d4 and d5", got)
	}
}

// TestRunRefusesBadIDs: a Run whose deployment or group ID cannot name a folder of its own
// under the root is refused before anything happens: it ends failed with a message naming
// the ID, the bundle is not fetched, no script runs and nothing is written, inside the root
// or next to it. Each Run is otherwise one that would deploy.
func TestRunRefusesBadIDs(t *testing.T) {
	for _, tc := range []struct{ deployment, group, bad string }{
		{"../x", "g", `deployment ID "../x"`},
		{"../../outside", "g", `deployment ID "../../outside"`},
		{"a/b", "g", `deployment ID "a/b"`},
		{".hidden", "g", `deployment ID ".hidden"`},
		{"", "g", `deployment ID ""`},
		{"d", "", `group ID ""`},
		{"d", "..", `group ID ".."`},
		{"d", "deployment-instructions", `group ID "deployment-instructions"`},
		{"d", "deployment-results", `group ID "deployment-results"`},
		{"d", "ongoing-deployment", `group ID "ongoing-deployment"`},
	} {
		t.Run(tc.bad, func(t *testing.T) {
			e := newEnv(t, Config{})
			rev := e.revision("r1", map[string]string{
				"appspec.yml":     specYAML(e.dest, map[string]string{"BeforeInstall": "scripts/hook.sh"}),
				"scripts/hook.sh": traceScript(e.trace, "rev1"),
				"app/a.txt":       "a",
			})
			base := filepath.Dir(e.root) // holds the root, dest and trace
			before := tree(t, base)
			st := e.runner.Run(context.Background(), agentproto.Run{DeploymentID: tc.deployment, GroupID: tc.group, App: "shop", Group: "web", Revision: rev}, e.fetcher, e.rec)
			if st != agentproto.StatusFailed {
				t.Errorf("status = %s, want failed", st)
			}
			if evs := e.rec.all(); len(evs) != 1 || evs[0].Event != agentproto.DeploymentEnd || evs[0].Status != agentproto.StatusFailed ||
				!strings.Contains(evs[0].Message, tc.bad) {
				t.Errorf("events = %+v; want only a failed DeploymentEnd naming %s", evs, tc.bad)
			}
			if n := e.fetcher.asked(); n != 0 {
				t.Errorf("the fetcher was asked %d times for the refused Run", n)
			}
			if after := tree(t, base); !slices.Equal(after, before) {
				t.Errorf("the refused Run wrote under %s:\nbefore %q\nafter  %q", base, before, after)
			}
		})
	}
}

// tree lists every path under dir, relative to it, in lexical order.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
