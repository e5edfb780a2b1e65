package gitexec

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// This file is the experiment behind DESIGN.md's push path, run against the installed git:
// a smart-HTTP front built from gitproto and this package (as the server will have), a bare
// repository from InitBare with a pre-receive shell script and a proc-receive hook that is this
// test binary (main_test.go), and the real git client pushing over HTTP.

// smartHTTP is a minimal smart-HTTP git server over one directory of bare repositories. It
// reads each receive-pack request's head itself (as the server will, to authorize refs) and
// replays it into git.
type smartHTTP struct {
	t     *testing.T
	g     *Git
	repos string
	env   func() []string

	mu    sync.Mutex
	heads []*gitproto.ReceiveHead
}

func (s *smartHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, err := gitproto.ParseHTTPPath(r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	proto, err := gitproto.ParseGitProtocol(r.Header.Get("Git-Protocol"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := ServiceRequest{Dir: filepath.Join(s.repos, route.Repo+".git"), Protocol: proto, Stdout: w, Env: s.env()}
	ctx := r.Context()
	if route.Advertise {
		w.Header().Set("Content-Type", "application/x-"+string(route.Service)+"-advertisement")
		w.Header().Set("Cache-Control", "no-cache")
		if route.Service != gitproto.UploadPack || !strings.Contains(proto, "version=2") {
			pw := gitproto.NewWriter(w)
			_ = pw.Line("# service=" + string(route.Service))
			_ = pw.Flush()
		}
		req.Advertise = true
	} else {
		_ = http.NewResponseController(w).EnableFullDuplex()
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		if route.Service == gitproto.ReceivePack {
			head, err := gitproto.ReadReceiveHead(body, gitproto.ReceiveLimits{MaxCommands: 10})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.mu.Lock()
			s.heads = append(s.heads, head)
			s.mu.Unlock()
			body = head.Body(body)
		}
		w.Header().Set("Content-Type", "application/x-"+string(route.Service)+"-result")
		req.Stdin = body
	}
	var err2 error
	if route.Service == gitproto.UploadPack {
		err2 = s.g.UploadPack(ctx, req)
	} else {
		err2 = s.g.ReceivePack(ctx, req)
	}
	if err2 != nil {
		s.t.Logf("%s %s: %v", r.Method, r.URL, err2)
	}
}

func (s *smartHTTP) lastHead() *gitproto.ReceiveHead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heads[len(s.heads)-1]
}

// pushFixture is one server repository and one client clone.
type pushFixture struct {
	t      *testing.T
	g      *Git
	srv    *smartHTTP
	url    string
	bare   string
	client string
	record string // where the hooks write what they saw
	mu     sync.Mutex
	mode   string
}

func newPushFixture(t *testing.T) *pushFixture {
	g := newGit(t)
	if _, err := exec.LookPath("git-remote-http"); err != nil {
		if _, err := os.Stat(filepath.Join(execPath(t), "git-remote-http")); err != nil {
			t.Skip("git has no HTTP transport (git-remote-http)")
		}
	}
	f := &pushFixture{t: t, g: g, record: t.TempDir()}
	repos, hooks := t.TempDir(), t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(hooks, "pre-receive"), `#!/bin/sh
# Lists the quarantine's packs (the objects are still there) and the commands.
ls "$GIT_QUARANTINE_PATH/pack" > "$SLIPWAY_TEST_DIR/quarantine.txt" 2>&1
echo "$GIT_QUARANTINE_PATH" > "$SLIPWAY_TEST_DIR/quarantine-path.txt"
rm -rf "$SLIPWAY_TEST_DIR/packs" && mkdir "$SLIPWAY_TEST_DIR/packs"
cp "$GIT_QUARANTINE_PATH"/pack/*.pack "$SLIPWAY_TEST_DIR/packs/" 2>/dev/null
cat > "$SLIPWAY_TEST_DIR/pre-receive.txt"
exit 0
`)
	writeScript(t, filepath.Join(hooks, "proc-receive"), "#!/bin/sh\nSLIPWAY_TEST_HOOK=proc-receive exec '"+self+"'\n")
	f.bare = filepath.Join(repos, "app.git")
	if err := g.InitBare(context.Background(), f.bare, "main", hooks); err != nil {
		t.Fatal(err)
	}
	f.srv = &smartHTTP{t: t, g: g, repos: repos, env: func() []string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return []string{"SLIPWAY_TEST_DIR=" + f.record, "SLIPWAY_TEST_MODE=" + f.mode}
	}}
	hs := httptest.NewServer(f.srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL + "/git/app.git"

	f.client = filepath.Join(t.TempDir(), "client")
	f.git("init", "-q", "-b", "main", f.client)
	f.git("-C", f.client, "commit", "-q", "--allow-empty", "-m", "one")
	if err := os.WriteFile(filepath.Join(f.client, "f.txt"), []byte(strings.Repeat("content\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.git("-C", f.client, "add", "f.txt")
	f.git("-C", f.client, "commit", "-q", "-m", "two")
	f.git("-C", f.client, "branch", "a")
	f.git("-C", f.client, "branch", "b")
	return f
}

func execPath(t *testing.T) string {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skip("git --exec-path:", err)
	}
	return strings.TrimSpace(string(out))
}

func writeScript(t *testing.T, path, body string) {
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// git runs the client git in a clean environment and fails the test if it fails.
func (f *pushFixture) git(args ...string) string {
	out, err := f.try(args...)
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

func (f *pushFixture) try(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + f.g.home, "PATH=/usr/bin:/bin", "LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pushRefs runs git push [flags] URL refs... from the client, with the hook in mode.
func (f *pushFixture) pushRefs(mode string, flags []string, refs ...string) (string, error) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
	for _, name := range []string{"quarantine.txt", "proc-receive.json", "pre-receive.txt"} {
		_ = os.Remove(filepath.Join(f.record, name))
	}
	args := append([]string{"-C", f.client, "push"}, flags...)
	args = append(args, f.url)
	return f.try(append(args, refs...)...)
}

// serverRefs is the bare repository's refs, "REF OID" per line.
func (f *pushFixture) serverRefs() string {
	out, err := f.g.Output(context.Background(), f.bare, "for-each-ref", "--format=%(refname) %(objectname)")
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func (f *pushFixture) clientRev(ref string) string {
	return strings.TrimSpace(f.git("-C", f.client, "rev-parse", ref))
}

func (f *pushFixture) hookRecord() hookRecord {
	b, err := os.ReadFile(filepath.Join(f.record, "proc-receive.json"))
	if err != nil {
		f.t.Fatalf("the proc-receive hook did not run: %v", err)
	}
	var rec hookRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// quarantinePacks is the list of files pre-receive saw in the quarantine's pack directory.
func (f *pushFixture) quarantinePacks() (packs []string, all string) {
	b, err := os.ReadFile(filepath.Join(f.record, "quarantine.txt"))
	if err != nil {
		f.t.Fatalf("the pre-receive hook did not run: %v", err)
	}
	for _, name := range strings.Fields(string(b)) {
		if strings.HasSuffix(name, ".pack") {
			packs = append(packs, name)
		}
	}
	return packs, string(b)
}

func TestPushRejectedByProcReceive(t *testing.T) {
	f := newPushFixture(t)
	// Over smart HTTP the client runs git-remote-http, a remote helper, and git's helper
	// transport turns the reasons it knows ("fetch first", "non-fast forward", "needs force",
	// "already exists", "stale info") into its own "[rejected]" status, with the hint to
	// pull first, exactly as for a stale push to any git server.
	out, err := f.pushRefs("ng", nil, "main")
	if err == nil {
		t.Fatalf("push succeeded:\n%s", out)
	}
	if !strings.Contains(out, "! [rejected]        main -> main (fetch first)") || !strings.Contains(out, "hint: Updates were rejected because the remote contains work") {
		t.Fatalf("client output:\n%s", out)
	}
	if refs := f.serverRefs(); refs != "" {
		t.Fatalf("a rejected push moved refs: %s", refs)
	}
	// pre-receive saw the pushed objects as exactly one pack in the quarantine.
	if packs, all := f.quarantinePacks(); len(packs) != 1 {
		t.Fatalf("quarantine holds %d packs: %q", len(packs), all)
	}
	// The front read the same command as the hook got, from the head of the request.
	head := f.srv.lastHead()
	rec := f.hookRecord()
	want := gitproto.Command{Old: gitproto.ZeroID(40), New: f.clientRev("main"), Ref: "refs/heads/main"}
	if len(head.Commands) != 1 || head.Commands[0] != want || len(rec.Commands) != 1 || rec.Commands[0] != want {
		t.Fatalf("front read %+v, hook got %+v, want %+v", head.Commands, rec.Commands, want)
	}
	if !head.Capabilities.Has("report-status") && !head.Capabilities.Has("report-status-v2") {
		t.Fatalf("capabilities %v", head.Capabilities)
	}
	// Design finding: by the time proc-receive runs, receive-pack has already moved the
	// objects out of the quarantine into the repository, rejected or not.
	if rec.Quarantine != "" {
		t.Fatalf("proc-receive ran with GIT_QUARANTINE_PATH=%q", rec.Quarantine)
	}
	if _, err := f.g.Output(context.Background(), f.bare, "cat-file", "-e", want.New); err != nil {
		t.Fatalf("the rejected push's commit is not in the repository: %v", err)
	}
}

func TestPushRejectedWithOwnReason(t *testing.T) {
	f := newPushFixture(t)
	// Any other reason reaches the user as git's "[remote rejected]" with the reason.
	out, err := f.pushRefs("ng-quorum", nil, "main")
	if err == nil || !strings.Contains(out, "! [remote rejected] main -> main ("+quorumReason+")") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if refs := f.serverRefs(); refs != "" {
		t.Fatalf("a rejected push moved refs: %s", refs)
	}
}

// TestPushRejectedOverDirectTransport pushes to the bare repository by path, the transport
// SSH also uses (no remote helper): there every rejection, "fetch first" included, is
// git's "! [remote rejected] REF (REASON)". The hooks get their settings from the client's
// environment, which a local receive-pack inherits.
func TestPushRejectedOverDirectTransport(t *testing.T) {
	f := newPushFixture(t)
	cmd := exec.Command("git", "-C", f.client, "push", f.bare, "main")
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + f.g.home, "PATH=/usr/bin:/bin", "LC_ALL=C",
		"SLIPWAY_TEST_DIR=" + f.record, "SLIPWAY_TEST_MODE=ng"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "! [remote rejected] main -> main (fetch first)") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if refs := f.serverRefs(); refs != "" {
		t.Fatalf("a rejected push moved refs: %s", refs)
	}
}

func TestPushAcceptedMovesRefOnlyWhenHookDoes(t *testing.T) {
	f := newPushFixture(t)
	main := f.clientRev("main")

	out, err := f.pushRefs("ok", nil, "main")
	if err != nil || !strings.Contains(out, "* [new branch]      main -> main") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if refs := f.serverRefs(); refs != "" {
		t.Fatalf("receive-pack moved a ref itself: %s", refs)
	}
	if packs, all := f.quarantinePacks(); len(packs) != 1 {
		t.Fatalf("quarantine holds %d packs: %q", len(packs), all)
	}

	out, err = f.pushRefs("move", nil, "main")
	if err != nil || !strings.Contains(out, "main -> main") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if refs := f.serverRefs(); refs != "refs/heads/main "+main {
		t.Fatalf("server refs %q, want main at %s", refs, main)
	}

	// An update that the client sends as a thin pack (deltas against objects the server
	// has) is completed by index-pack --fix-thin: the pack in quarantine indexes on its own,
	// in an empty repository, so a replica can index the stored blob.
	if err := os.WriteFile(filepath.Join(f.client, "f.txt"), []byte(strings.Repeat("content\n", 1000)+"one more line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.git("-C", f.client, "commit", "-q", "-am", "three")
	out, err = f.pushRefs("ok", []string{"--thin"}, "main")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	packs, _ := f.quarantinePacks()
	if len(packs) != 1 {
		t.Fatalf("quarantine holds %d packs", len(packs))
	}
	empty := filepath.Join(t.TempDir(), "empty.git")
	f.git("init", "-q", "--bare", empty)
	pack, err := os.Open(filepath.Join(f.record, "packs", packs[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer pack.Close()
	if err := f.g.Run(context.Background(), Command{Args: []string{"index-pack", "--stdin"}, GitDir: empty, Stdin: pack}); err != nil {
		t.Fatalf("the quarantined pack does not index alone: %v", err)
	}
	f.git("-C", f.client, "reset", "-q", "--hard", "HEAD~1")

	// A new branch at a commit the server has: the client sends an empty pack, which
	// receive-pack unpacks (0 < unpackLimit) instead of keeping: no pack in quarantine.
	out, err = f.pushRefs("move", nil, "main:refs/heads/c")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if packs, all := f.quarantinePacks(); len(packs) != 0 {
		t.Fatalf("an empty push left packs in quarantine: %q", all)
	}
	// Deleting: no pack at all, and no quarantine.
	out, err = f.pushRefs("move", nil, ":refs/heads/c")
	if err != nil || !strings.Contains(out, "[deleted]") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.record, "quarantine-path.txt")); strings.TrimSpace(string(b)) != "" {
		t.Fatalf("a delete-only push had a quarantine %q", b)
	}
	if refs := f.serverRefs(); refs != "refs/heads/main "+main {
		t.Fatalf("server refs %q after deleting c", refs)
	}

	// A fetch through upload-pack sees what the hook moved (protocol v2 and v0).
	for _, proto := range []string{"2", "0"} {
		clone := filepath.Join(t.TempDir(), "clone")
		f.git("-c", "protocol.version="+proto, "clone", "-q", f.url, clone)
		if got := strings.TrimSpace(f.git("-C", clone, "rev-parse", "HEAD")); got != main {
			t.Fatalf("protocol v%s clone has HEAD %s, want %s", proto, got, main)
		}
	}
}

func TestAtomicPushWithOneRejectedRef(t *testing.T) {
	f := newPushFixture(t)
	out, err := f.pushRefs("ng-b", []string{"--atomic", "-o", "ci.skip"}, "a", "b")
	if err == nil {
		t.Fatalf("push succeeded:\n%s", out)
	}
	for _, want := range []string{"! [remote rejected] a -> a (atomic push failure)", "! [rejected]        b -> b (fetch first)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("client output lacks %q:\n%s", want, out)
		}
	}
	if refs := f.serverRefs(); refs != "" {
		t.Fatalf("an atomic push with a rejected ref moved refs: %s", refs)
	}
	rec := f.hookRecord()
	if !rec.Atomic || len(rec.Commands) != 2 || strings.Join(rec.PushOptions, ",") != "ci.skip" {
		t.Fatalf("hook saw %+v", rec)
	}
	if head := f.srv.lastHead(); !head.Atomic() || strings.Join(head.PushOptions, ",") != "ci.skip" {
		t.Fatalf("front read %+v", head)
	}
}

// TestGitLeavesAtomicityToProcReceive pins what git 2.39 does when the hook accepts one ref
// of an atomic push and rejects another: it reports the accepted one as pushed. The hook
// (gitproto.ProcReceive.Respond) has to enforce --atomic; this test fails if git ever starts
// doing it itself, which would make that rule redundant but harmless.
func TestGitLeavesAtomicityToProcReceive(t *testing.T) {
	f := newPushFixture(t)
	out, err := f.pushRefs("raw-ng-b", []string{"--atomic"}, "a", "b")
	if err == nil {
		t.Fatalf("push succeeded:\n%s", out)
	}
	if !strings.Contains(out, "* [new branch]      a -> a") || !strings.Contains(out, "b -> b (fetch first)") {
		t.Fatalf("client output:\n%s", out)
	}
}

// TestGitLeavesRefRulesToProcReceive pins that receive-pack's own ref rules do not apply to
// refs it hands to proc-receive: with receive.denyNonFastForwards and receive.denyDeletes
// set, a forced non-fast-forward update and a delete still reach the hook and are reported
// as done when it answers ok. Slipway has to check such rules itself.
func TestGitLeavesRefRulesToProcReceive(t *testing.T) {
	f := newPushFixture(t)
	if out, err := f.pushRefs("move", nil, "main"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	for _, kv := range [][2]string{{"receive.denyNonFastForwards", "true"}, {"receive.denyDeletes", "true"}} {
		if err := f.g.Run(context.Background(), Command{Args: []string{"config", kv[0], kv[1]}, GitDir: f.bare}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.pushRefs("ok", []string{"--force"}, "main~1:main")
	if err != nil || !strings.Contains(out, "(forced update)") {
		t.Fatalf("forced push: %v\n%s", err, out)
	}
	if rec := f.hookRecord(); len(rec.Commands) != 1 || rec.Commands[0].New != f.clientRev("main~1") {
		t.Fatalf("hook saw %+v", rec)
	}
	out, err = f.pushRefs("ok", nil, ":main")
	if err != nil || !strings.Contains(out, "[deleted]") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
}

// TestPartialClone clones with --filter=blob:none over protocol v2 and checks out, which
// makes the client fetch the missing blobs lazily: RepoConfig allows both.
func TestPartialClone(t *testing.T) {
	f := newPushFixture(t)
	if out, err := f.pushRefs("move", nil, "main"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	clone := filepath.Join(t.TempDir(), "partial")
	f.git("-c", "protocol.version=2", "clone", "-q", "--filter=blob:none", "--no-checkout", f.url, clone)
	missing := f.git("-C", clone, "rev-list", "--objects", "--missing=print", "HEAD")
	if !strings.Contains(missing, "\n?") && !strings.HasPrefix(missing, "?") {
		t.Fatalf("the partial clone has every object:\n%s", missing)
	}
	f.git("-C", clone, "checkout", "-q", "main")
	b, err := os.ReadFile(filepath.Join(clone, "f.txt"))
	if err != nil || string(b) != strings.Repeat("content\n", 1000) {
		t.Fatalf("f.txt after a lazy fetch: %v, %d bytes", err, len(b))
	}
}
