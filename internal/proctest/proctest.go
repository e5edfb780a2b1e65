//go:build unix

// Package proctest holds helpers for tests that run real processes (scripts, hooks): a bound
// on a call that a broken timeout would leave hanging, and the clean-up of what a failed test
// leaves running.
package proctest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Within runs fn and fails the test with "<what> within <d>" when fn has not returned by then,
// so a process that nothing ends fails its test in seconds instead of hanging the package until
// go test's own timeout. fn runs on another goroutine: it must not call t.Fatal.
func Within(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s within %s", what, d)
	}
}

// KillGroupOnFailure kills, when the test has failed, the process group led by the pid written
// in pidFile, so a script its test gave up on does not run on after it.
func KillGroupOnFailure(t testing.TB, pidFile string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
}
