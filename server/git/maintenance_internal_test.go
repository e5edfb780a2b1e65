package git

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// maintFixture is a replica of one copy, outside a cluster, and a work repository whose
// commits are indexed into the copy one pack per commit, as pushes are.
type maintFixture struct {
	t    testing.TB
	ctx  context.Context
	g    *gitexec.Git
	p    *Replica
	id   string
	dir  string // the copy
	work string
	tip  string
	next int // the next commit's number (push)
}

func newMaintFixture(t testing.TB) *maintFixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	g, err := gitexec.New(ctx, gitexec.Config{Home: filepath.Join(tmp, "home")})
	if err != nil {
		t.Fatal(err)
	}
	m := &Module{core: &module.Core{DataDir: tmp}, FullRepackInterval: DefaultFullRepackInterval}
	p := newReplica(m)
	p.git = g
	f := &maintFixture{t: t, ctx: ctx, g: g, p: p, id: strings.Repeat("ab", 16), work: filepath.Join(tmp, "work")}
	f.dir = p.Dir(f.id)
	if err := g.InitBare(ctx, f.dir, "main", p.HooksDir()); err != nil {
		t.Fatal(err)
	}
	f.sh("", "git", "init", "-q", "--initial-branch=main", f.work)
	return f
}

// sh runs a command (git with a clean identity) in dir and returns its trimmed stdout.
func (f *maintFixture) sh(dir string, name string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + f.work, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		f.t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

// commit makes a commit in the work repository and returns the pack of its new objects.
func (f *maintFixture) commit(i int) (sha string, pack []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.work, fmt.Sprintf("f%d.txt", i%10)), []byte(strings.Repeat(fmt.Sprintf("line %d\n", i), 20)), 0o600); err != nil {
		f.t.Fatal(err)
	}
	f.sh(f.work, "git", "add", "-A")
	f.sh(f.work, "git", "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
	sha = f.sh(f.work, "git", "rev-parse", "HEAD")
	in := sha + "\n"
	if f.tip != "" {
		in += "^" + f.tip + "\n"
	}
	cmd := exec.Command("git", "pack-objects", "--revs", "--stdout", "-q")
	cmd.Dir, cmd.Stdin = f.work, strings.NewReader(in)
	pack, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("pack-objects: %v", err)
	}
	return sha, pack
}

// push indexes n commits into the copy, one pack each, and moves main to the last.
func (f *maintFixture) push(n int) {
	f.t.Helper()
	for range n {
		sha, pack := f.commit(f.next)
		f.next++
		f.index(pack)
		f.tip = sha
	}
	if err := f.p.setRefs(f.ctx, f.g, f.dir, map[string]string{"refs/heads/main": f.tip}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *maintFixture) index(pack []byte) {
	f.t.Helper()
	if err := f.g.Run(f.ctx, gitexec.Command{Args: []string{"index-pack", "--stdin"}, GitDir: f.dir, Stdin: bytes.NewReader(pack)}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *maintFixture) has(sha string) bool {
	return f.g.Run(f.ctx, gitexec.Command{Args: []string{"cat-file", "-e", sha}, GitDir: f.dir}) == nil
}

// clone clones the copy as a client would (upload-pack, not a local copy) and returns its tip.
func (f *maintFixture) clone() (string, error) {
	dst, err := os.MkdirTemp(f.t.TempDir(), "clone")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dst) }()
	cmd := exec.Command("git", "clone", "-q", "--bare", "--no-local", "file://"+f.dir, dst)
	cmd.Env = []string{"HOME=" + f.work, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	out, err := exec.Command("git", "--git-dir", dst, "rev-parse", "refs/heads/main").Output()
	return strings.TrimSpace(string(out)), err
}

// TestMaintainMergesPacksSafely: 60 pushes leave 60 packs; Maintain (a full repack, then a
// geometric one) leaves a few, while clones running throughout all succeed with the right tip;
// the objects of a push indexed but not yet referenced, and a receive-pack quarantine, survive
// both; fsck is clean; slipway-packs is untouched; a later push's pack indexes and its ref
// moves.
func TestMaintainMergesPacksSafely(t *testing.T) {
	f := newMaintFixture(t)
	f.push(60)
	if n := countPacks(f.dir); n != 60 {
		t.Fatalf("%d packs after 60 pushes", n)
	}
	if err := writeFileAtomic(filepath.Join(f.dir, appliedFile), []byte("60\n")); err != nil {
		t.Fatal(err)
	}
	// A push in flight: its pack indexed, the ref update not applied yet.
	inflight, pack := f.commit(60)
	f.index(pack)
	// Another in receive-pack's quarantine.
	quarantine := filepath.Join(f.dir, "objects", "incoming-test", "pack")
	if err := os.MkdirAll(quarantine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(quarantine, "tmp_pack_x"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	stop, cloned := make(chan struct{}), make(chan struct{}, 1<<16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	clones, failures := 0, []string{}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tip, err := f.clone()
				mu.Lock()
				clones++
				if err != nil || tip != f.tip {
					failures = append(failures, fmt.Sprintf("tip %q, %v", tip, err))
				}
				mu.Unlock()
				cloned <- struct{}{}
			}
		}()
	}
	full, err := f.p.Maintain(f.ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	geo, err := f.p.Maintain(f.ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for two clones, so that the clone loops ran alongside the repacks.
	<-cloned
	<-cloned
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d clones during maintenance failed: %v", len(failures), clones, failures)
	}
	t.Logf("full: %+v; geometric: %+v; %d clones during maintenance", full, geo, clones)
	if !full.Full || geo.Full || full.PacksBefore != 61 || full.PacksAfter > 2 || geo.PacksAfter > 2 {
		t.Fatalf("maintenance results: full %+v, geometric %+v; want 61 packs merged into at most 2 (one and a cruft pack)", full, geo)
	}
	// Both leave a bitmap index for the clones to use (one pack's or a multi-pack index's).
	if bitmaps, _ := filepath.Glob(filepath.Join(f.dir, "objects", "pack", "*.bitmap")); len(bitmaps) == 0 {
		t.Error("no bitmap index after maintenance: clones walk every commit and tree")
	}
	if !f.has(inflight) {
		t.Fatal("maintenance removed the objects of a push whose ref update had not applied")
	}
	if _, err := os.Stat(filepath.Join(quarantine, "tmp_pack_x")); err != nil {
		t.Fatalf("maintenance touched a receive-pack quarantine: %v", err)
	}
	if out, err := f.g.Output(f.ctx, f.dir, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Fatalf("fsck after maintenance: %v %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(f.dir, appliedFile)); err != nil || string(b) != "60\n" {
		t.Fatalf("slipway-packs after maintenance: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "packed-refs")); err != nil {
		t.Fatalf("refs not packed: %v", err)
	}

	// The in-flight push's ref update applies; a later push indexes and applies too.
	f.tip = inflight
	next, pack := f.commit(61)
	f.index(pack)
	if err := f.p.setRefs(f.ctx, f.g, f.dir, map[string]string{"refs/heads/main": next}); err != nil {
		t.Fatal(err)
	}
	f.tip = next
	if tip, err := f.clone(); err != nil || tip != next {
		t.Fatalf("clone after a push following maintenance: %q, %v; want %s", tip, err, next)
	}

	// A geometric repack of many new packs merges them and keeps an unreferenced one's objects.
	for i := 62; i < 92; i++ {
		sha, pack := f.commit(i)
		f.index(pack)
		f.tip = sha
	}
	if err := f.p.setRefs(f.ctx, f.g, f.dir, map[string]string{"refs/heads/main": f.tip}); err != nil {
		t.Fatal(err)
	}
	loose, pack := f.commit(92)
	f.index(pack)
	geo, err = f.p.Maintain(f.ctx, f.id)
	if err != nil || geo.Full || geo.PacksBefore < 32 || geo.PacksAfter > 4 {
		t.Fatalf("geometric maintenance of %d packs: %+v, %v; want at most 4 left", geo.PacksBefore, geo, err)
	}
	if !f.has(loose) || !f.has(inflight) {
		t.Fatal("a geometric repack dropped unreferenced objects")
	}
	if out, err := f.g.Output(f.ctx, f.dir, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Fatalf("fsck after a geometric repack: %v %s", err, out)
	}
}

// BenchmarkCloneManyPacks measures a clone (upload-pack) of a copy with 500 packs, one per
// push, before and after Maintain merged them.
func BenchmarkCloneManyPacks(b *testing.B) {
	f := newMaintFixture(b)
	f.push(500)
	clone := func(b *testing.B) {
		for b.Loop() {
			if _, err := f.clone(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("packs=500", clone)
	res, err := f.p.Maintain(f.ctx, f.id)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("maintenance: %d packs → %d in %v", res.PacksBefore, res.PacksAfter, res.Duration)
	b.Run("maintained", clone)
}

// TestMaintenanceDue: the background loop picks a copy over its pack bound, and not again
// within MaintenanceInterval of its maintenance.
func TestMaintenanceDue(t *testing.T) {
	f := newMaintFixture(t)
	f.p.m.MaintenancePacks, f.p.m.MaintenanceLoose, f.p.m.MaintenanceInterval = 5, DefaultMaintenanceLoose, time.Hour
	f.push(5)
	if due := f.p.due(); len(due) != 0 {
		t.Fatalf("due with 5 packs (bound 5): %v", due)
	}
	f.push(1)
	if due := f.p.due(); len(due) != 1 || due[0] != f.id {
		t.Fatalf("due with 6 packs: %v; want [%s]", due, f.id)
	}
	if _, err := f.p.Maintain(f.ctx, f.id); err != nil {
		t.Fatal(err)
	}
	f.push(6)
	if due := f.p.due(); len(due) != 0 {
		t.Fatalf("due again within the interval: %v", due)
	}
}
