//go:build unix

package executor

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/proctest"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// collector gathers output lines.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) add(l Line) {
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.mu.Unlock()
}

func (c *collector) texts(stream string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.Stream == stream {
			out = append(out, l.Text)
		}
	}
	return out
}

func writeScript(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// await polls cond until it holds, failing the test after a generous deadline.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gone reports whether pid no longer runs (a zombie counts as gone).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	await(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func TestRunEnvironmentAndDirectory(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "env.sh", "#!/bin/sh\necho \"event=$LIFECYCLE_EVENT id=$DEPLOYMENT_ID app=$APPLICATION_NAME group=$DEPLOYMENT_GROUP_NAME gid=$DEPLOYMENT_GROUP_ID sha=$BUNDLE_SHA256 rev=$REVISION_ID\"\npwd\necho \"agent=${SLIPWAY_SECRET-unset}\"\necho oops >&2\n", 0o755)
	var c collector
	e := &Executor{BaseEnv: []string{"PATH=/usr/bin:/bin", "SLIPWAY_SECRET=x"}}
	env := Env{LifecycleEvent: "AfterInstall", DeploymentID: "d-1", ApplicationName: "app", DeploymentGroupName: "web", DeploymentGroupID: "g-1", BundleSHA256: "abc", RevisionID: "r-1"}
	res := e.Run(context.Background(), Script{Name: "env.sh", Path: p, Dir: dir, Env: env.Vars(), Timeout: time.Minute}, c.add)
	if !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	out := c.texts(Stdout)
	want := []string{"event=AfterInstall id=d-1 app=app group=web gid=g-1 sha=abc rev=r-1", dir, "agent=unset"}
	if strings.Join(out, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
	if got := c.texts(Stderr); len(got) != 1 || got[0] != "oops" {
		t.Fatalf("stderr = %q", got)
	}
}

func TestRunResults(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		mode       os.FileMode
		missing    bool
		code       string
		exit       int
		msg        string
	}{
		{name: "ok", body: "#!/bin/sh\nexit 0\n", mode: 0o755, code: agentproto.ResultSucceeded},
		{name: "exit3", body: "#!/bin/sh\nexit 3\n", mode: 0o755, code: agentproto.ResultFailed, exit: 3},
		{name: "missing", missing: true, code: agentproto.ResultScriptMissing, exit: -1},
		{name: "no-exec-bit", body: "#!/bin/sh\nexit 0\n", mode: 0o644, code: agentproto.ResultSucceeded},
		{name: "no-shebang", body: "echo plain\nexit 4\n", mode: 0o755, code: agentproto.ResultFailed, exit: 4},
		{name: "bad-interpreter", body: "#!/no/such/shell\n", mode: 0o755, code: agentproto.ResultNotExecutable, exit: -1, msg: "/no/such/shell"},
		{name: "crlf", body: "#!/bin/sh\r\nexit 0\r\n", mode: 0o755, code: agentproto.ResultNotExecutable, exit: -1, msg: "CRLF"},
		{name: "signalled", body: "#!/bin/sh\nkill -9 $$\n", mode: 0o755, code: agentproto.ResultFailed, exit: 128 + 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if !tc.missing {
				writeScript(t, dir, tc.name, tc.body, tc.mode)
			}
			res := (&Executor{}).Run(context.Background(), Script{Name: tc.name, Path: p, Dir: dir, Timeout: time.Minute}, nil)
			if res.Code != tc.code || res.ExitCode != tc.exit {
				t.Fatalf("result = %+v, want code %s exit %d", res, tc.code, tc.exit)
			}
			if !strings.Contains(res.Message, tc.msg) {
				t.Fatalf("message %q does not mention %q", res.Message, tc.msg)
			}
			if tc.code != agentproto.ResultSucceeded && res.Message == "" {
				t.Fatal("a failure has no message")
			}
		})
	}
}

// TestTimeoutKillsProcessGroup: a script that outlives its timeout is ended with its whole
// process group (a child it put in the background too) and reported timed out.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "hang.sh", "#!/bin/sh\nsleep 300 &\necho $! > child.pid\necho $$ > self.pid\nsleep 300\n", 0o755)
	proctest.KillGroupOnFailure(t, filepath.Join(dir, "self.pid"))
	var res Result
	proctest.Within(t, 30*time.Second, "the 300ms timeout did not end the script", func() {
		res = (&Executor{Grace: 5 * time.Second}).Run(context.Background(), Script{Name: "hang.sh", Path: p, Dir: dir, Timeout: 300 * time.Millisecond}, nil)
	})
	if res.Code != agentproto.ResultTimedOut {
		t.Fatalf("result = %+v", res)
	}
	for _, f := range []string{"self.pid", "child.pid"} {
		pid := readPID(t, filepath.Join(dir, f))
		await(t, f+" process gone", func() bool { return gone(pid) })
	}
}

// TestTimeoutEscalatesToSIGKILL: a script and child that ignore SIGTERM are killed with
// SIGKILL once the grace after the timeout has passed.
func TestTimeoutEscalatesToSIGKILL(t *testing.T) {
	dir := t.TempDir()
	// Both the script and its child ignore SIGTERM.
	p := writeScript(t, dir, "stubborn.sh", "#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $! > child.pid\necho $$ > self.pid\nwhile :; do sleep 1; done\n", 0o755)
	proctest.KillGroupOnFailure(t, filepath.Join(dir, "self.pid"))
	var res Result
	proctest.Within(t, 30*time.Second, "the 300ms timeout and 200ms grace did not end the script", func() {
		res = (&Executor{Grace: 200 * time.Millisecond}).Run(context.Background(), Script{Name: "stubborn.sh", Path: p, Dir: dir, Timeout: 300 * time.Millisecond}, nil)
	})
	if res.Code != agentproto.ResultTimedOut {
		t.Fatalf("result = %+v", res)
	}
	for _, f := range []string{"self.pid", "child.pid"} {
		pid := readPID(t, filepath.Join(dir, f))
		await(t, f+" process gone", func() bool { return gone(pid) })
	}
}

// TestCancelKillsScript: cancelling the context ends a script that has no timeout and
// reports it cancelled.
func TestCancelKillsScript(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "wait.sh", "#!/bin/sh\necho ready\nexec sleep 300\n", 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res Result
	proctest.Within(t, 30*time.Second, "cancelling the context did not end the script", func() {
		res = (&Executor{}).Run(ctx, Script{Name: "wait.sh", Path: p, Dir: dir}, func(l Line) {
			if l.Text == "ready" {
				cancel()
			}
		})
	})
	if res.Code != agentproto.ResultCancelled {
		t.Fatalf("result = %+v", res)
	}
}

// A script that starts a daemon holding its stdout must not hang the event.
func TestBackgroundChildHoldingOutput(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run("fail="+strconv.FormatBool(fail), func(t *testing.T) {
			dir := t.TempDir()
			p := writeScript(t, dir, "start.sh", "#!/bin/sh\nsleep 300 &\necho $! > daemon.pid\necho started\n", 0o755)
			var c collector
			e := &Executor{Drain: 200 * time.Millisecond, FailOnOutputLeftOpen: fail}
			res := e.Run(context.Background(), Script{Name: "start.sh", Path: p, Dir: dir, Timeout: time.Hour}, c.add)
			pid := readPID(t, filepath.Join(dir, "daemon.pid"))
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			want := agentproto.ResultSucceeded
			if fail {
				want = agentproto.ResultOutputLeftOpen
			}
			if res.Code != want || !res.OutputLeftOpen || !strings.Contains(res.Message, "open") {
				t.Fatalf("result = %+v", res)
			}
			if got := c.texts(Stdout); len(got) != 1 || got[0] != "started" {
				t.Fatalf("stdout = %q", got)
			}
			if gone(pid) {
				t.Fatal("the daemon was killed; it must outlive its start script")
			}
		})
	}
}

func TestLongLinesAreCut(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "long.sh", "#!/bin/sh\nhead -c 40000 /dev/zero | tr '\\0' a\necho\necho next\nprintf tail\n", 0o755)
	var c collector
	res := (&Executor{}).Run(context.Background(), Script{Name: "long.sh", Path: p, Dir: dir, Timeout: time.Minute}, c.add)
	if !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	out := c.texts(Stdout)
	if len(out) != 3 || out[1] != "next" || out[2] != "tail" {
		t.Fatalf("lines = %d, tail %q", len(out), out[1:])
	}
	if len(out[0]) > agentproto.MaxLineBytes || !strings.HasSuffix(out[0], truncMark) {
		t.Fatalf("long line has %d bytes, suffix %q", len(out[0]), out[0][len(out[0])-20:])
	}
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runas needs root")
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		t.Skip("useradd not installed")
	}
	name := "slipwayexec" + strconv.Itoa(os.Getpid()%100000)
	if out, err := exec.Command(useradd, "-M", "-d", "/nonexistent-"+name, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Skipf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := writeScript(t, dir, "who.sh", "#!/bin/sh\nid -u\nid -g\necho \"$HOME $USER $LOGNAME $SHELL $PATH\"\n", 0o755)
	var c collector
	res := (&Executor{BaseEnv: []string{"PATH=/agent/only", "HOME=/root"}}).Run(context.Background(), Script{Name: "who.sh", Path: p, Dir: dir, RunAs: name, Timeout: time.Minute}, c.add)
	if !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	want := []string{u.Uid, u.Gid, "/nonexistent-" + name + " " + name + " " + name + " /bin/sh " + DefaultPath}
	if got := c.texts(Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stdout = %q, want %q", got, want)
	}

	res = (&Executor{}).Run(context.Background(), Script{Name: "who.sh", Path: p, Dir: dir, RunAs: "no-such-user-slipway", Timeout: time.Minute}, nil)
	if res.Code != agentproto.ResultUnknownError || !strings.Contains(res.Message, "no-such-user-slipway") {
		t.Fatalf("unknown user: %+v", res)
	}
}

// As root, sudo: true is a no-op: the script runs directly, whether or not sudo is installed.
func TestSudoAsRootIsNoOp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	p := writeScript(t, dir, "s.sh", "#!/bin/sh\nid -u\n", 0o755)
	var c collector
	res := (&Executor{}).Run(context.Background(), Script{Name: "s.sh", Path: p, Dir: dir, Sudo: true, Timeout: time.Minute}, c.add)
	if !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	if got := c.texts(Stdout); len(got) != 1 || got[0] != "0" {
		t.Fatalf("stdout = %q", got)
	}
}
