package gitexec

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newGit returns a Git for the installed git, or skips the test when there is none.
func newGit(t *testing.T) *Git {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	g, err := New(context.Background(), Config{Home: filepath.Join(t.TempDir(), "home")})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out  string
		want Version
	}{
		{"git version 2.39.5\n", Version{2, 39, 5}},
		{"git version 2.29.0", Version{2, 29, 0}},
		{"git version 2.39.5.windows.1", Version{2, 39, 5}},
		{"git version 2.39.3 (Apple Git-146)", Version{2, 39, 3}},
		{"git version 2.45.0-rc1", Version{2, 45, 0}},
		{"git version 3.0", Version{3, 0, 0}},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.out)
		if err != nil || got != tt.want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v", tt.out, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "hub version 2.1", "git version x.y", "git version 2"} {
		if v, err := parseVersion(bad); err == nil {
			t.Errorf("parseVersion(%q) = %v, want an error", bad, v)
		}
	}
	if !(Version{2, 28, 9}).Less(MinVersion) || (Version{2, 29, 0}).Less(MinVersion) || (Version{3, 0, 0}).Less(MinVersion) {
		t.Fatal("Less is wrong around MinVersion")
	}
}

func TestNewRefusesOldOrMissingGit(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "git")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho 'git version 2.28.1'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), Config{Path: old, Home: filepath.Join(dir, "home")})
	if err == nil || !strings.Contains(err.Error(), "2.28.1") || !strings.Contains(err.Error(), "2.29.0 or later") {
		t.Fatalf("old git: %v", err)
	}
	_, err = New(context.Background(), Config{Path: filepath.Join(dir, "nothere"), Home: filepath.Join(dir, "home")})
	if err == nil {
		t.Fatal("a missing git was accepted")
	}
	if _, err := New(context.Background(), Config{Path: old, Home: "relative"}); err == nil {
		t.Fatal("a relative home was accepted")
	}
}

func TestCleanEnvironment(t *testing.T) {
	g := newGit(t)
	// What the server's own environment holds must not reach git.
	t.Setenv("SLIPWAY_LEAK", "1")
	t.Setenv("GIT_DIR", "/nonexistent")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'user.name'='leaked'")
	t.Setenv("GIT_TRACE", "1")
	if err := os.WriteFile(filepath.Join(g.home, ".gitconfig"), []byte("[user]\n\tname = from-home\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A shell alias makes git print the environment it runs with.
	out, err := g.Output(context.Background(), "", "-c", "alias.showenv=!env", "showenv")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	for k, want := range map[string]string{"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": g.home, "LC_ALL": "C"} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	// git puts its exec-path first on PATH for aliases; the rest is the minimal PATH.
	if !strings.HasSuffix(env["PATH"], ":/usr/bin:/bin") && env["PATH"] != "/usr/bin:/bin" {
		t.Errorf("PATH=%q, want it to end in /usr/bin:/bin", env["PATH"])
	}
	// git passes its own -c options to aliases in GIT_CONFIG_PARAMETERS; the server's are gone.
	if strings.Contains(env["GIT_CONFIG_PARAMETERS"], "leaked") {
		t.Errorf("GIT_CONFIG_PARAMETERS leaked into git's environment: %q", env["GIT_CONFIG_PARAMETERS"])
	}
	for _, k := range []string{"SLIPWAY_LEAK", "GIT_DIR", "GIT_TRACE"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s leaked into git's environment", k)
		}
	}
	// Neither HOME's nor any other user or system configuration is read.
	cfg, err := g.Output(context.Background(), "", "config", "--list", "--show-origin")
	if err != nil && !strings.Contains(err.Error(), "exit status 1") {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(cfg)) != "" {
		t.Fatalf("git sees configuration outside the repository:\n%s", cfg)
	}

	// Callers may add SLIPWAY_* variables and those of CommitEnv, and nothing else.
	var b strings.Builder
	if err := g.Run(context.Background(), Command{Args: []string{"-c", "alias.showenv=!env", "showenv"}, Stdout: &b,
		Env: []string{"SLIPWAY_HOOK_SOCKET=/run/x", "GIT_INDEX_FILE=/tmp/i", "GIT_AUTHOR_NAME=Ana"}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"SLIPWAY_HOOK_SOCKET=/run/x", "GIT_INDEX_FILE=/tmp/i", "GIT_AUTHOR_NAME=Ana"} {
		if !strings.Contains("\n"+b.String(), "\n"+v+"\n") {
			t.Fatalf("%s not passed:\n%s", v, b.String())
		}
	}
	for _, bad := range []string{"GIT_DIR=/etc", "PATH=/tmp", "LD_PRELOAD=x.so", "SLIPWAY_X", "SLIPWAY_X=a\x00b", "GIT_CONFIG_PARAMETERS='core.hooksPath'='/tmp'", "GIT_INDEX_FILE=a\x00b"} {
		if err := g.Run(context.Background(), Command{Args: []string{"version"}, Env: []string{bad}}); err == nil {
			t.Errorf("Env %q was accepted", bad)
		}
	}
}

func TestErrorCarriesStderrAndExitCode(t *testing.T) {
	g := newGit(t)
	dir := initRepo(t, g)
	_, err := g.Output(context.Background(), dir, "cat-file", "-t", "0123456789012345678901234567890123456789")
	var gerr *Error
	if !errors.As(err, &gerr) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if gerr.ExitCode() != 128 || !strings.Contains(gerr.Stderr, "fatal: ") || !strings.Contains(gerr.Error(), "git cat-file -t") {
		t.Fatalf("error %q, exit code %d", gerr, gerr.ExitCode())
	}
}

func TestStderrIsBounded(t *testing.T) {
	var b boundedBuffer
	chunk := strings.Repeat("e", 1000)
	for i := 0; i < 100; i++ {
		if n, err := b.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	s := b.String()
	if !strings.HasPrefix(s, strings.Repeat("e", MaxStderr)+"\n[... ") || !strings.Contains(s, strconv.Itoa(100*1000-MaxStderr)+" more bytes") {
		t.Fatalf("kept %d bytes, ending %q", len(s), s[len(s)-60:])
	}
}

// TestCancelKillsProcessGroup runs git whose alias starts a child that would outlive git,
// and checks that cancelling the context ends both.
func TestCancelKillsProcessGroup(t *testing.T) {
	g := newGit(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- g.Run(ctx, Command{Args: []string{"-c", "alias.hang=!sh -c 'echo $$ > " + pidFile + "; exec sleep 600' & wait", "hang"}})
	}()
	var pid int
	waitFor(t, "the child to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	waitFor(t, "the child to be killed", func() bool { return !alive(pid) })
}

// alive reports whether pid runs (a zombie counts as ended).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
