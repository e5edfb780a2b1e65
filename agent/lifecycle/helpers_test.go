//go:build unix

package lifecycle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// fetcher serves bundles from memory by revision ID and counts what it is asked.
type fetcher struct {
	mu      sync.Mutex
	bundles map[string][]byte
	calls   int
	// onFetch, when set, is called on every Fetch.
	onFetch func()
}

// asked returns how many times Fetch was called.
func (f *fetcher) asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fetcher) add(rev agentproto.Revision, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bundles == nil {
		f.bundles = map[string][]byte{}
	}
	f.bundles[rev.ID] = data
}

func (f *fetcher) Fetch(ctx context.Context, rev agentproto.Revision, dst string) error {
	f.mu.Lock()
	f.calls++
	data, ok := f.bundles[rev.ID]
	onFetch := f.onFetch
	f.mu.Unlock()
	if onFetch != nil {
		onFetch()
	}
	if !ok {
		return fmt.Errorf("no revision %s", rev.ID)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rev.SHA256 {
		return fmt.Errorf("sha256 mismatch")
	}
	return os.WriteFile(dst, data, 0o600)
}

// recorder is a Reporter that keeps everything.
type recorder struct {
	mu     sync.Mutex
	events []agentproto.Event
	logs   []agentproto.LogLine
}

func (r *recorder) Event(ev agentproto.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) Log(_ string, l agentproto.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, l)
}

func (r *recorder) all() []agentproto.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]agentproto.Event(nil), r.events...)
}

// end returns the last DeploymentEnd event of a deployment.
func (r *recorder) end(t *testing.T, id string) agentproto.Event {
	t.Helper()
	evs := r.all()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Event == agentproto.DeploymentEnd && evs[i].DeploymentID == id {
			return evs[i]
		}
	}
	t.Fatalf("no DeploymentEnd for %s in %+v", id, evs)
	return agentproto.Event{}
}

// eventResult returns the final (non-started) report of an event, without a script.
func (r *recorder) eventResult(id, event string) (agentproto.Event, bool) {
	evs := r.all()
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.DeploymentID == id && e.Event == event && e.Script == "" && e.Status != agentproto.StatusStarted {
			return e, true
		}
	}
	return agentproto.Event{}, false
}

// scriptResults returns the script result reports of a deployment.
func (r *recorder) scriptResults(id string) []agentproto.Event {
	var out []agentproto.Event
	for _, e := range r.all() {
		if e.DeploymentID == id && e.Script != "" {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) logTexts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.logs {
		out = append(out, l.Event+" "+l.Stream+" "+l.Text)
	}
	return out
}

// makeBundle writes files (path → content; a content starting with "->" is a symlink
// target) into a folder and packs it with bundle.Create. Files under scripts/ are executable.
func makeBundle(t *testing.T, files map[string]string) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "scripts/") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	info, err := bundle.Create(&buf, dir)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info.SHA256
}

// traceScript appends "event|label|deployment|app|group|group-id|sha|revision|pwd" to trace.
func traceScript(trace, label string) string {
	return "#!/bin/sh\n" +
		"echo \"$LIFECYCLE_EVENT|" + label + "|$DEPLOYMENT_ID|$APPLICATION_NAME|$DEPLOYMENT_GROUP_NAME|$DEPLOYMENT_GROUP_ID|$BUNDLE_SHA256|$REVISION_ID|$(pwd)\" >> " + trace + "\n" +
		"echo \"hello from $LIFECYCLE_EVENT\"\n" +
		"echo \"warn from $LIFECYCLE_EVENT\" >&2\n"
}

// scriptEvents are the events that take scripts in an in-place deployment without traffic.
var scriptEvents = []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"}

// specYAML is an appspec that installs app/ into dest and runs hooks: event → extra YAML
// lines of its one script entry (location first).
func specYAML(dest string, hooks map[string]string) string {
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: " + dest + "\nhooks:\n")
	for _, ev := range scriptEvents {
		if h, ok := hooks[ev]; ok {
			b.WriteString("  " + ev + ":\n    - location: " + h + "\n")
		}
	}
	return b.String()
}

// allHooks runs scripts/hook.sh on every script event.
func allHooks() map[string]string {
	m := map[string]string{}
	for _, ev := range scriptEvents {
		m[ev] = "scripts/hook.sh"
	}
	return m
}

type env struct {
	t       *testing.T
	root    string
	dest    string
	trace   string
	fetcher *fetcher
	rec     *recorder
	runner  *Runner
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, root: filepath.Join(base, "root"), dest: filepath.Join(base, "dest"), trace: filepath.Join(base, "trace"),
		fetcher: &fetcher{}, rec: &recorder{}}
	cfg.Root = e.root
	if cfg.HookGrace == 0 {
		cfg.HookGrace = 500 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.runner = r
	return e
}

// revision registers a bundle with the fetcher.
func (e *env) revision(id string, files map[string]string) agentproto.Revision {
	data, sha := makeBundle(e.t, files)
	rev := agentproto.Revision{ID: id, SHA256: sha, Size: int64(len(data)), Format: "tar.gz"}
	e.fetcher.add(rev, data)
	return rev
}

func (e *env) run(ctx context.Context, id, groupID string, rev agentproto.Revision) agentproto.Status {
	return e.runner.Run(ctx, agentproto.Run{DeploymentID: id, App: "shop", Group: "web-" + groupID, GroupID: groupID, Revision: rev}, e.fetcher, e.rec)
}

// traceLines returns the trace split into fields.
func (e *env) traceLines() [][]string {
	b, err := os.ReadFile(e.trace)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, strings.Split(l, "|"))
		}
	}
	return out
}

func (e *env) traceEvents() []string {
	var out []string
	for _, f := range e.traceLines() {
		out = append(out, f[0]+"/"+f[1])
	}
	return out
}

// await polls cond until it holds, failing after a generous deadline.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	await(t, "pid in "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
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

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
