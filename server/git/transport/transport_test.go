package transport_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// TestPushAndFetch drives the real git client against the transport's routes served by the
// core's API edge (basic authentication, policies, audit) over a fake backend: the first
// push, clones and fetches in protocol v2 and v0, shallow and partial, a new branch, a force
// push, a delete, push options, and an atomic push with one failed compare-and-swap.
func TestPushAndFetch(t *testing.T) {
	pushAndFetch(t, newFixture(t))
}

// pushAndFetch is TestPushAndFetch over the fixture's transport (HTTP, or SSH once started).
func pushAndFetch(t *testing.T, f *fixture) {
	src := f.clientRepo()
	f.git(src, "remote", "add", "origin", f.url("admin"))

	// The first push brings objects: pre-receive stores the one pack, proc-receive proposes.
	f.git(src, "push", "-q", "origin", "main")
	if got, want := f.serverRef("refs/heads/main"), f.head(src, "main"); got != want {
		t.Fatalf("server main = %q after the push; want %q", got, want)
	}
	p := f.b.lastPush(t)
	if p.Pack == "" || len(p.Updates) != 1 || p.Updates[0].Ref != "refs/heads/main" || p.Caller == nil || p.Caller.Token.Name == "" {
		t.Fatalf("backend push = %+v; want main with a stored pack and the caller", p)
	}
	if _, err := os.Stat(filepath.Join(f.b.packs, p.Pack+".pack")); err != nil {
		t.Fatalf("the pushed pack was not stored: %v", err)
	}
	// Its log line says where the time after its last byte went: every step happened.
	for _, k := range []string{"after_body_ms", "index_ms", "store_pack_ms", "migrate_ms", "propose_ms", "report_ms"} {
		if !regexp.MustCompile(`\b` + k + `=[0-9]+\b`).MatchString(f.logs.String()) {
			t.Errorf("the push's log has no %s in milliseconds:\n%s", k, f.logs.String())
		}
	}

	t.Run("clone v2, v0, shallow, partial", func(t *testing.T) {
		for name, args := range map[string][]string{
			"v2":      {"-c", "protocol.version=2", "clone", "-q"},
			"v0":      {"-c", "protocol.version=0", "clone", "-q"},
			"shallow": {"clone", "-q", "--depth", "1"},
			"partial": {"clone", "-q", "--filter=blob:none"},
		} {
			dir := filepath.Join(t.TempDir(), name)
			f.git("", append(args, f.url("reader"), dir)...)
			if got := f.head(dir, "HEAD"); got != f.head(src, "main") {
				t.Errorf("%s clone: HEAD %s, want %s", name, got, f.head(src, "main"))
			}
			if data, err := os.ReadFile(filepath.Join(dir, "f.txt")); err != nil || len(data) != 8000 {
				t.Errorf("%s clone: f.txt: %d bytes, %v", name, len(data), err)
			}
		}
		dir := filepath.Join(t.TempDir(), "shallow")
		f.git("", "clone", "-q", "--depth", "1", f.url("reader"), dir)
		if n := strings.TrimSpace(f.git(dir, "rev-list", "--count", "HEAD")); n != "1" {
			t.Errorf("shallow clone has %s commits; want 1", n)
		}
		f.git(dir, "fetch", "-q", "--deepen", "1")
		if n := strings.TrimSpace(f.git(dir, "rev-list", "--count", "HEAD")); n != "2" {
			t.Errorf("after --deepen 1: %s commits; want 2", n)
		}
		if !f.audit.find(transport.ActionGitPull, audit.OutcomeAllowed, "reader") {
			t.Error("no audit record of the reader's upload-pack")
		}
		// Each names the service and protocol (the resource names the repository).
		details := strings.Join(f.audit.details(transport.ActionGitPull, "reader"), "|")
		for _, want := range []string{"git-upload-pack, protocol v2", "git-upload-pack, protocol v0"} {
			if !strings.Contains(details, want) {
				t.Errorf("no upload-pack audit record says %q: %s", want, details)
			}
		}
	})

	t.Run("new branch, force push, delete", func(t *testing.T) {
		f.git(src, "push", "-q", "origin", "main:refs/heads/feature/x")
		if f.serverRef("refs/heads/feature/x") != f.head(src, "main") {
			t.Fatal("feature/x was not created")
		}
		f.git(src, "commit", "-q", "--amend", "-m", "two, amended")
		if _, err := f.try(src, "push", "-q", "origin", "main"); err == nil {
			t.Fatal("a non-fast-forward push without --force was accepted by the client")
		}
		f.git(src, "push", "-q", "--force", "origin", "main")
		if f.serverRef("refs/heads/main") != f.head(src, "main") {
			t.Fatal("the force push did not move main")
		}
		f.git(src, "push", "-q", "origin", ":refs/heads/feature/x")
		if f.serverRef("refs/heads/feature/x") != "" {
			t.Fatal("feature/x was not deleted")
		}
		if p := f.b.lastPush(t); p.Pack != "" {
			t.Errorf("a delete-only push stored pack %q; want none", p.Pack)
		}
	})

	t.Run("push options", func(t *testing.T) {
		f.git(src, "commit", "-q", "--allow-empty", "-m", "three")
		out := f.git(src, "push", "-o", "ci.skip", "-o", "note=x", "origin", "main")
		if f.serverRef("refs/heads/main") != f.head(src, "main") {
			t.Fatalf("the push with options did not move main:\n%s", out)
		}
		if p := f.b.lastPush(t); !slices.Equal(p.Options, []string{"ci.skip", "note=x"}) {
			t.Errorf("Backend.Push got push options %q; want [ci.skip note=x]", p.Options)
		}
		if !strings.Contains(f.logs.String(), "push_options=\"[ci.skip note=x]\"") {
			t.Errorf("the push options are not in the server's log:\n%s", f.logs.String())
		}
	})

	t.Run("atomic with one failed compare-and-swap", func(t *testing.T) {
		f.git(src, "commit", "-q", "--allow-empty", "-m", "four")
		f.git(src, "branch", "-f", "a")
		f.git(src, "branch", "-f", "b")
		f.git(src, "push", "-q", "origin", "a", "b")
		f.git(src, "commit", "-q", "--allow-empty", "-m", "five")
		f.git(src, "branch", "-f", "a")
		f.git(src, "branch", "-f", "b")
		oldA := f.serverRef("refs/heads/a")
		// Another push moves b on the server after the client read the advertisement.
		f.b.mu.Lock()
		f.b.beforePush = func(transport.Push) {
			f.git(f.bare, "--git-dir", f.bare, "update-ref", "refs/heads/b", f.head(src, "main~2"))
		}
		f.b.mu.Unlock()
		defer func() { f.b.mu.Lock(); f.b.beforePush = nil; f.b.mu.Unlock() }()
		out, err := f.try(src, "push", "--atomic", "origin", "a", "b")
		if err == nil {
			t.Fatalf("the atomic push succeeded:\n%s", out)
		}
		if !strings.Contains(out, "fetch first") || !strings.Contains(out, "atomic push failure") {
			t.Errorf("the client output does not name both reasons:\n%s", out)
		}
		if got := f.serverRef("refs/heads/a"); got != oldA {
			t.Errorf("a moved to %s in a failed atomic push; want it at %s", got, oldA)
		}
	})
}

// TestRefusals: a wrong password is git's "Authentication failed"; a read-only identity is
// refused at the receive-pack advertisement (403 with the reason, which git shows) before any
// pack is sent; a policy allowing only refs/heads/feature/* has git run and answer the denied
// ref "[remote rejected] ... (denied: ...)" with the full reason as a remote: line, while the
// allowed ref applies (all rejected when --atomic), no pack stored when no ref can apply, and
// each denial audited.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	src := f.clientRepo()
	f.git(src, "push", "-q", f.url("admin"), "main")

	f.secrets["wrong"] = "slw_not-a-token-000000000000000000"
	out, err := f.try("", "clone", "-q", f.url("wrong"), filepath.Join(t.TempDir(), "c"))
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("a clone with a wrong password: %v\n%s\nwant git's Authentication failed", err, out)
	}

	f.git(src, "commit", "-q", "--allow-empty", "-m", "three")
	before := f.serverRef("refs/heads/main")
	pushes := func() int { f.b.mu.Lock(); defer f.b.mu.Unlock(); return len(f.b.pushes) }
	packs := func() int {
		entries, err := os.ReadDir(f.b.packs)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	out, err = f.try(src, "push", f.url("reader"), "main")
	t.Logf("a read-only identity pushing:\n%s", out)
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "remote: not allowed: codecommit:GitPush on srn:slipway:codecommit:repo/app") {
		t.Errorf("a read-only identity pushing: %v\n%s\nwant a 403 with the reason as remote:", err, out)
	}
	if n := f.audit.count(transport.ActionGitPush, audit.OutcomeDenied, "reader"); n != 1 {
		t.Errorf("the reader's refused push has %d denied audit records; want exactly 1", n)
	}

	// One ref denied, one allowed: git runs, main is rejected with its reason, feature/ok moves.
	packsBefore, pushesBefore := packs(), pushes()
	out, err = f.try(src, "push", f.url("feature"), "main", "main:refs/heads/feature/ok")
	t.Logf("a feature-only identity pushing main and a feature ref:\n%s", out)
	if err == nil || !strings.Contains(out, "! [remote rejected] main -> main (denied: codecommit:GitPush on srn:slipway:codecommit:repo/app, slipway:ReferenceName=refs/heads/main") ||
		!strings.Contains(out, "remote: slipway: refs/heads/main: not allowed: codecommit:GitPush") {
		t.Errorf("a feature-only identity pushing main: %v\n%s\nwant main rejected as denied, with the reason as remote:", err, out)
	}
	if f.serverRef("refs/heads/main") != before {
		t.Error("the denied ref moved")
	}
	if f.serverRef("refs/heads/feature/ok") != f.head(src, "main") {
		t.Error("the allowed ref of a non-atomic push with a denied one did not move")
	}
	if p := f.b.lastPush(t); len(p.Updates) != 1 || p.Updates[0].Ref != "refs/heads/feature/ok" || pushes() != pushesBefore+1 {
		t.Errorf("backend push %+v; want feature/ok alone", p)
	}
	if n := f.audit.count(transport.ActionGitPush, audit.OutcomeDenied, "feature"); n != 1 {
		t.Errorf("%d denied audit records for the feature identity; want 1 (main)", n)
	}
	if packs() != packsBefore+1 {
		t.Errorf("%d packs stored for a push with an allowed ref; want 1", packs()-packsBefore)
	}

	// Atomic with a denied ref, and every ref denied: nothing moves, no pack, no proposal.
	f.git(src, "commit", "-q", "--allow-empty", "-m", "four")
	packsBefore, pushesBefore = packs(), pushes()
	out, err = f.try(src, "push", "--atomic", f.url("feature"), "main", "main:refs/heads/feature/two")
	if err == nil || !strings.Contains(out, "main -> main (denied: ") || !strings.Contains(out, "main -> feature/two (atomic push failure)") {
		t.Errorf("an atomic push with a denied ref: %v\n%s\nwant main denied and feature/two atomic push failure", err, out)
	}
	out, err = f.try(src, "push", f.url("feature"), "main")
	if err == nil || !strings.Contains(out, "main -> main (denied: ") {
		t.Errorf("a push of a denied ref alone: %v\n%s\nwant it denied", err, out)
	}
	if f.serverRef("refs/heads/feature/two") != "" || f.serverRef("refs/heads/main") != before {
		t.Error("a push that could not apply moved a ref")
	}
	if packs() != packsBefore || pushes() != pushesBefore {
		t.Errorf("pushes that could not apply stored %d packs and proposed %d times; want none", packs()-packsBefore, pushes()-pushesBefore)
	}
	if n := f.audit.count(transport.ActionGitPush, audit.OutcomeDenied, "feature"); n != 3 {
		t.Errorf("%d denied audit records for the feature identity; want 3", n)
	}

	f.git(src, "push", "-q", f.url("feature"), "main:refs/heads/feature/ok")
	if f.serverRef("refs/heads/feature/ok") != f.head(src, "main") {
		t.Error("the feature identity could not push refs/heads/feature/ok")
	}
}

// TestBackendFailures: a pack the backend cannot store declines the push in pre-receive, and
// a Push whose outcome is unknown rejects every ref with its message; the user reads both.
func TestBackendFailures(t *testing.T) {
	f := newFixture(t)
	src := f.clientRepo()
	f.git(src, "remote", "add", "origin", f.url("admin"))

	f.b.failWith(fault.New(fault.TooLarge, "the pack is over the push size limit"), nil)
	out, err := f.try(src, "push", "origin", "main")
	if err == nil || !strings.Contains(out, "remote: slipway: the push was not stored: the pack is over the push size limit") ||
		!strings.Contains(out, "pre-receive hook declined") {
		t.Errorf("a pack the backend refused: %v\n%s\nwant the reason as remote: and pre-receive hook declined", err, out)
	}
	if f.serverRef("refs/heads/main") != "" {
		t.Error("main moved although its pack was not stored")
	}

	f.b.failWith(nil, fault.New(fault.Unavailable, "no quorum"))
	out, err = f.try(src, "push", "origin", "main")
	if err == nil || !strings.Contains(out, "[remote rejected] main -> main (outcome unknown") || !strings.Contains(out, "no quorum") {
		t.Errorf("a push of unknown outcome: %v\n%s\nwant main rejected with the error", err, out)
	}

	// A server without a leader answers, in the time a wait for the cluster is bounded by.
	f.b.mu.Lock()
	f.b.noLeader = true
	f.b.mu.Unlock()
	for _, args := range [][]string{{"push", "origin", "main"}, {"ls-remote", "origin"}} {
		out, err = f.try(src, args...)
		if err == nil || !strings.Contains(out, "no leader confirmed the read in time") {
			t.Errorf("git %s with no leader: %v\n%s\nwant the no-leader error", args[0], err, out)
		}
	}
	f.b.mu.Lock()
	f.b.noLeader = false
	f.b.mu.Unlock()

	f.b.failWith(nil, nil)
	f.git(src, "push", "-q", "origin", "main")
	if f.serverRef("refs/heads/main") != f.head(src, "main") {
		t.Error("the push after the failures did not move main")
	}
}
