package transport_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// fakeBackend is the git service as the transport sees it, over local bare repositories:
// StorePack copies the pack aside, Push moves refs by compare-and-swap with git update-ref.
type fakeBackend struct {
	g     *gitexec.Git
	repos map[string]transport.Repo
	packs string

	mu     sync.Mutex
	pushes []transport.Push
	// beforePush, when set, runs before a push's refs are compared (to move a ref under it).
	beforePush func(p transport.Push)
	// storeErr and pushErr, when set, are what StorePack and Push fail with.
	storeErr, pushErr error
	// noLeader makes Repo behave as on a server cut off from its peers: its read barrier waits
	// until ctx ends, then fails with fault.NoLeader. A ctx without a deadline is a failure of
	// its own (the wait would hold git's request forever).
	noLeader bool
}

// failWith makes StorePack and Push fail with the given errors (nil: work).
func (b *fakeBackend) failWith(store, push error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.storeErr, b.pushErr = store, push
}

func (b *fakeBackend) Repo(ctx context.Context, name string) (transport.Repo, error) {
	b.mu.Lock()
	noLeader := b.noLeader
	b.mu.Unlock()
	if noLeader {
		if _, ok := ctx.Deadline(); !ok {
			return transport.Repo{}, fault.New(fault.Internal, "Repo's wait for the cluster has no deadline")
		}
		return transport.Repo{}, fault.New(fault.NoLeader, "no leader confirmed the read in time")
	}
	r, ok := b.repos[name]
	if !ok {
		return r, fault.New(fault.NotFound, "no repository %q", name)
	}
	return r, nil
}

func (b *fakeBackend) StorePack(_ context.Context, _ transport.Repo, path string) (string, error) {
	b.mu.Lock()
	storeErr := b.storeErr
	b.mu.Unlock()
	if storeErr != nil {
		return "", storeErr
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, os.WriteFile(filepath.Join(b.packs, sha+".pack"), data, 0o600)
}

func (b *fakeBackend) Push(ctx context.Context, p transport.Push) ([]transport.RefResult, error) {
	b.mu.Lock()
	b.pushes = append(b.pushes, p)
	before, pushErr := b.beforePush, b.pushErr
	b.mu.Unlock()
	if pushErr != nil {
		return nil, pushErr
	}
	if before != nil {
		before(p)
	}
	zero := gitproto.ZeroID(40)
	current := func(ref string) string {
		out, err := b.g.Output(ctx, p.Repo.Dir, "rev-parse", "--verify", "-q", ref)
		if err != nil {
			return zero
		}
		return strings.TrimSpace(string(out))
	}
	res := make([]transport.RefResult, len(p.Updates))
	failed := false
	for i, u := range p.Updates {
		res[i] = transport.RefResult{Ref: u.Ref, OK: current(u.Ref) == u.Old}
		if !res[i].OK {
			res[i].Reason, failed = "fetch first", true
		}
	}
	for i, u := range p.Updates {
		switch {
		case p.Atomic && failed:
			if res[i].OK {
				res[i] = transport.RefResult{Ref: u.Ref, Reason: gitproto.AtomicFailure}
			}
		case !res[i].OK, u.New == zero && u.Old == zero:
		case u.New == zero:
			if err := b.g.Run(ctx, gitexec.Command{Args: []string{"update-ref", "-d", u.Ref, u.Old}, GitDir: p.Repo.Dir}); err != nil {
				return nil, err
			}
		default:
			if err := b.g.Run(ctx, gitexec.Command{Args: []string{"update-ref", u.Ref, u.New, u.Old}, GitDir: p.Repo.Dir}); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func (b *fakeBackend) lastPush(t *testing.T) transport.Push {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pushes) == 0 {
		t.Fatal("the backend saw no push")
	}
	return b.pushes[len(b.pushes)-1]
}

// recorder is an api.Auditor keeping the records.
type recorder struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (r *recorder) Record(rec audit.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (*recorder) Seen(audit.Principal, string, string, string, string, time.Time) {}

func (r *recorder) find(action string, outcome audit.Outcome, principal string) bool {
	return r.count(action, outcome, principal) > 0
}

func (r *recorder) count(action string, outcome audit.Outcome, principal string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Action == action && rec.Outcome == outcome && rec.Principal.Name == principal {
			n++
		}
	}
	return n
}

// testPolicies gives the test's tokens their policies by name: "reader" may pull, "feature"
// may pull and push to refs/heads/feature/* only; service tokens keep their built-in ones.
// An SSH key's user has the policies of its name ("admin": AdministratorAccess).
type testPolicies struct{ byName map[string][]*policy.Policy }

func (p testPolicies) GrantsFor(id *auth.Identity) api.Grants {
	if id.Token.Type == pub.TokenTypeUser { // an SSH key's owner: the user of that name
		return api.Grants{Principal: audit.Principal{Kind: audit.KindUser, ID: id.Token.User, Name: id.Token.User}, Policies: p.byName[id.Token.User]}
	}
	if pol, ok := p.byName[id.Token.Name]; ok {
		return api.Grants{Principal: api.TokenPrincipal(id.Token), Policies: pol}
	}
	return api.TokenTypePolicies{}.GrantsFor(id)
}

func mustPolicy(t *testing.T, name, doc string) *policy.Policy {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile(name, d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is a one-node cluster's API serving the transport's routes over a fake backend
// with one empty repository "app", and a client home for the git CLI.
type fixture struct {
	t       *testing.T
	g       *gitexec.Git
	b       *fakeBackend
	audit   *recorder
	logs    *syncBuffer // the transport's log
	base    string      // http://127.0.0.1:PORT
	bare    string
	home    string
	secrets map[string]string // token name → secret ("admin" is the management token)
	tr      *transport.Server
	// sshAddr is where the transport serves SSH (ServeSSH, startSSH); url gives ssh:// URLs
	// once it is set, and the client's ssh uses the key named by the URL's user.
	sshAddr string
	sshDir  string // the client's keys (one per user name) and known_hosts
}

func newFixture(t *testing.T, tweak ...func(*transport.Config)) *fixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skip("git --exec-path:", err)
	}
	if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "git-remote-http")); err != nil {
		t.Skip("git has no HTTP transport (git-remote-http)")
	}
	ctx := context.Background()
	g, err := gitexec.New(ctx, gitexec.Config{Home: t.TempDir()})
	if err != nil {
		t.Skip("git:", err)
	}
	// A unix socket path must be short: not under t.TempDir's long name.
	sockDir, err := os.MkdirTemp("", "gt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	hooks, repos := t.TempDir(), t.TempDir()
	bare := filepath.Join(repos, "app.git")
	if err := g.InitBare(ctx, bare, "main", hooks); err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{g: g, packs: t.TempDir(), repos: map[string]transport.Repo{"app": {ID: "r1", Name: "app", Dir: bare}}}

	c := testutil.NewCluster(t, 1)
	cl := c.Client(0)
	secrets := map[string]string{"admin": testutil.ManagementToken}
	for _, name := range []string{"reader", "feature"} {
		tk, err := cl.TokenCreate(ctx, name, pub.TokenTypeClient, 0)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = tk.SecretID
	}
	admin, _ := policy.Managed(policy.AdministratorAccess)
	pols := testPolicies{byName: map[string][]*policy.Policy{
		"admin":  {admin},
		"reader": {mustPolicy(t, "pull", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "*"}]}`)},
		"feature": {mustPolicy(t, "feature", `{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "*"},
			{"Effect": "Allow", "Action": "codecommit:GitPush", "Resource": "srn:slipway:codecommit:repo/app",
			 "Condition": {"StringLike": {"slipway:ReferenceName": "refs/heads/feature/*"}}}]}`)},
	}}
	rec := &recorder{}
	var h *api.Server
	logs := &syncBuffer{}
	cfg := transport.Config{Git: g, Kit: func() *api.Kit { return h.Kit() }, Dir: sockDir, HooksDir: hooks,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	for _, tw := range tweak {
		tw(&cfg)
	}
	tr := transport.New(cfg, b)
	node := c.Server(0).Node()
	h = api.New(api.Config{Cluster: node, State: node.State(), Events: node.FSM().Events(), Routes: tr.Routes(),
		Policies: pols, Audit: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &fixture{t: t, g: g, b: b, audit: rec, logs: logs, base: hs.URL, bare: bare, home: t.TempDir(), secrets: secrets, tr: tr}
}

// url is the repository's URL with who's secret as the basic password.
func (f *fixture) url(who string) string {
	if f.sshAddr != "" {
		return "ssh://" + who + "@" + f.sshAddr + "/app.git"
	}
	u, _ := url.Parse(f.base + "/git/app.git")
	u.User = url.UserPassword("git", f.secrets[who])
	return u.String()
}

// try runs the client git in a clean environment.
func (f *fixture) try(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + f.home, "PATH=/usr/bin:/bin", "LC_ALL=C",
		"GIT_SSH_COMMAND=" + filepath.Join(f.sshDir, "ssh"), "GIT_SSH_VARIANT=ssh",
		"GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (f *fixture) git(dir string, args ...string) string {
	f.t.Helper()
	out, err := f.try(dir, args...)
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// serverRef is the bare copy's value of ref ("" when it does not exist).
func (f *fixture) serverRef(ref string) string {
	f.t.Helper()
	out, err := f.g.Output(context.Background(), f.bare, "rev-parse", "--verify", "-q", ref)
	var ge *gitexec.Error
	if errors.As(err, &ge) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// clientRepo makes a working repository with two commits on main and a file.
func (f *fixture) clientRepo() string {
	f.t.Helper()
	dir := filepath.Join(f.t.TempDir(), "client")
	f.git("", "init", "-q", "-b", "main", dir)
	f.git(dir, "commit", "-q", "--allow-empty", "-m", "one")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(strings.Repeat("content\n", 1000)), 0o600); err != nil {
		f.t.Fatal(err)
	}
	f.git(dir, "add", "f.txt")
	f.git(dir, "commit", "-q", "-m", "two")
	return dir
}

func (f *fixture) head(dir, rev string) string {
	return strings.TrimSpace(f.git(dir, "rev-parse", rev))
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// details returns the Detail of every record of the action and principal, in order.
func (r *recorder) details(action, principal string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Action == action && rec.Principal.Name == principal {
			out = append(out, rec.Detail)
		}
	}
	return out
}
