package executor

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestProcessWorkspace(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bin", "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("bin/run.sh", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	p := &Process{Root: t.TempDir()}
	ws, err := p.Prepare(context.Background(), PrepareRequest{BuildID: "b", SourceDir: src})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(ws.SrcDir(), "bin", "run.sh")); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("copied script: %v %v", st, err)
	}
	if target, err := os.Readlink(filepath.Join(ws.SrcDir(), "link")); err != nil || target != "bin/run.sh" {
		t.Fatalf("copied link: %q %v", target, err)
	}

	// A session: commands on stdin, stdout and stderr merged, the exit code.
	s, err := ws.Start(context.Background(), StartRequest{Shell: []string{"/bin/sh"}, Env: []string{"PATH=" + os.Getenv("PATH"), "X=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(s.Stdin(), "./link; echo err-$X >&2; exit 4\n"); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(s.Output())
	if code, err := s.Wait(); code != 4 || err != nil {
		t.Fatalf("exit %d %v", code, err)
	}
	if string(out) != "ran\nerr-1\n" {
		t.Fatalf("output %q", out)
	}

	// run-as of another user is refused when not root, and of a user the
	// host does not know when root.
	want := "cannot switch users"
	if os.Geteuid() == 0 && runtime.GOOS == "linux" {
		want = "no such user on this host"
	}
	if _, err := ws.Start(context.Background(), StartRequest{Shell: []string{"/bin/sh"}, User: "slipway-nobody-here"}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("run-as: %v, want %q", err, want)
	}

	// Stop kills the group: a background child holding the output ends too.
	s, err = ws.Start(context.Background(), StartRequest{Shell: []string{"/bin/sh"}, Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(s.Stdin(), "sleep 300 &\necho started\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := io.ReadAtLeast(s.Output(), buf, len("started")); err != nil || !strings.HasPrefix(string(buf[:n]), "started") {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	eof := make(chan error, 1)
	go func() { _, err := io.ReadAll(s.Output()); eof <- err }()
	select {
	case err := <-eof:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the output stayed open after Stop: a process of the group survived")
	}
	if code, _ := s.Wait(); code != -1 {
		t.Fatalf("a killed shell exits %d, want -1", code)
	}

	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ws.SrcDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the workspace is still there: %v", err)
	}
}

func TestPrepareCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := (&Process{Root: root}).Prepare(ctx, PrepareRequest{SourceDir: src}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("a cancelled Prepare left %v", entries)
	}
}

// TestProcessRunAsUID: as root on Linux, a run-as given as a uid (as Docker accepts) runs the
// shell as that user with its HOME, USER and LOGNAME; an unknown uid is refused.
func TestProcessRunAsUID(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("switching users needs root on Linux")
	}
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := (&Process{Root: root}).Prepare(context.Background(), PrepareRequest{BuildID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	s, err := ws.Start(context.Background(), StartRequest{Shell: []string{"/bin/sh"}, User: "65534",
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=/root", "USER=root", "LOGNAME=root"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(s.Stdin(), `echo "$(id -u) $HOME $USER $LOGNAME"; touch made; stat -c %u made; exit 0`+"\n"); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(s.Output())
	if code, err := s.Wait(); code != 0 || err != nil {
		t.Fatalf("exit %d %v: %s", code, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 5 || fields[0] != "65534" || fields[1] == "/root" || fields[2] == "root" || fields[2] != fields[3] || fields[4] != "65534" {
		t.Fatalf("output %q: want uid 65534, its own HOME, USER and LOGNAME, and a file it owns", out)
	}
	if _, err := ws.Start(context.Background(), StartRequest{Shell: []string{"/bin/sh"}, User: "4000000000"}); err == nil || !strings.Contains(err.Error(), "no user with that uid") {
		t.Fatalf("an unknown uid: %v", err)
	}
}
