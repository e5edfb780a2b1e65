package session

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// buildServer is the server side of a build's agent routes, as the srv helper's handlers answer
// them: the source tar, the secrets, the artifact uploads; each checks the host secret.
type buildServer struct {
	t      *testing.T
	srv    *httptest.Server
	tar    []byte
	values map[string]string

	mu        sync.Mutex
	asked     []string
	artifacts map[string][]byte // by name, the zips received
}

const testHostSecret = "slwh_test-secret"

func newBuildServer(t *testing.T, tarball []byte, values map[string]string) *buildServer {
	s := &buildServer{t: t, tar: tarball, values: values, artifacts: map[string][]byte{}}
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+testHostSecret {
				http.Error(w, "bad host secret", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v1/agent/builds/{id}/source", auth(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(s.tar)
	}))
	mux.HandleFunc("POST /v1/agent/builds/{id}/secrets", auth(func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.BuildSecretsRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply := agentproto.BuildSecretsReply{Values: map[string]string{}}
		s.mu.Lock()
		s.asked = append(s.asked, req.Names...)
		s.mu.Unlock()
		for _, n := range req.Names {
			v, ok := s.values[n]
			if !ok {
				http.Error(w, "no secret "+n, http.StatusForbidden)
				return
			}
			reply.Values[n] = v
		}
		_ = json.NewEncoder(w).Encode(reply)
	}))
	mux.HandleFunc("PUT /v1/agent/builds/{id}/artifacts/{name}", auth(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		s.mu.Lock()
		s.artifacts[r.PathValue("name")] = body
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(agentproto.BuildArtifactUploaded{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))})
	}))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// newTestBuilds is a build worker with a real outbox in dir, talking to srv.
func newTestBuilds(t *testing.T, dir string, srv *buildServer) (*Builds, *Outbox) {
	t.Helper()
	out, err := OpenOutbox(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	f := &Fetcher{Secret: testHostSecret, Client: NewFetchClient(nil), Servers: func() []string { return []string{srv.srv.URL} }}
	return NewBuilds(BuildsConfig{Dir: dir, Fetcher: f, Reporter: NewKindReporter(out, agentproto.KindBuild), Logger: quietLog()}), out
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// gitTar makes a repository with files, commits them and returns `git archive HEAD`, as the
// server serves a build's source.
func gitTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) []byte {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return out
	}
	git("init", "-q")
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	git("commit", "-q", "-m", "source")
	return git("archive", "--format=tar", "HEAD")
}

func testRun(id string, srv *buildServer) agentproto.BuildRun {
	return agentproto.BuildRun{
		Kind: agentproto.KindBuild, DeploymentID: id, Project: strings.Split(id, ":")[0], Number: 7, Initiator: "user/alice",
		SourceVersion: "main", ResolvedSourceVersion: "0123456789abcdef0123456789abcdef01234567",
		Source:      agentproto.BuildSource{Type: "SLIPWAY", Repository: "web", Path: "/v1/agent/builds/" + id + "/source"},
		SecretsPath: "/v1/agent/builds/" + id + "/secrets", ArtifactsPath: "/v1/agent/builds/" + id + "/artifacts",
		TimeoutMinutes: 10, StartTime: time.Now().UnixMilli(),
	}
}

func startRun(t *testing.T, b *Builds, run agentproto.BuildRun) {
	t.Helper()
	body, _ := json.Marshal(run)
	if err := b.Start(body); err != nil {
		t.Fatal(err)
	}
}

// reports are the messages of one build's box, decoded.
type reports struct {
	events []agentproto.Event
	logs   []agentproto.Log
	seqs   []uint64
}

func readBox(t *testing.T, out *Outbox, id string) reports {
	t.Helper()
	var r reports
	for _, raw := range out.Pending(map[string]uint64{})[buildKey(id)] {
		var env agentproto.Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		switch env.Type {
		case agentproto.TypeEvent:
			var ev agentproto.Event
			_ = json.Unmarshal(env.Body, &ev)
			r.events = append(r.events, ev)
			r.seqs = append(r.seqs, ev.Seq)
			if ev.Kind != agentproto.KindBuild || ev.DeploymentID != id {
				t.Fatalf("event %+v is not of kind build and build %s", ev, id)
			}
		case agentproto.TypeLog:
			var l agentproto.Log
			_ = json.Unmarshal(env.Body, &l)
			r.logs = append(r.logs, l)
			r.seqs = append(r.seqs, l.Seq)
			if l.Kind != agentproto.KindBuild || l.DeploymentID != id {
				t.Fatalf("log of kind %q, build %q", l.Kind, l.DeploymentID)
			}
		}
	}
	return r
}

// phases are the events as "PHASE status result".
func (r reports) phases() []string {
	var out []string
	for _, ev := range r.events {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", ev.Event, ev.Status, ev.Result)))
	}
	return out
}

func (r reports) text() string {
	var b strings.Builder
	for _, l := range r.logs {
		for _, line := range l.Lines {
			fmt.Fprintf(&b, "%s| %s\n", line.Event, line.Text)
		}
	}
	return b.String()
}

func (r reports) end(t *testing.T) agentproto.Event {
	t.Helper()
	if len(r.events) == 0 || r.events[len(r.events)-1].Event != agentproto.BuildEnd {
		t.Fatalf("the last event is not the end: %v", r.phases())
	}
	return r.events[len(r.events)-1]
}

// waitEnded waits until the build is no longer running and its end is recorded.
func waitEnded(t *testing.T, b *Builds, id string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		if _, done := b.Done(id); !done || len(b.Running()) > 0 {
			return fmt.Errorf("build %s still running", id)
		}
		return nil
	})
}

func zipFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		out[f.Name] = string(b)
	}
	return out
}

const fullBuildspec = `version: 0.2
env:
  secrets-manager:
    TOKEN: ci/token
  exported-variables: [OUT]
phases:
  install:
    commands:
      - echo installing
  build:
    commands:
      - echo "token=$TOKEN run=$RUN_SECRET plain=$PLAIN number=$CODEBUILD_BUILD_NUMBER"
      - mkdir -p out/sub && echo hello > out/a.txt && cp src.txt out/sub/
      - export OUT=done-$PLAIN
      - mkdir -p reports && printf '<testsuite name="s"><testcase name="t1"/><testcase name="t2"><failure message="boom"/></testcase></testsuite>' > reports/r.xml
artifacts:
  files: ['out/**/*']
  secondary-artifacts:
    extra:
      files: [src.txt]
reports:
  unit:
    files: [reports/r.xml]
`

// TestBuildRunsAndReports: a build pushed to the worker downloads a real git archive, fetches
// its secrets, runs with the process executor and reports, with Kind "build" and in sequence,
// each phase's start and end, its output (secrets masked, each line with its phase), the
// artifacts uploaded as zips holding the right files, and the outcome (exported variables,
// artifacts, reports). A Run pushed again is not run again.
func TestBuildRunsAndReports(t *testing.T) {
	tarball := gitTar(t, map[string]string{"buildspec.yml": fullBuildspec, "src.txt": "from the source\n"})
	srv := newBuildServer(t, tarball, map[string]string{"ci/token": "hunter2-token", "ci/run": "run-secret-value"})
	b, out := newTestBuilds(t, t.TempDir(), srv)
	id := "web:11111111-2222-4333-8444-555555555555"
	run := testRun(id, srv)
	run.Variables = []agentproto.BuildVariable{{Name: "PLAIN", Value: "p1", Type: "PLAINTEXT"}, {Name: "RUN_SECRET", Value: "ci/run", Type: "SECRETS_MANAGER"}}
	startRun(t, b, run)
	if got := b.Running(); !slices.Equal(got, []string{id}) {
		t.Fatalf("running %v", got)
	}
	waitEnded(t, b, id)
	r := readBox(t, out, id)

	want := []string{
		"DOWNLOAD_SOURCE started", "DOWNLOAD_SOURCE succeeded SUCCEEDED",
		"INSTALL started", "INSTALL succeeded SUCCEEDED", "PRE_BUILD started", "PRE_BUILD succeeded SUCCEEDED",
		"BUILD started", "BUILD succeeded SUCCEEDED", "POST_BUILD started", "POST_BUILD succeeded SUCCEEDED",
		"UPLOAD_ARTIFACTS started", "UPLOAD_ARTIFACTS succeeded SUCCEEDED", "FINALIZING started", "FINALIZING succeeded SUCCEEDED",
		"BuildEnd succeeded SUCCEEDED",
	}
	if !slices.Equal(r.phases(), want) {
		t.Fatalf("events\n%v\nwant\n%v\nlog:\n%s", r.phases(), want, r.text())
	}
	if !sort.SliceIsSorted(r.seqs, func(i, j int) bool { return r.seqs[i] < r.seqs[j] }) || r.seqs[0] != 1 {
		t.Fatalf("sequence numbers %v", r.seqs)
	}
	text := r.text()
	if strings.Contains(text, "hunter2") || strings.Contains(text, "run-secret-value") {
		t.Fatalf("a secret reached the log:\n%s", text)
	}
	if !strings.Contains(text, "BUILD| token=*** run=*** plain=p1 number=7") || !strings.Contains(text, "INSTALL| installing") {
		t.Fatalf("output lines missing or without their phase:\n%s", text)
	}
	srv.mu.Lock()
	asked := slices.Sorted(slices.Values(srv.asked))
	arts := srv.artifacts
	srv.mu.Unlock()
	if !slices.Equal(asked, []string{"ci/run", "ci/token"}) {
		t.Fatalf("secrets asked %v", asked)
	}
	if got := zipFiles(t, arts["primary"]); len(got) != 2 || got["out/a.txt"] != "hello\n" || got["out/sub/src.txt"] != "from the source\n" {
		t.Fatalf("primary artifact holds %v", got)
	}
	if got := zipFiles(t, arts["extra"]); len(got) != 1 || got["src.txt"] != "from the source\n" {
		t.Fatalf("secondary artifact holds %v", got)
	}
	o := r.end(t).Build
	if o == nil || o.Status != "SUCCEEDED" || o.ExportedVariables["OUT"] != "done-p1" {
		t.Fatalf("outcome %+v", o)
	}
	if len(o.Artifacts) != 2 || o.Artifacts[0].Identifier != "" || o.Artifacts[0].Files != 2 || o.Artifacts[1].Identifier != "extra" || o.Artifacts[1].Files != 1 {
		t.Fatalf("artifacts %+v", o.Artifacts)
	}
	sum := sha256.Sum256(arts["primary"])
	if o.Artifacts[0].SHA256 != hex.EncodeToString(sum[:]) || o.Artifacts[0].Size != int64(len(arts["primary"])) {
		t.Fatalf("primary artifact %+v is not the zip uploaded", o.Artifacts[0])
	}
	if len(o.Reports) != 1 || o.Reports[0].Name != "unit" || o.Reports[0].Total != 2 || o.Reports[0].Status != "FAILED" || o.Reports[0].Counts["FAILED"] != 1 {
		t.Fatalf("reports %+v", o.Reports)
	}
	// Delivered again (the server pushes until it committed the end): not run again.
	startRun(t, b, run)
	if len(b.Running()) != 0 {
		t.Fatal("a finished build was started again")
	}
	// The workspace is gone; the box goes once everything is acknowledged.
	if _, err := os.Stat(filepath.Join(b.cfg.Dir, "builds", buildKey(id))); !os.IsNotExist(err) {
		t.Fatalf("workspace left: %v", err)
	}
	out.Ack(buildKey(id), r.seqs[len(r.seqs)-1])
	if _, err := os.Stat(filepath.Join(b.cfg.Dir, "outbox", buildKey(id)+".jsonl")); !os.IsNotExist(err) {
		t.Fatalf("the ended, acknowledged build's outbox is still there: %v", err)
	}
}

// TestBuildCancelEndsStopped: a cancel while a command runs kills it; the phase and the build
// end STOPPED and no later phase runs.
func TestBuildCancelEndsStopped(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "after")
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n  post_build:\n    commands:\n      - touch " + marker + "\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	b, out := newTestBuilds(t, t.TempDir(), srv)
	id := "web:22222222-2222-4333-8444-555555555555"
	startRun(t, b, testRun(id, srv))
	testutil.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(readBox(t, out, id).text(), "Running command sleep 300") {
			return fmt.Errorf("the command has not started")
		}
		return nil
	})
	b.Cancel("other:1", "not this one")
	b.Cancel(id, "stopped by alice")
	waitEnded(t, b, id)
	r := readBox(t, out, id)
	ph := r.phases()
	if !slices.Contains(ph, "BUILD failed STOPPED") || slices.Contains(ph, "UPLOAD_ARTIFACTS started") {
		t.Fatalf("events %v", ph)
	}
	if end := r.end(t); end.Result != "STOPPED" || end.Build.Status != "STOPPED" || end.Message != "the build was stopped by the server: stopped by alice" {
		t.Fatalf("end %+v", end)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("a phase after the stop ran")
	}
}

// TestBuildspecInvalidFailsDownloadSource: a missing buildspec and an invalid one end the build
// FAILED in DOWNLOAD_SOURCE with CLIENT_ERROR, the diagnostics in the message and the log.
func TestBuildspecInvalidFailsDownloadSource(t *testing.T) {
	for _, tt := range []struct{ name, spec, inline, want string }{
		{"missing", "", "", "buildspec.yml is not in the source"},
		{"invalid", "version: 0.2\nphases:\n  bild:\n    commands: [true]\n", "", "bild"},
		{"inline invalid", "", "version: 9\n", "version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"x.txt": "x"}
			if tt.spec != "" {
				files["buildspec.yml"] = tt.spec
			}
			srv := newBuildServer(t, gitTar(t, files), nil)
			b, out := newTestBuilds(t, t.TempDir(), srv)
			id := "web:33333333-2222-4333-8444-555555555555"
			run := testRun(id, srv)
			run.Source.BuildspecInline = tt.inline
			startRun(t, b, run)
			waitEnded(t, b, id)
			r := readBox(t, out, id)
			if ph := r.phases(); !slices.Equal(ph, []string{"DOWNLOAD_SOURCE started", "DOWNLOAD_SOURCE failed CLIENT_ERROR", "BuildEnd failed FAILED"}) {
				t.Fatalf("events %v\n%s", ph, r.text())
			}
			msg := r.events[1].Message
			if !strings.Contains(msg, "YAML_FILE_ERROR") || !strings.Contains(msg, tt.want) || !strings.Contains(r.text(), "YAML_FILE_ERROR") {
				t.Fatalf("message %q\nlog:\n%s", msg, r.text())
			}
		})
	}
}

// hostileTar writes entries with archive/tar (git archive never makes these).
func hostileTar(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len("pwned"))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("pwned"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUntarRefusesHostileEntries: entries that would leave the workspace, devices and tars over
// the bounds are refused with a message naming the entry, and nothing is written outside.
func TestUntarRefusesHostileEntries(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg} }
	link := func(name, to string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: to, Mode: 0o777}
	}
	for _, tt := range []struct {
		name string
		hdrs []*tar.Header
		lim  SourceLimits
		want string
	}{
		{"dotdot", []*tar.Header{reg("../outside.txt")}, SourceLimits{}, `".." element`},
		{"dotdot inside", []*tar.Header{reg("a/../../outside.txt")}, SourceLimits{}, `".." element`},
		{"absolute", []*tar.Header{reg("/tmp/outside.txt")}, SourceLimits{}, "absolute name"},
		{"symlink out", []*tar.Header{link("l", "../..")}, SourceLimits{}, "leaves the workspace"},
		{"symlink absolute", []*tar.Header{link("l", "/etc")}, SourceLimits{}, "is absolute"},
		{"write through symlink", []*tar.Header{link("d", "."), reg("d/inside.txt"), link("d/x", "../inside.txt"), reg("d/x/../../outside.txt")}, SourceLimits{}, `".." element`},
		{"symlink chain", []*tar.Header{{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, link("a/l", ".."), link("b", "a/l/..")}, SourceLimits{}, "leaves the workspace"},
		{"device", []*tar.Header{{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, SourceLimits{}, "character device"},
		{"fifo", []*tar.Header{{Name: "f", Typeflag: tar.TypeFifo}}, SourceLimits{}, "FIFO"},
		{"hard link out", []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}, SourceLimits{}, "hard link"},
		{"too many entries", []*tar.Header{reg("a"), reg("b"), reg("c")}, SourceLimits{MaxEntries: 2}, "more than 2 entries"},
		{"too big", []*tar.Header{reg("a"), reg("b")}, SourceLimits{MaxBytes: 7}, "more than 7 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			ws := filepath.Join(parent, "ws", "src")
			if err := os.MkdirAll(ws, 0o755); err != nil {
				t.Fatal(err)
			}
			err := Untar(bytes.NewReader(hostileTar(t, tt.hdrs...)), ws, tt.lim)
			var se *SourceError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a SourceError with %q", err, tt.want)
			}
			for _, p := range []string{filepath.Join(parent, "outside.txt"), filepath.Join(parent, "ws", "outside.txt")} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Fatalf("%s was written", p)
				}
			}
		})
	}
}

// TestUntarKeepsAGitArchive: a real git archive unpacks whole, links inside kept, modes kept.
func TestUntarKeepsAGitArchive(t *testing.T) {
	tarball := gitTar(t, map[string]string{"a/b/c.txt": "c", "run.sh": "#!/bin/sh\n"})
	ws := t.TempDir()
	if err := Untar(bytes.NewReader(tarball), ws, SourceLimits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "a", "b", "c.txt")); err != nil || string(b) != "c" {
		t.Fatalf("a/b/c.txt: %q %v", b, err)
	}
	in := hostileTar(t, &tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o755},
		&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "d/f"}, &tar.Header{Name: "d/up", Typeflag: tar.TypeSymlink, Linkname: "../l"})
	ws2 := t.TempDir()
	if err := Untar(bytes.NewReader(in), ws2, SourceLimits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ws2, "d", "up")); err != nil || string(b) != "pwned" {
		t.Fatalf("link inside: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(ws2, "d", "f")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Fatalf("mode of d/f: %v %v", st, err)
	}
}

// TestHostileSourceFailsTheBuild: a tar with an entry leaving the workspace fails the build in
// DOWNLOAD_SOURCE with CLIENT_ERROR and a message naming the entry; no command runs.
func TestHostileSourceFailsTheBuild(t *testing.T) {
	parent := t.TempDir()
	srv := newBuildServer(t, hostileTar(t, &tar.Header{Name: "buildspec.yml", Typeflag: tar.TypeReg}, &tar.Header{Name: "../../../escaped.txt", Typeflag: tar.TypeReg}), nil)
	b, out := newTestBuilds(t, filepath.Join(parent, "data"), srv)
	id := "web:44444444-2222-4333-8444-555555555555"
	startRun(t, b, testRun(id, srv))
	waitEnded(t, b, id)
	r := readBox(t, out, id)
	if ph := r.phases(); !slices.Equal(ph, []string{"DOWNLOAD_SOURCE started", "DOWNLOAD_SOURCE failed CLIENT_ERROR", "BuildEnd failed FAILED"}) {
		t.Fatalf("events %v", ph)
	}
	if msg := r.events[1].Message; !strings.Contains(msg, `"../../../escaped.txt"`) || !strings.Contains(msg, "inside the workspace") {
		t.Fatalf("message %q", msg)
	}
	filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // a check, not a walk that can fail the test
		if d != nil && d.Name() == "escaped.txt" {
			t.Errorf("%s was written", p)
		}
		return nil
	})
}

// TestRecoverReportsABuildTheAgentLeft: a build running when its agent died (its marker and
// outbox on disk, its process gone) is reported ended FAILED on the next start, its open phase
// failed first, with MessageAgentRestarted; it is then done, and not run again when pushed.
func TestRecoverReportsABuildTheAgentLeft(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 & echo $! > " + pidFile + "; wait\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	first := t.TempDir()
	b, _ := newTestBuilds(t, first, srv)
	id := "web:55555555-2222-4333-8444-555555555555"
	run := testRun(id, srv)
	startRun(t, b, run)
	var pid int
	testutil.Eventually(t, 30*time.Second, func() error {
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err
	})
	// The agent's data dir as a kill -9 leaves it: copy it while the build runs.
	second := t.TempDir()
	if err := exec.Command("cp", "-a", first+"/.", second).Run(); err != nil {
		t.Fatal(err)
	}
	defer b.Stop("test over")
	b2, out2 := newTestBuilds(t, second, srv)
	if got := b2.Recover(); !slices.Equal(got, []string{id}) {
		t.Fatalf("recovered %v", got)
	}
	if runtime.GOOS == "linux" {
		// The build's processes, left running by the killed agent, are killed.
		testutil.Eventually(t, 10*time.Second, func() error {
			if processAlive(pid) {
				return fmt.Errorf("the build's sleep (pid %d) still runs", pid)
			}
			return nil
		})
	}
	r := readBox(t, out2, id)
	ph := r.phases()
	if len(ph) < 2 || ph[len(ph)-2] != "BUILD failed FAILED" || ph[len(ph)-1] != "BuildEnd failed FAILED" {
		t.Fatalf("events %v", ph)
	}
	if end := r.end(t); end.Message != MessageAgentRestarted || end.Build == nil || end.Build.Status != "FAILED" {
		t.Fatalf("end %+v", end)
	}
	if st, done := b2.Done(id); !done || st != "FAILED" {
		t.Fatalf("done %q %v", st, done)
	}
	startRun(t, b2, run)
	if len(b2.Running()) != 0 {
		t.Fatal("a recovered build was run again")
	}
	if got := b2.Recover(); len(got) != 0 {
		t.Fatalf("recovered twice: %v", got)
	}
}

// TestBuildKeysAreFileNames: a build's box key has no ':' and is one to one.
func TestBuildKeysAreFileNames(t *testing.T) {
	if got := buildKey("web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a"); got != "build~web~0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a" {
		t.Fatalf("key %q", got)
	}
	if boxKey(agentproto.KindDeploy, "d-1") != "d-1" {
		t.Fatal("a deployment's key changed")
	}
}

// TestPeerAdvertisesDocker: the build worker adds the docker capability when the engine
// answered, and nothing when it did not.
func TestPeerAdvertisesDocker(t *testing.T) {
	with := Peer([]Worker{NewBuilds(BuildsConfig{Docker: true})})
	without := Peer([]Worker{NewBuilds(BuildsConfig{})})
	if !slices.Equal(with.Capabilities, []string{"build", "docker"}) || !slices.Equal(without.Capabilities, []string{"build"}) {
		t.Fatalf("with %v, without %v", with.Capabilities, without.Capabilities)
	}
}

// TestNoSourceBuildAndOneAtATime: a build without source runs its inline buildspec in an empty
// workspace; a build pushed while one runs waits and starts when it is over (one build at a
// time); a waiting build cancelled is dropped without a report.
func TestNoSourceBuildAndOneAtATime(t *testing.T) {
	srv := newBuildServer(t, nil, nil)
	b, out := newTestBuilds(t, t.TempDir(), srv)
	noSource := agentproto.BuildSource{Type: "NO_SOURCE", BuildspecInline: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo files=$(ls | wc -l) at $(date +%s%N)\n      - sleep 1\n"}
	first := testRun("web:88888888-2222-4333-8444-555555555555", srv)
	second := testRun("web:99999999-2222-4333-8444-555555555555", srv)
	dropped := testRun("web:12121212-2222-4333-8444-555555555555", srv)
	first.Source, second.Source, dropped.Source = noSource, noSource, noSource
	startRun(t, b, first)
	startRun(t, b, second)
	startRun(t, b, second) // pushed again: waits once
	startRun(t, b, dropped)
	b.Cancel(dropped.DeploymentID, "stopped while queued")
	if got := b.Running(); !slices.Equal(got, []string{first.DeploymentID}) {
		t.Fatalf("running %v, want the first build only", got)
	}
	waitEnded(t, b, first.DeploymentID)
	waitEnded(t, b, second.DeploymentID)
	r1, r2 := readBox(t, out, first.DeploymentID), readBox(t, out, second.DeploymentID)
	if end := r1.end(t); end.Result != "SUCCEEDED" || !strings.Contains(r1.text(), "BUILD| files=0") {
		t.Fatalf("end %+v\n%s", end, r1.text())
	}
	if end := r2.end(t); end.Result != "SUCCEEDED" {
		t.Fatalf("second build %+v", end)
	}
	if r2.events[0].Time.Before(r1.end(t).Time) {
		t.Fatalf("the second build started (%s) before the first ended (%s)", r2.events[0].Time, r1.end(t).Time)
	}
	if n := strings.Count(r2.text(), "Entering phase DOWNLOAD_SOURCE"); n != 1 {
		t.Fatalf("the second build ran %d times", n)
	}
	if _, ok := out.Pending(map[string]uint64{})[buildKey(dropped.DeploymentID)]; ok {
		t.Fatal("the cancelled waiting build reported something")
	}
	if _, done := b.Done(dropped.DeploymentID); done {
		t.Fatal("the cancelled waiting build ran")
	}
}

// TestBuildTimeoutEndsTimedOut: a build past its timeout has its processes killed; the running
// phase and the build end TIMED_OUT.
func TestBuildTimeoutEndsTimedOut(t *testing.T) {
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	b, out := newTestBuilds(t, t.TempDir(), srv)
	b.minute = 100 * time.Millisecond // TimeoutMinutes 10: one second
	id := "web:efefefef-2222-4333-8444-555555555555"
	startRun(t, b, testRun(id, srv))
	waitEnded(t, b, id)
	r := readBox(t, out, id)
	if ph := r.phases(); !slices.Contains(ph, "BUILD failed TIMED_OUT") || slices.Contains(ph, "UPLOAD_ARTIFACTS started") {
		t.Fatalf("events %v", ph)
	}
	if end := r.end(t); end.Result != "TIMED_OUT" || end.Build.Status != "TIMED_OUT" {
		t.Fatalf("end %+v", end)
	}
}

// processAlive reports whether pid is a process that has not ended (a zombie has).
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	st := string(stat)
	i := strings.LastIndexByte(st, ')')
	return i < 0 || i+2 >= len(st) || st[i+2] != 'Z'
}
