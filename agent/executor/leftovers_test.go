//go:build unix

package executor

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestEndLeftoversEndsWhatAFinishedScriptLeft: a script that exits 0 after starting a daemon in
// its process group leaves the daemon running (a service must outlive its hook); EndLeftovers
// ends it, counts its group once, and a second call finds nothing.
func TestEndLeftoversEndsWhatAFinishedScriptLeft(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "start.sh", "#!/bin/sh\nsleep 300 >/dev/null 2>&1 &\necho $! > daemon.pid\n", 0o755)
	e := &Executor{Grace: 5 * time.Second, KeepGroups: true}
	if res := e.Run(context.Background(), Script{Name: "start.sh", Path: p, Dir: dir, Timeout: time.Minute}, nil); !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	daemon := readPID(t, filepath.Join(dir, "daemon.pid"))
	if gone(daemon) {
		t.Fatal("the daemon ended with its script; the test proves nothing")
	}
	quiet := writeScript(t, dir, "quiet.sh", "#!/bin/sh\nexit 0\n", 0o755)
	if res := e.Run(context.Background(), Script{Name: "quiet.sh", Path: quiet, Dir: dir, Timeout: time.Minute}, nil); !res.OK() {
		t.Fatalf("result = %+v", res)
	}
	if n := e.EndLeftovers(); n != 1 {
		t.Errorf("EndLeftovers = %d groups, want 1 (the daemon's; the quiet script left nothing)", n)
	}
	await(t, "the daemon gone", func() bool { return gone(daemon) })
	if n := e.EndLeftovers(); n != 0 {
		t.Errorf("a second EndLeftovers = %d, want 0", n)
	}
}
