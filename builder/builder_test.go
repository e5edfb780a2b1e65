package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/internal/testutil"
)

func load(t *testing.T, src string) *buildspec.Spec {
	t.Helper()
	s, diags := buildspec.Load("buildspec.yml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s
}

func options(t *testing.T) Options {
	return Options{
		Executor:  &executor.Process{Root: t.TempDir()},
		SourceDir: t.TempDir(),
		BuildID:   "local:test",
		BaseEnv:   HostBaseEnv(),
		Timeout:   time.Minute,
	}
}

// alive reports whether pid is a process that has not ended (a zombie has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitForPID waits until the build wrote a pid into path.
func waitForPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	testutil.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

// TestStopKillsEveryProcess cancels a build (Ctrl-C) while a command waits
// for a child that would outlive it: the build ends STOPPED, its finally
// and later phases do not run, and the child is killed with the shell.
func TestStopKillsEveryProcess(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	spec := load(t, `version: 0.2
phases:
  build:
    commands:
      - sleep 300 & echo $! > "$PID_FILE"; wait
    finally:
      - echo finally-ran
  post_build:
    commands:
      - echo post-build-ran
`)
	opts := options(t)
	opts.Env = []buildspec.Var{{Name: "PID_FILE", Value: pidFile}}
	log := &syncBuffer{}
	opts.Log = log
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *Result, 1)
	go func() {
		res, err := Run(ctx, spec, opts)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	pid := waitForPID(t, pidFile)
	if !alive(pid) {
		t.Fatalf("the child %d is not running before the stop", pid)
	}
	cancel()
	var res *Result
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the build did not end after it was stopped")
	}
	if res == nil || res.Status != StatusStopped {
		t.Fatalf("result = %+v", res)
	}
	if out := commandOutput(log.String()); strings.Contains(out, "finally-ran") || strings.Contains(out, "post-build-ran") {
		t.Fatalf("commands ran after the stop:\n%s", log)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if alive(pid) {
			return fmt.Errorf("the child %d still runs", pid)
		}
		return nil
	})
}

// TestTimeout ends a build that runs past its timeout TIMED_OUT.
func TestTimeout(t *testing.T) {
	spec := load(t, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n")
	opts := options(t)
	opts.Timeout = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusTimedOut || time.Since(start) > 30*time.Second {
		t.Fatalf("status %s after %s", res.Status, time.Since(start))
	}
}

// TestRefusedBeforeAnyCommand: an invalid spec, a secret without a value
// and a run-as the process executor cannot run as (another user when not
// root; a user this host does not know when root) end the build before any
// command runs, even when only a later phase names the user.
func TestRefusedBeforeAnyCommand(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	cmd := "touch " + marker
	runAsErr := "cannot switch users"
	if os.Geteuid() == 0 && runtime.GOOS == "linux" {
		runAsErr = "run-as slipway-nobody-here: no such user on this host"
	}
	tests := []struct {
		name string
		src  string
		err  string
	}{
		{"invalid", "version: 0.2\nphases:\n  bild:\n    commands: [" + cmd + "]\n", "invalid"},
		{"secret", "version: 0.2\nenv:\n  parameter-store: {DB: /ci/db}\nphases:\n  build:\n    commands: [" + cmd + "]\n", "pass it with --env DB=VALUE"},
		{"run-as", "version: 0.2\nphases:\n  install:\n    commands: [" + cmd + "]\n  build:\n    run-as: slipway-nobody-here\n    commands: [" + cmd + "]\n", runAsErr},
		{"top-level run-as", "version: 0.2\nrun-as: slipway-nobody-here\nphases:\n  build:\n    commands: [" + cmd + "]\n", runAsErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, _ := buildspec.Load("buildspec.yml", []byte(tt.src))
			res, err := Run(context.Background(), spec, options(t))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("res %+v err = %v, want %q", res, err, tt.err)
			}
			if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a command ran")
			}
		})
	}
}

// TestSecretsMasked: values of secrets never reach the log.
func TestSecretsMasked(t *testing.T) {
	spec := load(t, "version: 0.2\nenv:\n  secrets-manager: {TOKEN: ci/token}\nphases:\n  build:\n    commands:\n      - echo token=$TOKEN\n      - test \"$TOKEN\" = hunter2-secret\n")
	opts := options(t)
	opts.Secrets = map[string]string{"TOKEN": "hunter2-secret"}
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), spec, opts)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("res %+v err %v\n%s", res, err, log)
	}
	if strings.Contains(log.String(), "hunter2") || !strings.Contains(log.String(), "token=***") {
		t.Fatalf("log:\n%s", log)
	}
}

// TestEnvironmentPrecedence: --env wins over the buildspec, CODEBUILD_*
// over both, and nothing of the caller's environment leaks in.
func TestEnvironmentPrecedence(t *testing.T) {
	t.Setenv("SLIPWAY_LEAK_CHECK", "leaked")
	spec := load(t, `version: 0.2
env:
  variables:
    A: from-spec
    B: from-spec
    CODEBUILD_BUILD_ID: spoofed
phases:
  build:
    commands:
      - echo "A=$A B=$B id=$CODEBUILD_BUILD_ID leak=[$SLIPWAY_LEAK_CHECK]"
`)
	opts := options(t)
	opts.Env = []buildspec.Var{{Name: "B", Value: "from-start"}, {Name: "CODEBUILD_BUILD_ID", Value: "spoofed"}}
	log := &syncBuffer{}
	opts.Log = log
	if _, err := Run(context.Background(), spec, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "A=from-spec B=from-start id=local:test leak=[]") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestCollect(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"dist/a.js", "dist/sub/b.js", "dist/sub/b.js.map", "x/a.js"} {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "dist", "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    buildspec.Artifact
		want string
		err  string
	}{
		{"everything", buildspec.Artifact{Files: []string{"**/*"}}, "dist/a.js dist/sub/b.js dist/sub/b.js.map x/a.js", ""},
		{"base", buildspec.Artifact{Files: []string{"**/*"}, BaseDirectory: "dist", ExcludePaths: []string{"**/*.map"}}, "a.js sub/b.js", ""},
		{"discard collision", buildspec.Artifact{Files: []string{"**/a.js"}, DiscardPaths: true}, "a.js", ""},
		{"no match", buildspec.Artifact{Files: []string{"nothing/*"}}, "", "no matching artifact paths found"},
		{"missing base", buildspec.Artifact{Files: []string{"*"}, BaseDirectory: "build"}, "", "not a directory"},
		{"exclude a directory", buildspec.Artifact{Files: []string{"**/*"}, ExcludePaths: []string{"dist/sub"}}, "dist/a.js x/a.js", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Collect(root, tt.a, "", nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Fatalf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(root, buildspec.Artifact{Files: []string{"**/*"}}, out, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a non-empty out: %v", err)
	}
}

// TestQuotingConfined: a command's quotes, even unbalanced, stay inside it:
// a command with a syntax error fails alone and the session goes on.
func TestQuotingConfined(t *testing.T) {
	spec := load(t, `version: 0.2
phases:
  build:
    on-failure: CONTINUE
    commands:
      - export KEEP=kept
      - echo "it's $KEEP" 'single '"'"'quoted'"'"''
      - echo "unterminated
  post_build:
    commands:
      - echo "after=$KEEP"
      - |
        cat <<'EOF2'
        heredoc $KEEP
        EOF2
`)
	opts := options(t)
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := commandOutput(log.String())
	if res.Status != StatusFailed || res.Phases[2].Status != StatusFailed || res.Phases[3].Status != StatusSucceeded {
		t.Fatalf("result %+v\n%s", res, log)
	}
	for _, want := range []string{"it's kept single 'quoted'", "after=kept", "heredoc $KEEP"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
}

// TestLongValues: an exported variable longer than an output line and
// holding newlines comes back whole, through a restart of the shell too.
func TestLongValues(t *testing.T) {
	spec := load(t, `version: 0.2
env:
  exported-variables: [BIG]
phases:
  build:
    commands:
      - |
        export BIG="$(head -c 100000 /dev/zero | tr '\0' x)
        second line"
      - exit 0
  post_build:
    commands:
      - test ${#BIG} -eq 100012 && echo big-restored
`)
	opts := options(t)
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), spec, opts)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("res %+v err %v\n%s", res, err, log)
	}
	if got := res.ExportedVariables["BIG"]; got != strings.Repeat("x", 100000)+"\nsecond line" {
		t.Fatalf("BIG has %d bytes", len(got))
	}
	if !strings.Contains(log.String(), "big-restored") {
		t.Fatalf("log:\n%s", log)
	}
}
